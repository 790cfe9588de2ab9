//! ferrotype's own URLs: `/transform/{source}/{path}?{options}`, `/transform?url=`, and
//! `/info` (API.md §1, §3, §6).

use percent_encoding::percent_decode_str;

use super::query::unique_pairs;
use super::spec::{
    Fit, Format, FormatChoice, Gravity, InfoRequest, Rgba, Rotation, SourceRef, TransformRequest,
    TransformSpec,
};
use super::values::{flag, float_in, int_in, parse_filename, parse_url, parse_version};
use super::{invalid, Error};

/// Parses a `/transform` request target (path and raw query).
pub fn parse_transform(path: &str, query: &str) -> Result<TransformRequest, Error> {
    let rest = path
        .strip_prefix("/transform")
        .ok_or_else(|| Error::Path("not a /transform path".into()))?;
    let mut spec = TransformSpec {
        dpr: 1.0,
        ..TransformSpec::default()
    };
    let mut origin = OriginOptions::default();
    let mut focal = (None, None);
    for (name, value) in unique_pairs(query)? {
        let v = value.as_ref();
        match name.as_ref() {
            "w" => spec.width = Some(int_in("w", v, 1, 8192)?),
            "h" => spec.height = Some(int_in("h", v, 1, 8192)?),
            "dpr" => spec.dpr = float_in("dpr", v, 1.0, 4.0)?,
            "fit" => spec.fit = parse_fit(v)?,
            "g" => spec.gravity = parse_gravity(v)?,
            "fx" => focal.0 = Some(float_in("fx", v, 0.0, 1.0)?),
            "fy" => focal.1 = Some(float_in("fy", v, 0.0, 1.0)?),
            "enlarge" => spec.enlarge = flag("enlarge", v)?,
            "fm" => spec.format = parse_format(v)?,
            "q" => spec.quality = Some(int_in("q", v, 1, 100)? as u8),
            "bg" => spec.background = parse_colour(v)?,
            "rot" => spec.rotate = parse_rotation(v)?,
            "blur" => spec.blur = Some(float_in("blur", v, 0.3, 100.0)?),
            "sharpen" => spec.sharpen = Some(float_in("sharpen", v, 0.3, 10.0)?),
            "meta" => spec.keep_metadata = flag("meta", v)?,
            "page" => spec.page = Some(int_in("page", v, 0, 1000)?),
            "filename" => spec.filename = Some(parse_filename(v)?),
            "dl" => spec.download = flag("dl", v)?,
            other if origin.take(other, v)? => {}
            other => return Err(Error::Unknown(other.to_owned())),
        }
    }
    if focal != (None, None) {
        spec.gravity = Gravity::Focal {
            x: focal.0.unwrap_or(0.5),
            y: focal.1.unwrap_or(0.5),
        };
    }
    let (source, version) = origin.locate("/transform", rest)?;
    Ok(TransformRequest {
        source,
        spec,
        version,
    })
}

pub fn parse_info(path: &str, query: &str) -> Result<InfoRequest, Error> {
    let rest = path
        .strip_prefix("/info")
        .ok_or_else(|| Error::Path("not an /info path".into()))?;
    let mut origin = OriginOptions::default();
    for (name, value) in unique_pairs(query)? {
        if !origin.take(&name, &value)? {
            return Err(Error::Unknown(name.into_owned()));
        }
    }
    let (source, version) = origin.locate("/info", rest)?;
    Ok(InfoRequest { source, version })
}

/// The options of every endpoint that works on an original: which one (`url`, or the
/// path), its version (`v`), and the URL's lifetime (`exp`). `/screenshot` shares `v` and
/// `exp` (its `url`, a page, is read by its own parser first).
#[derive(Default)]
pub(super) struct OriginOptions {
    url: Option<url::Url>,
    pub version: Option<String>,
}

