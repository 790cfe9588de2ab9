//! ferrotype's own URLs: `/transform/{source}/{path}?{options}`, `/transform?url=`, and
//! `/info` (API.md §1, §3, §6).

use percent_encoding::percent_decode_str;

use super::catalog::Catalog;
use super::query::unique_pairs;
use super::setting::{parse_setting, Draft};
use super::spec::{InfoRequest, SourceRef, TransformRequest, TransformSpec};
use super::values::{parse_url, parse_version};
use super::{invalid, Error};

/// Parses a `/transform` request target (path and raw query) with no presets and no
/// watermarks configured; [`Catalog::parse_transform`] knows the operator's.
pub fn parse_transform(path: &str, query: &str) -> Result<TransformRequest, Error> {
    Catalog::default().parse_transform(path, query)
}

impl Catalog {
    /// Parses a `/transform` request target: the `default` preset, then the URL's presets
    /// in order, then its own options, each overriding what came before.
    pub fn parse_transform(&self, path: &str, query: &str) -> Result<TransformRequest, Error> {
        let rest = path
            .strip_prefix("/transform")
            .ok_or_else(|| Error::Path("not a /transform path".into()))?;
        let mut origin = OriginOptions::default();
        let mut named = Vec::new();
        let mut own = Vec::new();
        for (name, value) in unique_pairs(query)? {
            let v = value.as_ref();
            match name.as_ref() {
                "preset" => named = self.presets_named(v)?,
                other if origin.take(other, v)? => {}
                other => match parse_setting(other, v, self)? {
                    Some(setting)
                        if self.only_presets() && !setting.allowed_with_only_presets() =>
                    {
                        return Err(invalid(
                            setting.name(),
                            "only presets may be chosen (FERROTYPE_ONLY_PRESETS)",
                        ))
                    }
                    Some(setting) => own.push(setting),
                    None => return Err(Error::Unknown(other.to_owned())),
                },
            }
        }
        let mut draft = Draft::default();
        for setting in self
            .default_preset()
            .iter()
            .chain(named.into_iter().flatten())
        {
            draft.apply(setting.clone());
        }
        for setting in own {
            draft.apply(setting);
        }
        let (source, version) = origin.locate("/transform", rest)?;
        Ok(TransformRequest {
            source,
            spec: draft.finish(),
            version,
        })
    }
}

