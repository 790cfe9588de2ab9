//! `/screenshot`'s options (API.md §4), ImgKit's names, so its existing URLs keep working.

use super::native::OriginOptions;
use super::query::unique_pairs;
use super::spec::Format;
use super::values::{boolean, float_in, int_in, parse_filename};
use super::{invalid, Error};

/// The image types `/screenshot` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShotType {
    Jpeg,
    Png,
    Webp,
}

impl ShotType {
    pub fn format(self) -> Format {
        match self {
            Self::Jpeg => Format::Jpeg,
            Self::Png => Format::Png,
            Self::Webp => Format::Webp,
        }
    }
}

/// Everything `/screenshot` does (API.md §4, ImgKit's option names), validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenshotSpec {
    /// Any absolute URL: whether its scheme and address may be rendered is the network
    /// policy's call (403), not the parser's.
    pub url: url::Url,
    pub width: u32,
    pub height: u32,
    pub scale_factor: f64,
    pub prefer_dark: bool,
    pub kind: ShotType,
    pub quality: Option<u8>,
    pub full_page: bool,
    pub wait_for: Option<String>,
    pub delay_ms: u32,
    pub filename: Option<String>,
    /// `v`: a page changes under the same URL; a new `v` renders it again.
    pub version: Option<String>,
}

/// Parses a `/screenshot` query.
pub fn parse_screenshot(query: &str) -> Result<ScreenshotSpec, Error> {
    let mut url = None;
    let mut common = OriginOptions::default();
    let mut spec = ScreenshotSpec {
        url: url::Url::parse("about:blank").map_err(|_| Error::Path("internal".into()))?,
        width: 1200,
        height: 630,
        scale_factor: 1.0,
        prefer_dark: false,
        kind: ShotType::Png,
        quality: None,
        full_page: false,
        wait_for: None,
        delay_ms: 0,
        filename: None,
        version: None,
    };
    for (name, value) in unique_pairs(query)? {
        let v = value.as_ref();
        match name.as_ref() {
            "url" => {
                url = Some(
                    url::Url::parse(v)
                        .map_err(|e| invalid("url", format!("not an absolute URL ({e})")))?,
                )
            }
            "width" => spec.width = int_in("width", v, 16, 3840)?,
            "height" => spec.height = int_in("height", v, 16, 2160)?,
            "scaleFactor" => spec.scale_factor = float_in("scaleFactor", v, 1.0, 3.0)?,
            "preferDark" => spec.prefer_dark = boolean("preferDark", v)?,
            "type" => {
                spec.kind = match v {
                    "jpeg" => ShotType::Jpeg,
                    "png" => ShotType::Png,
                    "webp" => ShotType::Webp,
                    _ => {
                        return Err(invalid(
                            "type",
                            format!("expected jpeg, png or webp, got {v:?}"),
                        ))
                    }
                }
            }
            "quality" => spec.quality = Some(int_in("quality", v, 1, 100)? as u8),
            "fullPage" => spec.full_page = boolean("fullPage", v)?,
            "waitFor" => {
                if v.is_empty() || v.len() > 512 || v.chars().any(char::is_control) {
                    return Err(invalid(
                        "waitFor",
                        "expected a CSS selector of 1–512 characters",
                    ));
                }
                spec.wait_for = Some(v.to_owned());
            }
            "delay" => spec.delay_ms = int_in("delay", v, 0, 10_000)?,
            "filename" => spec.filename = Some(parse_filename(v)?),
            other if common.take(other, v)? => {}
            other => return Err(Error::Unknown(other.to_owned())),
        }
    }
    spec.url = url.ok_or_else(|| invalid("url", "required"))?;
    spec.version = common.version;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screenshot_options() {
        let s = parse_screenshot("url=https%3A%2F%2Fexample.com%2F&width=800&height=400&scaleFactor=2&preferDark=true&type=webp&quality=70&fullPage=false&waitFor=%23card&delay=250&filename=card").unwrap();
        assert_eq!(s.url.as_str(), "https://example.com/");
        assert_eq!((s.width, s.height, s.scale_factor), (800, 400, 2.0));
        assert!(s.prefer_dark && !s.full_page);
        assert_eq!(s.kind, ShotType::Webp);
        assert_eq!(s.wait_for.as_deref(), Some("#card"));
        assert_eq!(s.delay_ms, 250);
        assert_eq!(
            parse_screenshot("url=http%3A%2F%2Fa%2F&v=2")
                .unwrap()
                .version
                .as_deref(),
            Some("2")
        );
        let d = parse_screenshot("url=https%3A%2F%2Fexample.com%2F").unwrap();
        assert_eq!((d.width, d.height, d.kind), (1200, 630, ShotType::Png));
        // The scheme is the policy's to refuse (403), not a parse error.
        assert!(parse_screenshot("url=file%3A%2F%2F%2Fetc%2Fpasswd").is_ok());
        for (q, name) in [
            ("", "url"),
            ("url=x", "url"),
            ("url=http%3A%2F%2Fa%2F&width=15", "width"),
            ("url=http%3A%2F%2Fa%2F&height=2161", "height"),
            ("url=http%3A%2F%2Fa%2F&scaleFactor=4", "scaleFactor"),
            ("url=http%3A%2F%2Fa%2F&preferDark=1", "preferDark"),
            ("url=http%3A%2F%2Fa%2F&type=gif", "type"),
            ("url=http%3A%2F%2Fa%2F&delay=10001", "delay"),
            ("url=http%3A%2F%2Fa%2F&w=3", "w"),
        ] {
            let err = parse_screenshot(q).unwrap_err();
            assert!(err.to_string().contains(&format!("{name:?}")), "{q}: {err}");
        }
    }
}
