//! One imgproxy processing option (`name:arg:arg…`, long or short name) into typed
//! settings, with imgproxy's meanings and defaults (API.md §8). An empty argument keeps
//! the default; errors name the option by its long name.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::options::setting::{parse_colour, Setting};
use crate::options::spec::{
    Anchor, Crop, Fit, Flip, Format, FormatChoice, Gravity, Length, Obscure, Placement, Rotation,
    Sides, Trim,
};
use crate::options::values::{parse_filename, parse_version};
use crate::options::{invalid, Error};

/// What an option asks for beyond the spec.
#[derive(Debug, PartialEq)]
pub(super) enum Parsed {
    Settings(Vec<Setting>),
    Presets(Vec<String>),
    Expires(u64),
    CacheBuster(String),
}

/// The option's long name, from any of its names; `None` when unknown.
fn long_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "resize" | "rs" => "resize",
        "size" | "s" => "size",
        "resizing_type" | "rt" => "resizing_type",
        "width" | "w" => "width",
        "height" | "h" => "height",
        "min-width" | "min_width" | "mw" => "min-width",
        "min-height" | "min_height" | "mh" => "min-height",
        "zoom" | "z" => "zoom",
        "dpr" => "dpr",
        "enlarge" | "el" => "enlarge",
        "extend" | "ex" => "extend",
        "extend_aspect_ratio" | "extend_ar" | "exar" => "extend_aspect_ratio",
        "gravity" | "g" => "gravity",
        "crop" | "c" => "crop",
        "trim" | "t" => "trim",
        "padding" | "pd" => "padding",
        "auto_rotate" | "ar" => "auto_rotate",
        "rotate" | "rot" => "rotate",
        "flip" | "fl" => "flip",
        "background" | "bg" => "background",
        "blur" | "bl" => "blur",
        "sharpen" | "sh" => "sharpen",
        "pixelate" | "pix" => "pixelate",
        "blur_detections" | "bd" => "blur_detections",
        "watermark" | "wm" => "watermark",
        "strip_metadata" | "sm" => "strip_metadata",
        "keep_copyright" | "kcr" => "keep_copyright",
        "strip_color_profile" | "scp" => "strip_color_profile",
        "quality" | "q" => "quality",
        "format_quality" | "fq" => "format_quality",
        "max_bytes" | "mb" => "max_bytes",
        "format" | "f" | "ext" => "format",
        "skip_processing" | "skp" => "skip_processing",
        "raw" => "raw",
        "cachebuster" | "cb" => "cachebuster",
        "expires" | "exp" => "expires",
        "filename" | "fn" => "filename",
        "return_attachment" | "att" => "return_attachment",
        "preset" | "pr" => "preset",
        _ => return None,
    })
}

/// The options of exactly one argument.
const SINGLE: &[&str] = &[
    "resizing_type",
    "width",
    "height",
    "min-width",
    "min-height",
    "dpr",
    "enlarge",
    "auto_rotate",
    "rotate",
    "blur",
    "sharpen",
    "pixelate",
    "strip_metadata",
    "keep_copyright",
    "strip_color_profile",
    "quality",
    "max_bytes",
    "format",
    "raw",
    "cachebuster",
    "expires",
    "return_attachment",
];