impl Catalog {
    /// `ferrotype convert`'s `--options` (API.md §11): §3's query syntax and meanings, less
    /// what only a URL has (its source, version, expiry and download name).
    pub fn parse_batch(&self, options: &str) -> Result<TransformSpec, Error> {
        for (name, _) in unique_pairs(options)? {
            if let Some(url_only) = ["url", "v", "exp", "filename", "dl"]
                .into_iter()
                .find(|n| *n == name)
            {
                return Err(invalid(url_only, "belongs to URLs, not to convert"));
            }
        }
        Ok(self.parse_transform("/transform/batch/file", options)?.spec)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::spec::{
        Crop, Fit, Flip, Format, FormatChoice, Gravity, Length, Placement, Rgba, Rotation, Sides,
        TransformSpec, Trim,
    };

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
    fn the_options_of_wave_two() {
        let s = spec("flip=hv&trim=12&crop=10,0.25,100,0.5&pixelate=8&pad=1,2,3&wm_text=%3Cb%3E+%26&wm_pos=tile&wm_opacity=0.5&wm_scale=0.3&wm_margin=0&wm_color=ff0000&max_bytes=20000").unwrap();
        assert_eq!(
            s.flip,
            Flip {
                horizontal: true,
                vertical: true
            }
        );
        assert_eq!(s.trim, Some(Trim::threshold(12)));
        assert_eq!(
            s.crop,
            Some(Crop::Region {
                x: Length::Pixels(10),
                y: Length::Fraction(0.25),
                width: Length::Pixels(100),
                height: Length::Fraction(0.5),
            })
        );
        assert_eq!(s.pixelate, Some(8));
        assert_eq!(
            s.pad,
            Some(Sides {
                top: 1,
                right: 2,
                bottom: 3,
                left: 2
            })
        );
        let wm = &s.watermark;
        assert_eq!(wm.text.as_deref(), Some("<b> &"));
        assert_eq!(wm.placement, Placement::Tile);
        assert_eq!((wm.opacity, wm.scale, wm.margin), (0.5, Some(0.3), (0, 0)));
        assert_eq!((wm.colour.r, wm.colour.g), (255, 0));
        assert_eq!(s.max_bytes, Some(20000));
        for (q, name) in [
            ("flip=x", "flip"),
            ("trim=0", "trim"),
            ("crop=1,2,3", "crop"),
            ("crop=0,0,0,10", "crop"),
            ("crop=0,0,1.5,1", "crop"),
            ("crop=a,0,1,1", "crop"),
            ("pixelate=1", "pixelate"),
            ("pad=1,2,3,4,5", "pad"),
            ("pad=1001", "pad"),
            ("pad=", "pad"),
            ("wm=logo", "wm"),
            ("wm_text=", "wm_text"),
            ("wm_pos=top", "wm_pos"),
            ("wm_opacity=1.5", "wm_opacity"),
            ("wm_scale=0", "wm_scale"),
            ("wm_margin=1001", "wm_margin"),
            ("wm_color=fff", "wm_color"),
            ("max_bytes=1000", "max_bytes"),
            ("preset=thumb", "preset"),
        ] {
            let err = spec(q).unwrap_err();
            assert!(err.to_string().contains(&format!("{name:?}")), "{q}: {err}");
        }
        let long = "é".repeat(201);
        assert!(spec(&format!("wm_text={long}")).is_err());
        assert!(spec(&format!("wm_text={}", &long[2..])).is_ok());
    }

    #[test]
    fn presets_apply_in_order_and_the_url_overrides_them() {
        let mut catalog = Catalog::new(["logo".to_owned()], false);
        catalog.add_preset("default", "q=70&fm=webp").unwrap();
        catalog
            .add_preset("thumb", "w=200&h=200&fit=cover&wm=logo")
            .unwrap();
        catalog.add_preset("wide", "w=400").unwrap();
        let parse = |q: &str| {
            catalog
                .parse_transform("/transform/s/a.jpg", q)
                .map(|r| r.spec)
        };
        let written_out = parse("w=200&h=200&fit=cover&wm=logo").unwrap();
        assert_eq!(parse("preset=thumb").unwrap(), written_out);
        assert_eq!(written_out.quality, Some(70));
        assert_eq!(parse("preset=thumb,wide").unwrap().width, Some(400));
        assert_eq!(parse("preset=wide,thumb").unwrap().width, Some(200));
        assert_eq!(parse("preset=thumb&w=50&q=90").unwrap().width, Some(50));
        assert_eq!(parse("q=90").unwrap().quality, Some(90));
        assert!(parse("preset=thumb,nope").is_err());
        assert!(parse("wm=other").is_err());

        for (name, options) in [
            ("bad name", "w=1"),
            ("x", "w=0"),
            ("x", "v=1"),
            ("x", "preset=thumb"),
            ("x", "wm=missing"),
            ("x", "w=1&w=2"),
            ("thumb", "w=1"),
        ] {
            assert!(
                catalog.add_preset(name, options).is_err(),
                "{name}: {options}"
            );
        }
    }

    #[test]
    fn only_presets_refuses_other_options() {
        let mut catalog = Catalog::new([], true);
        catalog.add_preset("thumb", "w=200").unwrap();
        let parse = |q: &str| catalog.parse_transform("/transform/s/a.jpg", q);
        assert!(parse("preset=thumb&v=2&exp=9&filename=a&dl=1").is_ok());
        assert!(parse("").is_ok());
        let err = parse("preset=thumb&w=300").unwrap_err();
        assert!(err.to_string().contains("\"w\""), "{err}");
        assert!(catalog
            .parse_transform(
                "/transform",
                "url=https%3A%2F%2Fa.example%2Fb.jpg&preset=thumb"
            )
            .is_ok());
    }

    #[test]
    fn focal_point_overrides_gravity() {
        let s = spec("g=n&fx=0.25").unwrap();
        assert_eq!(s.gravity, Gravity::Focal { x: 0.25, y: 0.5 });
    }

    #[test]
    fn batch_options_are_transform_options_without_the_url_ones() {
        let catalog = Catalog::default();
        let s = catalog
            .parse_batch("w=1600&fm=webp&q=80&faces=blur")
            .unwrap();
        assert_eq!((s.width, s.quality), (Some(1600), Some(80)));
        assert_eq!(
            catalog.parse_batch("").unwrap(),
            parse_transform("/transform/a/b.jpg", "").unwrap().spec
        );
        for q in [
            "v=2",
            "exp=1",
            "filename=a",
            "dl=1",
            "url=http%3A%2F%2Fa%2Fb.jpg",
        ] {
            let err = catalog.parse_batch(q).unwrap_err().to_string();
            assert!(err.contains("not to convert"), "{q}: {err}");
        }
        assert!(catalog.parse_batch("w=0").is_err());
        assert!(catalog.parse_batch("nope=1").is_err());
    }

    #[test]
    fn faces_options() {
        use crate::options::Obscure;
        let s = spec("g=face&faces=pixelate").unwrap();
        assert_eq!(
            (s.gravity, s.faces),
            (Gravity::Face, Some(Obscure::Pixelate))
        );
        assert!(s.needs_faces());
        assert_eq!(spec("faces=blur").unwrap().faces, Some(Obscure::Blur));
        assert!(!spec("g=attention").unwrap().needs_faces());
        let err = spec("faces=hide").unwrap_err().to_string();
        assert!(err.contains("\"faces\""), "{err}");
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
