//! EXIF as typed JSON, in the shape ImgKit and `exiftool -j` show: numbers as numbers,
//! `ExposureTime` as `"1/250"`, `FocalLength` as `"35.0 mm"`, dates as written
//! (`"2016:09:10 18:31:59"`), exiftool's names where they differ from the standard's
//! (`ISO`, not `PhotographicSensitivity`). Read with kamadak-exif from the original bytes.
//! Binary fields (maker notes, embedded thumbnails) become their byte length.

use exif::{In, Reader, Tag, Value};
use serde_json::{Map, Number, Value as Json};

/// The main image's fields (not the thumbnail's), or nothing when there is no EXIF.
pub fn read(bytes: &[u8]) -> Map<String, Json> {
    let mut out = Map::new();
    let Ok(exif) = Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)) else {
        return out;
    };
    for field in exif.fields().filter(|f| f.ifd_num == In::PRIMARY) {
        // Unknown and private tags have no name worth giving.
        if field.tag.description().is_none() {
            continue;
        }
        if let Some(value) = convert(field.tag, &field.value) {
            out.insert(name(field.tag), value);
        }
    }
    let canon = out
        .get("Make")
        .and_then(Json::as_str)
        .is_some_and(|m| m.starts_with("Canon"));
    if canon && !out.contains_key("ISO") {
        let note = exif.get_field(Tag::MakerNote, In::PRIMARY);
        if let Some(Value::Undefined(_, at)) = note.map(|f| &f.value) {
            if let Some(iso) = canon_iso(exif.buf(), *at as usize, exif.little_endian()) {
                out.insert("ISO".into(), iso.into());
            }
        }
    }
    out
}

/// Older Canon cameras leave the EXIF ISO out and keep it in their maker note, an IFD
/// whose offsets count from the start of the TIFF data. exiftool's composite rule:
/// CameraSettings' ISO when it is a number, else ShotInfo's BaseISO × AutoISO / 100.
fn canon_iso(tiff: &[u8], note: usize, little: bool) -> Option<u64> {
    let u16_at = |at: usize| {
        let b = tiff.get(at..at.checked_add(2)?)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    // The `index`th SHORT of the array under `tag`.
    let short = |tag: u16, index: usize| -> Option<u16> {
        let entries = usize::from(u16_at(note)?);
        (0..entries.min(512)).find_map(|i| {
            let entry = note + 2 + i * 12;
            if u16_at(entry)? != tag || u16_at(entry + 2)? != 3 {
                return None;
            }
            let count = u32_at(entry + 4)? as usize;
            if index >= count {
                return None;
            }
            let values = if count <= 2 {
                entry + 8
            } else {
                u32_at(entry + 8)? as usize
            };
            u16_at(values.checked_add(index * 2)?)
        })
    };
    let camera_iso = short(0x0001, 16).and_then(|code| match code {
        16 => Some(50),
        17 => Some(100),
        18 => Some(200),
        19 => Some(400),
        20 => Some(800),
        c if c & 0x4000 != 0 => Some(u64::from(c & 0x3fff)),
        _ => None,
    });
    camera_iso.or_else(|| {
        let to_iso = |v: u16| (f64::from(v as i16) / 32.0 * std::f64::consts::LN_2).exp() * 100.0;
        let auto = to_iso(short(0x0004, 1)?);
        let base = to_iso(short(0x0004, 2)?) / 32.0;
        Some((base * auto / 100.0).round() as u64)
    })
}

fn name(tag: Tag) -> String {
    match tag {
        Tag::PhotographicSensitivity => "ISO".into(),
        Tag::ExposureBiasValue => "ExposureCompensation".into(),
        Tag::PixelXDimension => "ExifImageWidth".into(),
        Tag::PixelYDimension => "ExifImageHeight".into(),
        Tag::DateTime => "ModifyDate".into(),
        Tag::DateTimeDigitized => "CreateDate".into(),
        other => other.to_string(),
    }
}

fn convert(tag: Tag, value: &Value) -> Option<Json> {
    let one_or_many = |mut v: Vec<Json>| match v.len() {
        0 => None,
        1 => v.pop(),
        _ => Some(Json::Array(v)),
    };
    match value {
        Value::Ascii(strings) => {
            let texts: Vec<String> = strings
                .iter()
                .map(|s| {
                    String::from_utf8_lossy(s)
                        .trim_end_matches(['\0', ' '])
                        .to_owned()
                })
                .collect();
            Some(Json::String(texts.join(", ")))
        }
        Value::Byte(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::Short(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::Long(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::SByte(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::SShort(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::SLong(v) => one_or_many(v.iter().map(|&n| n.into()).collect()),
        Value::Rational(v) => {
            let first = v.first()?.to_f64();
            match tag {
                Tag::ExposureTime => exposure(first),
                Tag::FocalLength => Some(Json::String(format!("{first:.1} mm"))),
                Tag::FNumber | Tag::ApertureValue | Tag::MaxApertureValue => number(round1(first)),
                _ => one_or_many(v.iter().filter_map(|r| number(r.to_f64())).collect()),
            }
        }
        Value::SRational(v) => one_or_many(v.iter().filter_map(|r| number(r.to_f64())).collect()),
        Value::Float(v) => one_or_many(v.iter().filter_map(|&f| number(f64::from(f))).collect()),
        Value::Double(v) => one_or_many(v.iter().filter_map(|&f| number(f)).collect()),
        Value::Undefined(bytes, _) => {
            // Versions and the like are short ASCII; anything else is a blob.
            let text = bytes.len() <= 16 && bytes.iter().all(|b| b.is_ascii_graphic());
            Some(if text {
                Json::String(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Json::String(format!("(binary data, {} bytes)", bytes.len()))
            })
        }
        Value::Unknown(..) => None,
    }
}

/// exiftool's rule: under a quarter second as a fraction of a second, else in seconds.
fn exposure(seconds: f64) -> Option<Json> {
    if seconds > 0.0 && seconds < 0.25001 {
        Some(Json::String(format!(
            "1/{}",
            (1.0 / seconds).round() as u64
        )))
    } else {
        number(round1(seconds))
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn number(x: f64) -> Option<Json> {
    Number::from_f64(x).map(Json::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_exiftools_shape() {
        let r = |n, d| exif::Rational { num: n, denom: d };
        assert_eq!(
            convert(Tag::ExposureTime, &Value::Rational(vec![r(1, 250)])),
            Some(Json::String("1/250".into()))
        );
        assert_eq!(
            convert(Tag::ExposureTime, &Value::Rational(vec![r(4, 10)])),
            number(0.4)
        );
        assert_eq!(
            convert(Tag::FocalLength, &Value::Rational(vec![r(35, 1)])),
            Some(Json::String("35.0 mm".into()))
        );
        assert_eq!(
            convert(Tag::FNumber, &Value::Rational(vec![r(49, 10)])),
            number(4.9)
        );
        assert_eq!(
            convert(Tag::ExposureTime, &Value::Rational(vec![r(1, 0)])),
            number(f64::INFINITY)
        );
        assert_eq!(
            convert(Tag::MakerNote, &Value::Undefined(vec![0; 900], 0)),
            Some(Json::String("(binary data, 900 bytes)".into()))
        );
        assert_eq!(name(Tag::PhotographicSensitivity), "ISO");
        assert!(read(b"not an image").is_empty());
    }
}
