//! `meta=0`: metadata removed before any saver sees the image.

use rs_vips::VipsImage;

use crate::imaging::header::{field_names, has_field};

/// Metadata that `meta=0` removes: EXIF, XMP, IPTC, ICC (pixels are sRGB by then) and comments.
const STRIPPED_PREFIXES: &[&str] = &[
    "exif-",
    "xmp-",
    "iptc-",
    "icc-profile-",
    "png-comment-",
    "gif-comment",
];

/// webpsave on libvips 8.14 ignores `strip` and rebuilds EXIF from the `exif-*` fields,
/// so every metadata field goes, whatever the saver.
pub(in crate::imaging) fn strip(img: &mut VipsImage) {
    for field in field_names(img) {
        if STRIPPED_PREFIXES.iter().any(|p| field.starts_with(p)) {
            let _ = img.remove(&field);
        }
    }
}

/// The credit lines imgproxy's `keep_copyright` keeps: EXIF Artist and Copyright.
const CREDITS: [(exif::Tag, &str, u16); 2] = [
    (exif::Tag::Artist, "exif-ifd0-Artist", 0x013b),
    (exif::Tag::Copyright, "exif-ifd0-Copyright", 0x8298),
];

/// Whether libvips read an Artist or Copyright in the original's header: most originals
/// have neither, and then their EXIF is not parsed again.
pub(in crate::imaging) fn has_credits(opened: &VipsImage) -> bool {
    CREDITS.iter().any(|(_, field, _)| has_field(opened, field))
}

/// An original's EXIF Artist and Copyright (those present and not blank), read from its
/// bytes: the fast JPEG path's pixels come without metadata.
pub(in crate::imaging) fn credits(original: &[u8]) -> Vec<(usize, String)> {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(original))
    else {
        return Vec::new();
    };
    CREDITS
        .iter()
        .enumerate()
        .filter_map(|(i, (tag, _, _))| {
            let field = exif.get_field(*tag, exif::In::PRIMARY)?;
            let exif::Value::Ascii(lines) = &field.value else {
                return None;
            };
            let text: String = lines
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!text.is_empty()).then(|| (i, text.to_owned()))
        })
        .collect()
}

/// Gives a stripped image `credits` as its only EXIF: a block made here (nothing else of
/// the original's EXIF, not its embedded thumbnail, reaches the output), and the fields
/// libvips writes the block from.
pub(in crate::imaging) fn attach_credits(
    img: &mut VipsImage,
    credits: &[(usize, String)],
) -> rs_vips::Result<()> {
    if credits.is_empty() {
        return Ok(());
    }
    img.set_blob_copy("exif-data", &exif_block(credits))?;
    for (i, text) in credits {
        let (_, field, _) = CREDITS[*i];
        let n = text.len() + 1;
        // libvips' own spelling of an ASCII field, which its EXIF writer reads back.
        let value = format!("{text} ({text}, ASCII, {n} components, {n} bytes)");
        img.set_string(field, &value)?;
    }
    Ok(())
}

/// `Exif\0\0` and a little-endian TIFF structure with one IFD of ASCII entries.
fn exif_block(credits: &[(usize, String)]) -> Vec<u8> {
    let count = credits.len();
    let ifd_end = 8 + 2 + 12 * count + 4;
    let mut entries = Vec::new();
    let mut data = Vec::new();
    for (i, text) in credits {
        let (_, _, tag) = CREDITS[*i];
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        entries.extend_from_slice(&tag.to_le_bytes());
        entries.extend_from_slice(&2u16.to_le_bytes());
        entries.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            entries.extend_from_slice(&bytes);
        } else {
            entries.extend_from_slice(&((ifd_end + data.len()) as u32).to_le_bytes());
            data.extend_from_slice(&bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    let mut out = b"Exif\0\0II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(count as u16).to_le_bytes());
    out.extend_from_slice(&entries);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_reads_back() {
        let block = exif_block(&[(0, "Ann".into()), (1, "© 2026 Example Ltd".into())]);
        let exif = exif::Reader::new().read_raw(block[6..].to_vec()).unwrap();
        let artist = exif
            .get_field(exif::Tag::Artist, exif::In::PRIMARY)
            .unwrap();
        assert_eq!(artist.display_value().to_string(), "\"Ann\"");
        let c = exif
            .get_field(exif::Tag::Copyright, exif::In::PRIMARY)
            .unwrap();
        assert!(c.display_value().to_string().contains("2026 Example Ltd"));
        assert_eq!(exif.fields().count(), 2);
    }
}
