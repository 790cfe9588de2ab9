//! The description of an ICC profile ("sRGB IEC61966-2.1", "Display P3"): its `desc` tag,
//! either ICC v2's textDescriptionType or v4's multiLocalizedUnicodeType. Bounds-checked
//! throughout: the profile comes from the image, that is, from anyone.

pub fn description(profile: &[u8]) -> Option<String> {
    let count = be32(profile, 128)? as usize;
    let tags = profile.get(132..132usize.checked_add(count.checked_mul(12)?)?)?;
    let (offset, size) = tags
        .chunks_exact(12)
        .find_map(|t| (&t[0..4] == b"desc").then(|| (be32(t, 4), be32(t, 8))))?;
    let (offset, size) = (offset? as usize, size? as usize);
    let tag = profile.get(offset..offset.checked_add(size)?)?;
    let text = match tag.get(0..4)? {
        b"desc" => {
            let len = be32(tag, 8)? as usize;
            let ascii = tag.get(12..12usize.checked_add(len)?)?;
            String::from_utf8_lossy(ascii).into_owned()
        }
        b"mluc" => {
            // The first record; its string is UTF-16BE.
            let len = be32(tag, 20)? as usize;
            let at = be32(tag, 24)? as usize;
            let units: Vec<u16> = tag
                .get(at..at.checked_add(len)?)?
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => return None,
    };
    let text = text.trim_end_matches('\0').trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::description;

    fn profile(tag: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 128];
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(b"desc");
        p.extend_from_slice(&144u32.to_be_bytes());
        p.extend_from_slice(&(tag.len() as u32).to_be_bytes());
        p.extend_from_slice(tag);
        p
    }

    #[test]
    fn reads_v2_and_v4_descriptions() {
        let mut v2 = b"desc\0\0\0\0".to_vec();
        v2.extend_from_slice(&5u32.to_be_bytes());
        v2.extend_from_slice(b"sRGB\0");
        assert_eq!(description(&profile(&v2)).as_deref(), Some("sRGB"));

        let mut v4 = b"mluc\0\0\0\0".to_vec();
        v4.extend_from_slice(&1u32.to_be_bytes());
        v4.extend_from_slice(&12u32.to_be_bytes());
        v4.extend_from_slice(b"enUS");
        v4.extend_from_slice(&4u32.to_be_bytes());
        v4.extend_from_slice(&28u32.to_be_bytes());
        v4.extend_from_slice(&[0, b'P', 0, b'3']);
        assert_eq!(description(&profile(&v4)).as_deref(), Some("P3"));
    }

    #[test]
    fn garbage_is_no_description() {
        assert_eq!(description(b""), None);
        assert_eq!(description(&[0xff; 200]), None);
        let mut lying = profile(b"desc\0\0\0\0");
        lying.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(description(&lying), None);
    }
}