/// Parses one `name:args` segment.
pub(super) fn parse(segment: &str, has_watermark: bool) -> Result<Parsed, Error> {
    let mut parts = segment.split(':');
    let raw_name = parts.next().unwrap_or("");
    let name = long_name(raw_name).ok_or_else(|| Error::Unknown(raw_name.to_owned()))?;
    let args: Vec<&str> = parts.collect();
    let a = Args { name, args: &args };
    if SINGLE.contains(&name) {
        a.between(1, 1)?;
    }
    use Setting as S;
    let one = |s: Setting| Ok(Parsed::Settings(vec![s]));
    match name {
        "resize" => {
            a.at_most(5 + 3)?;
            let mut out = Vec::new();
            if let Some(v) = a.get(0) {
                out.push(S::Fit(resizing_type(name, v)?));
            }
            out.extend(size(&a, 1)?);
            Ok(Parsed::Settings(out))
        }
        "size" => {
            a.at_most(4 + 3)?;
            Ok(Parsed::Settings(size(&a, 0)?))
        }
        "resizing_type" => one(S::Fit(resizing_type(name, a.only()?)?)),
        "width" => one(dimension(true, a.whole(0, 0, 8192)?)),
        "height" => one(dimension(false, a.whole(0, 0, 8192)?)),
        "min-width" => one(S::MinWidth(a.whole(0, 0, 8192)?)),
        "min-height" => one(S::MinHeight(a.whole(0, 0, 8192)?)),
        "zoom" => {
            a.between(1, 2)?;
            let x = a.number(0, 0.01, 8.0)?;
            let y = if a.args.len() == 2 {
                a.number(1, 0.01, 8.0)?
            } else {
                x
            };
            one(S::Zoom(x, y))
        }
        "dpr" => one(S::Dpr(a.number(0, 0.1, 8.0)?)),
        "enlarge" => one(S::Enlarge(a.flag(0)?)),
        "extend" => one(S::Extend(extend(&a, 0)?)),
        "extend_aspect_ratio" => one(S::ExtendAspect(extend(&a, 0)?)),
        "gravity" => one(S::Anchor(anchor(&a, 0, true)?)),
        "crop" => {
            a.between(1, 2 + 3)?;
            let side = |i: usize| -> Result<Length, Error> {
                let v = a.number_or(i, 0.0, 0.0, 100_000.0)?;
                Ok(if v == 0.0 {
                    Length::Fraction(1.0)
                } else if v < 1.0 {
                    Length::Fraction(v)
                } else {
                    Length::Pixels(v.round() as u32)
                })
            };
            // `sm` is allowed, as in imgproxy; a crop's smart gravity takes the centre.
            let anchor = (a.args.len() > 2)
                .then(|| anchor(&a, 2, true))
                .transpose()?;
            one(S::Crop(Crop::Anchored {
                width: side(0)?,
                height: side(1)?,
                anchor,
            }))
        }
        "trim" => {
            a.between(1, 4)?;
            let threshold = a.number(0, 0.0, 255.0)?.round() as u8;
            let colour = a
                .get(1)
                .map(|c| parse_colour(name, c, &[3, 6]))
                .transpose()?;
            one(S::TrimWith(Trim {
                threshold: threshold.max(1),
                colour,
                equal_horizontal: a.flag_or(2, false)?,
                equal_vertical: a.flag_or(3, false)?,
            }))
        }
        "padding" => {
            a.between(1, 4)?;
            let side = |i: usize| a.get(i).map(|_| a.whole(i, 0, 1000)).transpose();
            let top = side(0)?.unwrap_or(0);
            let right = side(1)?.unwrap_or(top);
            let bottom = side(2)?.unwrap_or(top);
            let left = side(3)?.unwrap_or(right);
            let sides = Sides {
                top,
                right,
                bottom,
                left,
            };
            one(S::Pad(sides))
        }
        "auto_rotate" => one(S::IgnoreOrientation(!a.flag(0)?)),
        "rotate" => {
            let angle: i64 = a.integer(0)?;
            let rotation = match angle.rem_euclid(360) {
                0 => Rotation::R0,
                90 => Rotation::R90,
                180 => Rotation::R180,
                270 => Rotation::R270,
                _ => return Err(a.bad("expected a multiple of 90")),
            };
            one(S::Rotate(rotation))
        }
        "flip" => {
            a.between(1, 2)?;
            one(S::Flip(Flip {
                horizontal: a.flag_or(0, false)?,
                vertical: a.flag_or(1, false)?,
            }))
        }
        "background" => {
            let colour = match a.args {
                [] | [""] => Default::default(),
                [hex] => parse_colour(name, hex, &[3, 6])?,
                [r, g, b] => {
                    let c = |v: &str| -> Result<u8, Error> {
                        v.parse().map_err(|_| a.bad("expected R:G:B of 0–255"))
                    };
                    crate::options::Rgba {
                        r: c(r)?,
                        g: c(g)?,
                        b: c(b)?,
                        a: 255,
                    }
                }
                _ => return Err(a.bad("expected R:G:B or a hex colour")),
            };
            one(S::Background(colour))
        }
        "blur" => one(S::Blur(a.number(0, 0.3, 100.0)?)),
        "sharpen" => one(S::Sharpen(a.number(0, 0.3, 10.0)?)),
        "pixelate" => one(S::Pixelate(a.whole(0, 2, 256)?)),
        "blur_detections" => {
            // imgproxy Pro's `bd:sigma:classes`: faces are the class ferrotype detects. The
            // sigma is checked but each face is blurred at a strength that follows its size
            // (a fixed sigma leaves large faces recognisable).
            a.number(0, 0.3, 100.0)?;
            a.faces_only(1)?;
            one(S::Faces(Obscure::Blur))
        }
        "watermark" => {
            a.between(1, 5)?;
            let opacity = a.number(0, 0.0, 1.0)?;
            if !has_watermark {
                return Err(a.bad("no watermark named \"default\" in FERROTYPE_WATERMARKS"));
            }
            let placement = match a.get(1).unwrap_or("ce") {
                "re" => Placement::Tile,
                other => Gravity::imgproxy_named(other)
                    .map(Placement::At)
                    .ok_or_else(|| a.bad(format!("unknown position {other:?}")))?,
            };
            let offset = |i: usize| -> Result<u32, Error> {
                Ok(a.number_or(i, 0.0, 0.0, 10_000.0)?.round() as u32)
            };
            let scale = a.number_or(4, 0.0, 0.0, 1.0)?;
            let mut out = vec![
                S::WmImage(super::WATERMARK.to_owned()),
                S::WmOpacity(opacity),
                S::WmPlacement(placement),
                S::WmMargins(offset(2)?, offset(3)?),
            ];
            if scale > 0.0 {
                out.push(S::WmScale(scale.max(0.01)));
            }
            Ok(Parsed::Settings(out))
        }
        "strip_metadata" => one(S::Meta(!a.flag(0)?)),
        "keep_copyright" => one(S::KeepCopyright(a.flag(0)?)),
        "strip_color_profile" => match a.flag(0)? {
            true => Ok(Parsed::Settings(Vec::new())),
            false => {
                Err(a
                    .bad("every output is converted to sRGB; keeping the profile is not supported"))
            }
        },
        "quality" => match a.whole(0, 0, 100)? {
            0 => Ok(Parsed::Settings(Vec::new())),
            q => one(S::Quality(q as u8)),
        },
        "format_quality" => {
            if a.args.is_empty() || a.args.len() % 2 != 0 {
                return Err(a.bad("expected format:quality pairs"));
            }
            let mut out = Vec::new();
            for i in (0..a.args.len()).step_by(2) {
                let format = format(name, a.args[i])?;
                out.push(S::FormatQuality(format, a.whole(i + 1, 1, 100)? as u8));
            }
            Ok(Parsed::Settings(out))
        }
        "max_bytes" => match a.whole(0, 0, 52_428_800)? {
            0 => Ok(Parsed::Settings(Vec::new())),
            n => one(S::MaxBytes(n)),
        },
        "format" => one(S::Format(FormatChoice::Fixed(format(name, a.only()?)?))),
        "skip_processing" => {
            let formats = a
                .args
                .iter()
                .filter(|f| !f.is_empty())
                .filter_map(|f| format(name, f).ok())
                .collect();
            one(S::PassThrough(formats))
        }
        "raw" => one(S::PassThrough(if a.flag(0)? {
            vec![
                Format::Jpeg,
                Format::Png,
                Format::Webp,
                Format::Avif,
                Format::Gif,
            ]
        } else {
            Vec::new()
        })),
        "cachebuster" => Ok(Parsed::CacheBuster(
            parse_version(a.only()?)
                .map_err(|_| a.bad("expected 1–64 characters of A-Z a-z 0-9 . _ -"))?,
        )),
        "expires" => Ok(Parsed::Expires(a.integer(0)?.max(0) as u64)),
        "filename" => {
            a.between(1, 2)?;
            let encoded = a.flag_or(1, false)?;
            let raw = a.args[0];
            let text = if encoded {
                let bytes = URL_SAFE_NO_PAD
                    .decode(raw.trim_end_matches('='))
                    .map_err(|_| a.bad("not base64url"))?;
                String::from_utf8(bytes).map_err(|_| a.bad("not UTF-8"))?
            } else {
                percent_encoding::percent_decode_str(raw)
                    .decode_utf8()
                    .map_err(|_| a.bad("not UTF-8"))?
                    .into_owned()
            };
            one(S::Filename(parse_filename(&text).map_err(|_| {
                a.bad("expected 1–255 characters, no control characters or slashes")
            })?))
        }
        "return_attachment" => one(S::Download(a.flag(0)?)),
        "preset" => Ok(Parsed::Presets(
            a.args
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| (*p).to_owned())
                .collect(),
        )),
        _ => Err(Error::Unknown(raw_name.to_owned())),
    }
}

