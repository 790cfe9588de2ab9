//! imgproxy's URL dialect (API.md §8): `/{signature}/{options…}/plain/{url}@{ext}` and the
//! base64 form, parsed into the same [`TransformRequest`] as ferrotype's own URLs, so the
//! caches, limits, network rules and responses are the same. The signature is checked
//! before this (`http::verify`, `signature::ImgproxySigner`).
//!
//! - `path` — the path split into option segments, the source and its extension;
//! - `option` — one option into typed settings, with imgproxy's names and defaults.

mod option;
mod path;

use super::presets::Presets;
use super::setting::{Draft, Setting};
use super::spec::{Format, FormatChoice, SourceRef, TransformRequest};
use super::values::parse_url;
use super::{invalid, Error};
use option::Parsed;

/// The watermark `watermark`/`wm` draws: imgproxy has one, configured by name here.
pub const WATERMARK: &str = "default";

/// What the operator configured for the dialect: presets (in imgproxy's syntax, parsed
/// at start), the formats negotiated for URLs without one, and whether a watermark named
/// `default` exists.
#[derive(Clone, Debug, Default)]
pub struct Dialect {
    presets: Presets,
    auto_formats: Vec<Format>,
    has_watermark: bool,
}

/// An imgproxy URL, parsed: the request, and when it expires.
#[derive(Clone, Debug, PartialEq)]
pub struct ImgproxyRequest {
    pub request: TransformRequest,
    pub expires: Option<u64>,
}

impl Dialect {
    /// `auto_formats`: AVIF and WebP, in the order to prefer them.
    pub fn new(auto_formats: Vec<Format>, has_watermark: bool) -> Self {
        Self {
            presets: Presets::default(),
            auto_formats,
            has_watermark,
        }
    }

    /// Adds a preset from options in imgproxy's syntax (`rs:fill:200:200/q:70`), checked
    /// now so that a mistake stops the start.
    pub fn add_preset(&mut self, name: &str, options: &str) -> Result<(), Error> {
        if name.is_empty() || self.presets.has(name) {
            return Err(invalid(
                "preset",
                format!("{name:?} is empty or defined twice"),
            ));
        }
        let mut settings = Vec::new();
        for segment in options.split('/').filter(|s| !s.is_empty()) {
            match option::parse(segment, self.has_watermark)? {
                Parsed::Settings(s) => settings.extend(s),
                _ => {
                    return Err(invalid(
                        "preset",
                        format!("{segment:?} cannot be part of a preset"),
                    ))
                }
            }
        }
        self.presets.insert(name, settings);
        Ok(())
    }

    /// The `expires` of a path, read before anything else so that an expired URL answers
    /// 410 whatever else is wrong with it.
    pub fn expiry(path: &str) -> Option<u64> {
        path.split('/')
            .find_map(|s| {
                s.strip_prefix("exp:")
                    .or_else(|| s.strip_prefix("expires:"))
            })
            .and_then(|v| v.parse().ok())
    }

    /// Parses a path (everything after the signature segment, from its `/`).
    pub fn parse(&self, path: &str) -> Result<ImgproxyRequest, Error> {
        let parts = path::split(path)?;
        let mut draft = Draft::default();
        // imgproxy keeps the copyright by default (IMGPROXY_KEEP_COPYRIGHT).
        draft.apply(Setting::KeepCopyright(true));
        for s in self.presets.default_settings() {
            draft.apply(s.clone());
        }
        let mut expires = None;
        let mut version = None;
        for segment in &parts.options {
            match option::parse(segment, self.has_watermark)? {
                Parsed::Settings(settings) => settings.into_iter().for_each(|s| draft.apply(s)),
                Parsed::Presets(names) => {
                    for name in names {
                        let preset = self.presets.get(&name)?;
                        preset.iter().for_each(|s| draft.apply(s.clone()));
                    }
                }
                Parsed::Expires(at) => expires = Some(at),
                Parsed::CacheBuster(v) => version = Some(v),
            }
        }
        let mut spec = draft.finish();
        match parts.extension.as_deref() {
            Some(ext) => spec.format = FormatChoice::Fixed(option::format("format", ext)?),
            None if spec.format == FormatChoice::Source && !self.auto_formats.is_empty() => {
                let mut order = self.auto_formats.iter().copied();
                spec.format = FormatChoice::Preferred([order.next(), order.next()]);
            }
            None => {}
        }
        Ok(ImgproxyRequest {
            request: TransformRequest {
                source: source(&parts.source)?,
                spec,
                version,
            },
            expires,
        })
    }
}

