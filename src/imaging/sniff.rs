//! Formats told from the bytes, never from a file name or an origin's `Content-Type`.

use super::Error;
use crate::options::Format;

/// Source formats ferrotype decodes. Anything else answers 415 before libvips sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Avif,
    Heic,
    Tiff,
    Svg,
}

impl SourceFormat {
    /// The same format as an output, where ferrotype writes it.
    pub fn as_output(self) -> Option<Format> {
        match self {
            Self::Jpeg => Some(Format::Jpeg),
            Self::Png => Some(Format::Png),
            Self::Gif => Some(Format::Gif),
            Self::Webp => Some(Format::Webp),
            Self::Avif => Some(Format::Avif),
            Self::Heic | Self::Tiff | Self::Svg => None,
        }
    }

    /// Whether several pages of this format are frames of an animation
    /// (as opposed to the pages of a TIFF or the images of a HEIF collection).
    pub fn animates(self) -> bool {
        matches!(self, Self::Gif | Self::Webp)
    }
}

pub fn sniff(b: &[u8]) -> Result<SourceFormat, Error> {
    if b.is_empty() {
        return Err(Error::Unsupported("empty body"));
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(SourceFormat::Png);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Ok(SourceFormat::Gif);
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Ok(SourceFormat::Webp);
    }
    if b.starts_with(b"II*\0")
        || b.starts_with(b"MM\0*")
        || b.starts_with(b"II+\0")
        || b.starts_with(b"MM\0+")
    {
        return Ok(SourceFormat::Tiff);
    }
    if let Some(f) = heif_brand(b) {
        return Ok(f);
    }
    if looks_like_svg(b) {
        return Ok(SourceFormat::Svg);
    }
    if looks_like_html(b) {
        return Err(Error::Unsupported("HTML"));
    }
    Err(Error::Unsupported("unknown format"))
}

/// ISO-BMFF `ftyp` box: AVIF when the major or a compatible brand says so, else HEIC.
fn heif_brand(b: &[u8]) -> Option<SourceFormat> {
    if b.len() < 16 || &b[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let boxed = &b[8..size.clamp(16, b.len())];
    let brands: Vec<&[u8]> = std::iter::once(&boxed[0..4])
        .chain(boxed.get(8..).unwrap_or(&[]).chunks_exact(4))
        .collect();
    let has = |names: &[&[u8]]| brands.iter().any(|b| names.contains(b));
    if has(&[b"avif", b"avis"]) {
        Some(SourceFormat::Avif)
    } else if has(&[
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ]) {
        Some(SourceFormat::Heic)
    } else {
        None
    }
}

fn text_start(b: &[u8]) -> String {
    let head = &b[..b.len().min(1024)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase()
}

fn looks_like_svg(b: &[u8]) -> bool {
    let head = text_start(b);
    (head.starts_with("<?xml")
        || head.starts_with("<svg")
        || head.starts_with("<!doctype svg")
        || head.starts_with("<!--"))
        && head.contains("<svg")
}

fn looks_like_html(b: &[u8]) -> bool {
    let head = text_start(b);
    ["<!doctype html", "<html", "<head", "<body", "<script"]
        .iter()
        .any(|p| head.starts_with(p))
}

/// libvips decodes a truncated JPEG or PNG from a buffer without error (grey fill), so
/// the end markers are checked here.
pub fn check_complete(format: SourceFormat, b: &[u8]) -> Result<(), Error> {
    match format {
        SourceFormat::Jpeg => {
            // Some writers pad after EOI; what comes before the padding must be FF D9.
            let end = b
                .iter()
                .rposition(|&x| x != 0 && x != b'\n' && x != b'\r' && x != b' ');
            match end {
                Some(i) if i >= 1 && b[i - 1] == 0xFF && b[i] == 0xD9 => Ok(()),
                _ => Err(Error::Corrupt(
                    "JPEG has no end-of-image marker (truncated?)".into(),
                )),
            }
        }
        SourceFormat::Png => {
            let tail = &b[b.len().saturating_sub(64)..];
            if tail.windows(4).any(|w| w == b"IEND") {
                Ok(())
            } else {
                Err(Error::Corrupt("PNG has no IEND chunk (truncated?)".into()))
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(SourceFormat::Jpeg));
        assert_eq!(sniff(b"GIF89a...."), Ok(SourceFormat::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(SourceFormat::Webp));
        assert_eq!(
            sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
            Ok(SourceFormat::Avif)
        );
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Ok(SourceFormat::Heic)
        );
        assert_eq!(
            sniff(b"  <?xml version='1.0'?>\n<svg xmlns='x'/>"),
            Ok(SourceFormat::Svg)
        );
        assert_eq!(
            sniff(b"<!DOCTYPE html><html>"),
            Err(Error::Unsupported("HTML"))
        );
        assert_eq!(sniff(b""), Err(Error::Unsupported("empty body")));
        assert_eq!(
            sniff(b"BM\x36\0\0\0"),
            Err(Error::Unsupported("unknown format"))
        );
    }

    #[test]
    fn truncation() {
        assert!(check_complete(SourceFormat::Jpeg, b"\xFF\xD8\xFF..\xFF\xD9").is_ok());
        assert!(check_complete(SourceFormat::Jpeg, b"\xFF\xD8\xFF..\xFF\xD9\0\0").is_ok());
        assert!(check_complete(SourceFormat::Jpeg, b"\xFF\xD8\xFF....").is_err());
        assert!(check_complete(SourceFormat::Png, b"\x89PNG....IEND\xAE\x42\x60\x82").is_ok());
        assert!(check_complete(SourceFormat::Png, b"\x89PNG....IDAT").is_err());
    }
}
