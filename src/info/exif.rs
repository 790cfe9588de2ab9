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
    out
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