/// `http(s)://…` (under `?url=`'s rules), `local:///path` or `s3://bucket/key`.
fn source(url: &str) -> Result<SourceRef, Error> {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    match scheme {
        "http" | "https" => parse_url(url).map(SourceRef::Url),
        "local" => {
            let path = &url["local://".len()..];
            let path = path.strip_prefix('/').unwrap_or(path);
            let segments = local_segments(path)?;
            Ok(SourceRef::Local { segments })
        }
        "s3" => {
            let rest = &url["s3://".len()..];
            let (bucket, key) = rest
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                .ok_or_else(|| invalid("url", "expected s3://bucket/key"))?;
            Ok(SourceRef::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
        }
        _ => Err(invalid(
            "url",
            format!("scheme {scheme:?} is not http, https, local or s3"),
        )),
    }
}

/// A `local://` path's segments, refusing what would leave the root.
fn local_segments(path: &str) -> Result<Vec<String>, Error> {
    let mut segments = Vec::new();
    for seg in path.split('/') {
        if seg.is_empty() {
            return Err(Error::Path("empty path segment".into()));
        }
        if seg == "." || seg == ".." {
            return Err(Error::Path("'.' and '..' segments are not allowed".into()));
        }
        if seg.contains('\0') || seg.contains('\\') {
            return Err(Error::Path("NUL or backslash in path".into()));
        }
        segments.push(seg.to_owned());
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::spec::{Fit, Gravity};

    fn parse(path: &str) -> Result<ImgproxyRequest, Error> {
        Dialect::new(Vec::new(), true).parse(path)
    }

    #[test]
    fn faces_are_the_detected_objects() {
        use crate::options::Obscure;
        let spec = |p: &str| parse(p).map(|r| r.request.spec);
        assert_eq!(
            spec("/g:obj:face/plain/http://h/a.jpg").unwrap().gravity,
            Gravity::Face
        );
        assert_eq!(
            spec("/g:obj/plain/http://h/a.jpg").unwrap().gravity,
            Gravity::Face
        );
        assert!(spec("/g:obj:cat/plain/http://h/a.jpg").is_err());
        let s = spec("/bd:10:face/plain/http://h/a.jpg").unwrap();
        assert_eq!(s.faces, Some(Obscure::Blur));
        assert_eq!(
            spec("/blur_detections:5/plain/http://h/a.jpg")
                .unwrap()
                .faces,
            Some(Obscure::Blur)
        );
        assert!(spec("/bd:5:dog/plain/http://h/a.jpg").is_err());
        assert!(spec("/bd/plain/http://h/a.jpg").is_err());
    }

    #[test]
    fn the_documented_example() {
        let r = parse("/rs:fill:300:400:0/g:sm/plain/http://example.com/images/curiosity.jpg@png")
            .unwrap();
        let s = &r.request.spec;
        assert_eq!(
            (s.width, s.height, s.fit),
            (Some(300), Some(400), Fit::Cover)
        );
        assert_eq!(s.gravity, Gravity::Attention);
        assert_eq!(s.format, FormatChoice::Fixed(Format::Png));
        assert_eq!(
            r.request.source,
            SourceRef::Url("http://example.com/images/curiosity.jpg".parse().unwrap())
        );
    }

    #[test]
    fn errors_name_the_option() {
        for (path, name) in [
            ("/rs:squash:1:1/plain/http://h/a.jpg", "resize"),
            ("/w:9000/plain/http://h/a.jpg", "width"),
            ("/w:1:2/plain/http://h/a.jpg", "width"),
            ("/q:101/plain/http://h/a.jpg", "quality"),
            ("/g:up/plain/http://h/a.jpg", "gravity"),
            ("/rot:45/plain/http://h/a.jpg", "rotate"),
            ("/el:yes/plain/http://h/a.jpg", "enlarge"),
            ("/f:bmp/plain/http://h/a.jpg", "format"),
            ("/plain/http://h/a.jpg@tiff", "format"),
            ("/pr:nope/plain/http://h/a.jpg", "preset"),
            ("/kcr:2/plain/http://h/a.jpg", "keep_copyright"),
        ] {
            let err = parse(path).unwrap_err();
            assert!(
                err.to_string().contains(&format!("{name:?}")),
                "{path}: {err}"
            );
        }
        assert_eq!(
            parse("/nope:1/plain/http://h/a.jpg"),
            Err(Error::Unknown("nope".into()))
        );
        assert!(matches!(
            parse("/plain/local:///a/../b.jpg"),
            Err(Error::Path(_))
        ));
        assert!(parse("/plain/ftp://h/a.jpg").is_err());
    }

    #[test]
    fn crops_extends_and_offsets() {
        use crate::options::spec::{Anchor, Crop, Length};
        let s = parse("/c:0.5:100:sm/ex:1:soea:5:6/g:nowe:10:0.25/plain/http://h/a.jpg")
            .unwrap()
            .request
            .spec;
        assert_eq!(
            s.crop,
            Some(Crop::Anchored {
                width: Length::Fraction(0.5),
                height: Length::Pixels(100),
                anchor: Some(Anchor {
                    gravity: Gravity::Attention,
                    offset: (0.0, 0.0)
                }),
            })
        );
        assert_eq!(
            s.sizing.extend,
            Some(Anchor {
                gravity: Gravity::SouthEast,
                offset: (5.0, 6.0)
            })
        );
        assert_eq!(
            (s.gravity, s.gravity_offset),
            (Gravity::NorthWest, (10.0, 0.25))
        );
        assert!(parse("/ex:1:sm/plain/http://h/a.jpg").is_err());
        // Go's booleans, as imgproxy reads them.
        assert!(
            parse("/el:True/plain/http://h/a.jpg")
                .unwrap()
                .request
                .spec
                .enlarge
        );
    }

    #[test]
    fn presets_and_defaults() {
        let mut d = Dialect::new(vec![Format::Avif, Format::Webp], false);
        d.add_preset("default", "q:70").unwrap();
        d.add_preset("thumb", "rs:fill:200:200").unwrap();
        let r = d.parse("/pr:thumb/w:100/plain/http://h/a.jpg").unwrap();
        assert_eq!(r.request.spec.width, Some(100));
        assert_eq!(r.request.spec.height, Some(200));
        assert_eq!(r.request.spec.quality, Some(70));
        assert_eq!(
            r.request.spec.format,
            FormatChoice::Preferred([Some(Format::Avif), Some(Format::Webp)])
        );
        assert!(d.add_preset("x", "exp:1").is_err());
        assert!(d.add_preset("y", "wm:1").is_err(), "no default watermark");
        assert_eq!(Dialect::expiry("/exp:123/plain/x"), Some(123));
    }
}