impl OriginOptions {
    /// Takes the option if it is one of these; false when it is the caller's to judge.
    pub(super) fn take(&mut self, name: &str, v: &str) -> Result<bool, Error> {
        match name {
            // Its form only: the signature layer checks it against the clock.
            "exp" => {
                v.parse::<u64>()
                    .map_err(|_| invalid("exp", "expected unix seconds"))?;
            }
            "v" => self.version = Some(parse_version(v)?),
            "url" => self.url = Some(parse_url(v)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The source of `{endpoint}/{source}/{path}` or `{endpoint}?url=`, exactly one of
    /// them, and the version.
    fn locate(self, endpoint: &str, rest: &str) -> Result<(SourceRef, Option<String>), Error> {
        let source = match (rest, self.url) {
            ("" | "/", Some(url)) => SourceRef::Url(url),
            ("" | "/", None) => {
                return Err(Error::Path(format!(
                    "expected {endpoint}/{{source}}/{{path}} or {endpoint}?url="
                )))
            }
            (_, Some(_)) => return Err(invalid("url", "not allowed together with a source path")),
            (rest, None) => parse_source_path(rest)?,
        };
        Ok((source, self.version))
    }
}

/// `/{source}/{path…}` into a named source and checked path segments.
pub fn parse_source_path(rest: &str) -> Result<SourceRef, Error> {
    let rest = rest
        .strip_prefix('/')
        .ok_or_else(|| Error::Path("expected /{source}/{path}".into()))?;
    let (name, raw_path) = rest
        .split_once('/')
        .ok_or_else(|| Error::Path("expected /{source}/{path}".into()))?;
    if name.is_empty() || raw_path.is_empty() {
        return Err(Error::Path("expected /{source}/{path}".into()));
    }
    let mut segments = Vec::new();
    for raw in raw_path.split('/') {
        let bytes: Vec<u8> = percent_decode_str(raw).collect();
        let seg =
            String::from_utf8(bytes).map_err(|_| Error::Path("path is not valid UTF-8".into()))?;
        if seg.is_empty() {
            return Err(Error::Path("empty path segment".into()));
        }
        if seg == "." || seg == ".." {
            return Err(Error::Path("'.' and '..' segments are not allowed".into()));
        }
        if seg.contains('\0') {
            return Err(Error::Path("NUL byte in path".into()));
        }
        // A decoded slash or backslash would smuggle an extra segment past the checks above.
        if seg.contains('/') || seg.contains('\\') {
            return Err(Error::Path("encoded slash in path segment".into()));
        }
        segments.push(seg);
    }
    Ok(SourceRef::Named {
        name: percent_decode_str(name).decode_utf8_lossy().into_owned(),
        raw_path: raw_path.to_owned(),
        segments,
    })
}

fn parse_fit(v: &str) -> Result<Fit, Error> {
    Ok(match v {
        "inside" => Fit::Inside,
        "cover" => Fit::Cover,
        "contain" => Fit::Contain,
        "fill" => Fit::Fill,
        "outside" => Fit::Outside,
        _ => {
            return Err(invalid(
                "fit",
                format!("expected inside, cover, contain, fill or outside, got {v:?}"),
            ))
        }
    })
}

fn parse_gravity(v: &str) -> Result<Gravity, Error> {
    Ok(match v {
        "center" => Gravity::Center,
        "n" => Gravity::North,
        "s" => Gravity::South,
        "e" => Gravity::East,
        "w" => Gravity::West,
        "ne" => Gravity::NorthEast,
        "nw" => Gravity::NorthWest,
        "se" => Gravity::SouthEast,
        "sw" => Gravity::SouthWest,
        "attention" => Gravity::Attention,
        "entropy" => Gravity::Entropy,
        _ => {
            return Err(invalid(
                "g",
                format!(
                    "expected center, n, s, e, w, ne, nw, se, sw, attention or entropy, got {v:?}"
                ),
            ))
        }
    })
}

fn parse_format(v: &str) -> Result<FormatChoice, Error> {
    Ok(match v {
        "jpeg" => FormatChoice::Fixed(Format::Jpeg),
        "png" => FormatChoice::Fixed(Format::Png),
        "webp" => FormatChoice::Fixed(Format::Webp),
        "avif" => FormatChoice::Fixed(Format::Avif),
        "gif" => FormatChoice::Fixed(Format::Gif),
        "auto" => FormatChoice::Auto,
        _ => {
            return Err(invalid(
                "fm",
                format!("expected jpeg, png, webp, avif, gif or auto, got {v:?}"),
            ))
        }
    })
}

fn parse_rotation(v: &str) -> Result<Rotation, Error> {
    Ok(match v {
        "0" => Rotation::R0,
        "90" => Rotation::R90,
        "180" => Rotation::R180,
        "270" => Rotation::R270,
        _ => {
            return Err(invalid(
                "rot",
                format!("expected 0, 90, 180 or 270, got {v:?}"),
            ))
        }
    })
}

fn parse_colour(v: &str) -> Result<Rgba, Error> {
    let bad = || invalid("bg", format!("expected 3, 6 or 8 hex digits, got {v:?}"));
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let digit = |i: usize| u8::from_str_radix(&v[i..=i], 16).map_err(|_| bad());
    let byte = |i: usize| u8::from_str_radix(&v[i..i + 2], 16).map_err(|_| bad());
    Ok(match v.len() {
        3 => Rgba {
            r: digit(0)? * 17,
            g: digit(1)? * 17,
            b: digit(2)? * 17,
            a: 255,
        },
        6 | 8 => Rgba {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a: if v.len() == 8 { byte(6)? } else { 255 },
        },
        _ => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(q: &str) -> Result<TransformSpec, Error> {
        parse_transform("/transform/src/a.jpg", q).map(|r| r.spec)
    }

    #[test]
    fn defaults() {
        let s = spec("").unwrap();
        assert_eq!(s.dpr, 1.0);
        assert_eq!(s.fit, Fit::Inside);
        assert_eq!(s.format, FormatChoice::Source);
        assert_eq!(s.background, Rgba::default());
        assert_eq!(s.pixel_box(), (None, None));
    }

    #[test]
    fn every_option() {
        let s = spec("w=300&h=200&dpr=1.5&fit=cover&g=ne&enlarge=1&fm=webp&q=70&bg=00ff0088&rot=90&blur=2&sharpen=1.2&meta=1&page=3&filename=my+cat&dl=1&exp=99&v=a.b_c-1").unwrap();
        assert_eq!(s.pixel_box(), (Some(450), Some(300)));
        assert_eq!(s.fit, Fit::Cover);
        assert_eq!(s.gravity, Gravity::NorthEast);
        assert!(s.enlarge && s.keep_metadata && s.download);
        assert_eq!(s.format, FormatChoice::Fixed(Format::Webp));
        assert_eq!(s.quality, Some(70));
        assert_eq!(
            s.background,
            Rgba {
                r: 0,
                g: 255,
                b: 0,
                a: 136
            }
        );
        assert_eq!(s.rotate, Rotation::R90);
        assert_eq!(s.blur, Some(2.0));
        assert_eq!(s.sharpen, Some(1.2));
        assert_eq!(s.page, Some(3));
        assert_eq!(s.filename.as_deref(), Some("my cat"));
    }

    #[test]
    fn focal_point_overrides_gravity() {
        let s = spec("g=n&fx=0.25").unwrap();
        assert_eq!(s.gravity, Gravity::Focal { x: 0.25, y: 0.5 });
    }

    #[test]
    fn errors_name_the_option() {
        for (q, name) in [
            ("w=0", "w"),
            ("w=8193", "w"),
            ("h=abc", "h"),
            ("dpr=4.5", "dpr"),
            ("dpr=NaN", "dpr"),
            ("fit=crop", "fit"),
            ("g=north", "g"),
            ("fx=1.5", "fx"),
            ("enlarge=yes", "enlarge"),
            ("fm=bmp", "fm"),
            ("q=101", "q"),
            ("bg=12345", "bg"),
            ("bg=ggg", "bg"),
            ("rot=45", "rot"),
            ("blur=0.1", "blur"),
            ("sharpen=11", "sharpen"),
            ("meta=2", "meta"),
            ("page=1001", "page"),
            ("dl=true", "dl"),
            ("exp=soon", "exp"),
            ("v=a/b", "v"),
            ("filename=a%2Fb", "filename"),
        ] {
            let err = spec(q).unwrap_err();
            assert!(err.to_string().contains(&format!("{name:?}")), "{q}: {err}");
        }
        assert_eq!(spec("W=1"), Err(Error::Unknown("W".into())));
        assert_eq!(spec("w=1&w=2"), Err(Error::Repeated("w".into())));
    }

    #[test]
    fn signature_is_not_an_option() {
        assert!(spec("w=10&s=abcdef").is_ok());
    }

    #[test]
    fn named_source_paths() {
        let r = parse_transform("/transform/images/a%20b/cat.jpg", "").unwrap();
        assert_eq!(
            r.source,
            SourceRef::Named {
                name: "images".into(),
                raw_path: "a%20b/cat.jpg".into(),
                segments: vec!["a b".into(), "cat.jpg".into()],
            }
        );
        assert_eq!(r.source.file_name().as_deref(), Some("cat.jpg"));
        for bad in [
            "/transform/images/../etc/passwd",
            "/transform/images/a/%2e%2e/b",
            "/transform/images/a%00.jpg",
            "/transform/images//etc/passwd",
            "/transform/images/a%2Fb",
            "/transform/images",
            "/transform/images/",
            "/transform",
        ] {
            assert!(
                matches!(parse_transform(bad, ""), Err(Error::Path(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn url_sources() {
        let r = parse_transform(
            "/transform",
            "url=https%3A%2F%2Fexample.com%2Fa%2Fb.png&w=5",
        )
        .unwrap();
        assert_eq!(
            r.source,
            SourceRef::Url("https://example.com/a/b.png".parse().unwrap())
        );
        assert_eq!(r.source.file_name().as_deref(), Some("b.png"));
        for bad in [
            "url=file%3A%2F%2F%2Fetc%2Fpasswd",
            "url=relative",
            "url=http%3A%2F%2Fu%3Ap%40h%2F",
        ] {
            assert!(
                matches!(
                    parse_transform("/transform", bad),
                    Err(Error::Invalid { name: "url", .. })
                ),
                "{bad}"
            );
        }
        assert!(
            parse_transform("/transform/src/a.jpg", "url=https%3A%2F%2Fexample.com%2F").is_err()
        );
    }
}