/// `width:height:enlarge:extend:gravity…` from argument `from` (resize's and size's).
fn size(a: &Args, from: usize) -> Result<Vec<Setting>, Error> {
    let mut out = Vec::new();
    if a.get(from).is_some() {
        out.push(dimension(true, a.whole(from, 0, 8192)?));
    }
    if a.get(from + 1).is_some() {
        out.push(dimension(false, a.whole(from + 1, 0, 8192)?));
    }
    if a.get(from + 2).is_some() {
        out.push(Setting::Enlarge(a.flag(from + 2)?));
    }
    if a.get(from + 3).is_some() {
        out.push(Setting::Extend(extend(a, from + 3)?));
    }
    Ok(out)
}

/// A width (`horizontal`) or height; 0 is "not given": imgproxy computes it from the
/// other side.
fn dimension(horizontal: bool, v: u32) -> Setting {
    match (horizontal, v) {
        (true, 0) => Setting::NoWidth,
        (false, 0) => Setting::NoHeight,
        (true, v) => Setting::Width(v),
        (false, v) => Setting::Height(v),
    }
}

/// `extend:gravity:x:y` from argument `at`.
fn extend(a: &Args, at: usize) -> Result<Option<Anchor>, Error> {
    if !a.flag_or(at, false)? {
        return Ok(None);
    }
    if a.get(at + 1).is_none() {
        return Ok(Some(Anchor::default()));
    }
    anchor(a, at + 1, false).map(Some)
}

