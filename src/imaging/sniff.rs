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

    /// The format's name in `/info`, and its media type.
    pub fn name_and_type(self) -> (&'static str, &'static str) {
        match self {
            Self::Jpeg => ("jpeg", "image/jpeg"),
            Self::Png => ("png", "image/png"),
            Self::Gif => ("gif", "image/gif"),
            Self::Webp => ("webp", "image/webp"),
            Self::Avif => ("avif", "image/avif"),
            Self::Heic => ("heic", "image/heic"),
            Self::Tiff => ("tiff", "image/tiff"),
            Self::Svg => ("svg", "image/svg+xml"),
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
    let head = &b[..b.len().min(HTML_SNIFF)];
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

/// How much of a body decides whether it is a web page.
pub const HTML_SNIFF: usize = 1024;

/// Whether a body that starts with `b` is an HTML page (not an image, not SVG): markup
/// that names `html`, `head` or `body` in its first [`HTML_SNIFF`] bytes. The one rule for
/// `/transform` (415), the originals' download (a page is kept only up to its head) and
/// `/info` (a page's `og:image`).
pub fn looks_like_html(b: &[u8]) -> bool {
    let head = text_start(b);
    head.starts_with('<')
        && !looks_like_svg(b)
        && ["<!doctype html", "<html", "<head", "<body"]
            .iter()
            .any(|m| head.contains(m))
}

/// Structural checks libvips does not make for us:
/// - a truncated JPEG or PNG decodes from a buffer without error (grey fill), so the end
///   markers are looked for here;
/// - a GIF frame larger than its canvas is how decompression bombs hide in GIFs;
/// - SVG is rasterised by librsvg, which must never be asked to resolve entities or
///   external references, so SVGs that carry them are refused outright.
pub fn check_structure(format: SourceFormat, b: &[u8]) -> Result<(), Error> {
    match format {
        SourceFormat::Jpeg => {
            // Some writers pad after EOI; what comes before the padding must be FF D9.
            let end = b
                .iter()
                .rposition(|&x| !matches!(x, 0 | b'\n' | b'\r' | b' '));
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
        SourceFormat::Gif => check_gif_frames(b),
        SourceFormat::Svg => check_svg(b),
        _ => Ok(()),
    }
}

/// Walks a GIF's blocks and refuses frames that reach outside the logical screen.
fn check_gif_frames(b: &[u8]) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::Corrupt(format!("GIF {why}")));
    let u16_at = |i: usize| {
        b.get(i..i + 2)
            .map(|s| u32::from(u16::from_le_bytes([s[0], s[1]])))
    };
    let (Some(screen_w), Some(screen_h), Some(&flags)) = (u16_at(6), u16_at(8), b.get(10)) else {
        return bad("header is truncated");
    };
    let table = |flags: u8| {
        if flags & 0x80 != 0 {
            3usize << ((flags & 7) + 1)
        } else {
            0
        }
    };
    let mut i = 13 + table(flags);
    // Data sub-blocks: a length byte, that many bytes, until a zero length.
    let skip_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let len = usize::from(*b.get(i)?);
            i += 1 + len;
            if len == 0 {
                return Some(i);
            }
        }
    };
    loop {
        match b.get(i) {
            Some(0x3B) => return Ok(()),
            Some(0x21) => match skip_blocks(i + 2) {
                Some(next) => i = next,
                None => return bad("extension is truncated"),
            },
            Some(0x2C) => {
                let (Some(left), Some(top), Some(w), Some(h), Some(&f)) = (
                    u16_at(i + 1),
                    u16_at(i + 3),
                    u16_at(i + 5),
                    u16_at(i + 7),
                    b.get(i + 9),
                ) else {
                    return bad("image descriptor is truncated");
                };
                if left + w > screen_w || top + h > screen_h {
                    return bad(&format!(
                        "frame {w}x{h} at {left},{top} reaches outside the {screen_w}x{screen_h} canvas"
                    ));
                }
                match skip_blocks(i + 10 + table(f) + 1) {
                    Some(next) => i = next,
                    None => return bad("image data is truncated"),
                }
            }
            // No trailer, or junk after the last frame: decoders stop here, and so do we.
            _ => return Ok(()),
        }
    }
}