fn resizing_type(name: &'static str, v: &str) -> Result<Fit, Error> {
    Ok(match v {
        "fit" => Fit::Inside,
        "fill" => Fit::Cover,
        "fill-down" => Fit::CoverDown,
        "force" => Fit::Force,
        "auto" => Fit::Auto,
        _ => {
            return Err(invalid(
                name,
                format!("expected fit, fill, fill-down, force or auto, got {v:?}"),
            ))
        }
    })
}

/// An output format by imgproxy's name for it (`format`, `@ext`, `format_quality`, …).
pub(super) fn format(name: &'static str, v: &str) -> Result<Format, Error> {
    Ok(match v {
        "jpg" | "jpeg" => Format::Jpeg,
        "png" => Format::Png,
        "webp" => Format::Webp,
        "avif" => Format::Avif,
        "gif" => Format::Gif,
        _ => {
            return Err(invalid(
                name,
                format!("ferrotype writes jpg, png, webp, avif and gif, not {v:?}"),
            ))
        }
    })
}

/// `type:x:y` (or `fp:x:y`, `sm`, `obj:face`) from argument `at`; `smart` allows the
/// gravities that need the pixels.
fn anchor(a: &Args, at: usize, smart: bool) -> Result<Anchor, Error> {
    let kind = a.get(at).unwrap_or("ce");
    if let Some(gravity) = Gravity::imgproxy_named(kind) {
        a.at_most(at + 3)?;
        let offset = |i: usize| a.number_or(i, 0.0, -100_000.0, 100_000.0);
        return Ok(Anchor {
            gravity,
            offset: (offset(at + 1)?, offset(at + 2)?),
        });
    }
    let gravity = match kind {
        "fp" => {
            a.at_most(at + 3)?;
            Gravity::Focal {
                x: a.number(at + 1, 0.0, 1.0)?,
                y: a.number(at + 2, 0.0, 1.0)?,
            }
        }
        "sm" if smart => Gravity::Attention,
        // Faces are the one class of objects ferrotype detects.
        "obj" if smart => Gravity::Face,
        other => return Err(a.bad(format!("unknown gravity {other:?}"))),
    };
    if kind == "obj" {
        a.faces_only(at + 1)?;
    }
    Ok(Anchor {
        gravity,
        offset: (0.0, 0.0),
    })
}

/// An option's arguments, read with errors that name the option.
struct Args<'a> {
    name: &'static str,
    args: &'a [&'a str],
}

impl Args<'_> {
    fn bad(&self, why: impl Into<String>) -> Error {
        invalid(self.name, why)
    }

    /// Arguments from `from` on name object classes: faces are the one ferrotype detects.
    fn faces_only(&self, from: usize) -> Result<(), Error> {
        match self
            .args
            .get(from..)
            .unwrap_or_default()
            .iter()
            .find(|c| **c != "face")
        {
            Some(other) => Err(self.bad(format!("only the face class is detected, not {other:?}"))),
            None => Ok(()),
        }
    }

    /// Argument `i` unless it is missing or empty (which keep the default).
    fn get(&self, i: usize) -> Option<&str> {
        self.args.get(i).copied().filter(|v| !v.is_empty())
    }

    fn at_most(&self, n: usize) -> Result<(), Error> {
        if self.args.len() > n {
            return Err(self.bad(format!(
                "expected at most {n} arguments, got {}",
                self.args.len()
            )));
        }
        Ok(())
    }

    fn between(&self, min: usize, max: usize) -> Result<(), Error> {
        if self.args.len() < min {
            return Err(self.bad(format!("expected at least {min} arguments")));
        }
        self.at_most(max)
    }

    fn only(&self) -> Result<&str, Error> {
        self.between(1, 1)?;
        self.get(0).ok_or_else(|| self.bad("expected a value"))
    }

    fn required(&self, i: usize) -> Result<&str, Error> {
        self.get(i)
            .ok_or_else(|| self.bad(format!("argument {} is missing", i + 1)))
    }

    fn integer(&self, i: usize) -> Result<i64, Error> {
        let v = self.required(i)?;
        v.parse()
            .map_err(|_| self.bad(format!("expected a whole number, got {v:?}")))
    }

    fn whole(&self, i: usize, min: u32, max: u32) -> Result<u32, Error> {
        let v = self.required(i)?;
        let n: u32 = v
            .parse()
            .map_err(|_| self.bad(format!("expected a whole number {min}–{max}, got {v:?}")))?;
        if !(min..=max).contains(&n) {
            return Err(self.bad(format!("{n} is outside {min}–{max}")));
        }
        Ok(n)
    }

    fn number(&self, i: usize, min: f64, max: f64) -> Result<f64, Error> {
        let v = self.required(i)?;
        let n: f64 = v
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite())
            .ok_or_else(|| self.bad(format!("expected a number {min}–{max}, got {v:?}")))?;
        if !(min..=max).contains(&n) {
            return Err(self.bad(format!("{n} is outside {min}–{max}")));
        }
        Ok(n)
    }

    fn number_or(&self, i: usize, default: f64, min: f64, max: f64) -> Result<f64, Error> {
        match self.get(i) {
            Some(_) => self.number(i, min, max),
            None => Ok(default),
        }
    }

    /// imgproxy's booleans, as Go's `strconv.ParseBool` reads them (Python clients write
    /// `True`).
    fn flag(&self, i: usize) -> Result<bool, Error> {
        match self.required(i)? {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(self.bad(format!("expected 1, t, true, 0, f or false, got {other:?}"))),
        }
    }

    fn flag_or(&self, i: usize, default: bool) -> Result<bool, Error> {
        match self.get(i) {
            Some(_) => self.flag(i),
            None => Ok(default),
        }
    }
}