fn check_svg(b: &[u8]) -> Result<(), Error> {
    let text = String::from_utf8_lossy(b).to_ascii_lowercase();
    let refused = |what: &str| Err(Error::Corrupt(format!("SVG with {what} is refused")));
    if text.contains("<!entity") {
        return refused("entity declarations");
    }
    if text.contains("<script") || text.contains("<foreignobject") {
        return refused("scripts or foreign objects");
    }
    if text.contains("@import") {
        return refused("style imports");
    }
    // Every reference must stay inside the document (`#id`) or be inline data.
    let external = ["href=\"", "href='", "url(\"", "url('", "url("]
        .iter()
        .any(|open| {
            text.match_indices(open).any(|(at, _)| {
                let value = text[at + open.len()..].trim_start();
                !(value.starts_with('#') || value.starts_with("data:"))
            })
        });
    if external {
        return refused("external references");
    }
    Ok(())
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
        for page in [
            &b"\xEF\xBB\xBF  <!doctype HTML>"[..],
            b"<!-- a comment first -->\n<html lang=en>",
            b"<meta charset=utf-8><title>x</title><body>",
        ] {
            assert!(looks_like_html(page), "{}", String::from_utf8_lossy(page));
        }
        for not_page in [
            &b"<?xml version='1.0'?><svg><foreignObject><html/></foreignObject></svg>"[..],
            b"GIF89a<html>",
            b"plain text <html>",
        ] {
            assert!(
                !looks_like_html(not_page),
                "{}",
                String::from_utf8_lossy(not_page)
            );
        }
        assert_eq!(
            sniff(b"BM\x36\0\0\0"),
            Err(Error::Unsupported("unknown format"))
        );
    }

    #[test]
    fn truncation() {
        assert!(check_structure(SourceFormat::Jpeg, b"\xFF\xD8\xFF..\xFF\xD9").is_ok());
        assert!(check_structure(SourceFormat::Jpeg, b"\xFF\xD8\xFF..\xFF\xD9\0\0").is_ok());
        assert!(check_structure(SourceFormat::Jpeg, b"\xFF\xD8\xFF....").is_err());
        assert!(check_structure(SourceFormat::Png, b"\x89PNG....IEND\xAE\x42\x60\x82").is_ok());
        assert!(check_structure(SourceFormat::Png, b"\x89PNG....IDAT").is_err());
    }

    #[test]
    fn gif_frames_inside_the_canvas() {
        // 4x4 canvas, no colour table, one 4x4 frame, trailer.
        let ok = b"GIF89a\x04\x00\x04\x00\x00\x00\x00\x2C\x00\x00\x00\x00\x04\x00\x04\x00\x00\x02\x01\x00\x00\x3B";
        assert_eq!(check_structure(SourceFormat::Gif, ok), Ok(()));
        let mut wide = ok.to_vec();
        wide[18] = 0x05; // frame width 5 on a 4-wide canvas
        assert!(check_structure(SourceFormat::Gif, &wide).is_err());
        assert!(check_structure(SourceFormat::Gif, &ok[..21]).is_err());
    }

    #[test]
    fn svg_references_stay_inside() {
        let plain =
            b"<svg xmlns='http://www.w3.org/2000/svg'><use href='#a'/><rect fill='url(#g)'/></svg>";
        assert_eq!(check_structure(SourceFormat::Svg, plain), Ok(()));
        for bad in [
            &b"<svg><image href='file:///etc/passwd'/></svg>"[..],
            b"<svg><rect fill='url(http://x/p#a)'/></svg>",
            b"<!DOCTYPE svg [<!ENTITY a 'b'>]><svg/>",
            b"<svg><script>1</script></svg>",
            b"<svg><style>@import url(x.css);</style></svg>",
        ] {
            assert!(
                check_structure(SourceFormat::Svg, bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
