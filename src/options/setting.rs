//! One transform option at a time: its value parsed and checked into a [`Setting`], and
//! settings applied in order to build a [`TransformSpec`] — the same for a URL's options
//! and a preset's.

use super::catalog::Catalog;
use super::spec::{
    Anchor, Crop, Fit, Flip, Format, FormatChoice, Gravity, Length, Obscure, Placement, Rgba,
    Rotation, Sides, TransformSpec, Trim,
};
use super::values::{flag, float_in, int_in, parse_filename};
use super::{invalid, Error};

/// One transform option, parsed and checked: what a URL or a preset sets.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Setting {
    Width(u32),
    Height(u32),
    Dpr(f64),
    Fit(Fit),
    Gravity(Gravity),
    FocalX(f64),
    FocalY(f64),
    Enlarge(bool),
    Format(FormatChoice),
    Quality(u8),
    Background(Rgba),
    Rotate(Rotation),
    Blur(f64),
    Sharpen(f64),
    Meta(bool),
    Page(u32),
    Filename(String),
    Download(bool),
    Flip(Flip),
    Trim(u8),
    Crop(Crop),
    Pixelate(u32),
    Faces(Obscure),
    Pad(Sides),
    WmImage(String),
    WmText(String),
    WmPlacement(Placement),
    WmOpacity(f64),
    WmScale(f64),
    WmMargin(u32),
    WmColour(Rgba),
    MaxBytes(u32),
    // What only imgproxy's dialect sets (API.md §8).
    NoWidth,
    NoHeight,
    Anchor(Anchor),
    MinWidth(u32),
    MinHeight(u32),
    Zoom(f64, f64),
    Extend(Option<Anchor>),
    ExtendAspect(Option<Anchor>),
    TrimWith(Trim),
    IgnoreOrientation(bool),
    FormatQuality(Format, u8),
    WmMargins(u32, u32),
    PassThrough(Vec<Format>),
    KeepCopyright(bool),
}

/// A `/transform` option's value; `None` when `name` is not a transform option.
pub(super) fn parse_setting(
    name: &str,
    v: &str,
    catalog: &Catalog,
) -> Result<Option<Setting>, Error> {
    use Setting as S;
    Ok(Some(match name {
        "w" => S::Width(int_in("w", v, 1, 8192)?),
        "h" => S::Height(int_in("h", v, 1, 8192)?),
        "dpr" => S::Dpr(float_in("dpr", v, 1.0, 4.0)?),
        "fit" => S::Fit(parse_fit(v)?),
        "g" => S::Gravity(parse_gravity(v)?),
        "fx" => S::FocalX(float_in("fx", v, 0.0, 1.0)?),
        "fy" => S::FocalY(float_in("fy", v, 0.0, 1.0)?),
        "enlarge" => S::Enlarge(flag("enlarge", v)?),
        "fm" => S::Format(parse_format(v)?),
        "q" => S::Quality(int_in("q", v, 1, 100)? as u8),
        "bg" => S::Background(parse_colour("bg", v, &[3, 6, 8])?),
        "rot" => S::Rotate(parse_rotation(v)?),
        "blur" => S::Blur(float_in("blur", v, 0.3, 100.0)?),
        "sharpen" => S::Sharpen(float_in("sharpen", v, 0.3, 10.0)?),
        "meta" => S::Meta(flag("meta", v)?),
        "page" => S::Page(int_in("page", v, 0, 1000)?),
        "filename" => S::Filename(parse_filename(v)?),
        "dl" => S::Download(flag("dl", v)?),
        "flip" => S::Flip(parse_flip(v)?),
        "trim" => S::Trim(int_in("trim", v, 1, 100)? as u8),
        "crop" => S::Crop(parse_crop(v)?),
        "pixelate" => S::Pixelate(int_in("pixelate", v, 2, 256)?),
        "faces" => S::Faces(parse_obscure(v)?),
        "pad" => S::Pad(parse_pad(v)?),
        "wm" if catalog.has_watermark(v) => S::WmImage(v.to_owned()),
        "wm" => return Err(invalid("wm", format!("unknown watermark {v:?}"))),
        "wm_text" => S::WmText(parse_text(v)?),
        "wm_pos" => S::WmPlacement(parse_placement(v)?),
        "wm_opacity" => S::WmOpacity(float_in("wm_opacity", v, 0.0, 1.0)?),
        "wm_scale" => S::WmScale(float_in("wm_scale", v, 0.01, 1.0)?),
        "wm_margin" => S::WmMargin(int_in("wm_margin", v, 0, 1000)?),
        "wm_color" => S::WmColour(parse_colour("wm_color", v, &[6])?),
        "max_bytes" => S::MaxBytes(int_in("max_bytes", v, 1024, 52_428_800)?),
        _ => return Ok(None),
    }))
}

impl Setting {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Width(_) => "w",
            Self::Height(_) => "h",
            Self::Dpr(_) => "dpr",
            Self::Fit(_) => "fit",
            Self::Gravity(_) => "g",
            Self::FocalX(_) => "fx",
            Self::FocalY(_) => "fy",
            Self::Enlarge(_) => "enlarge",
            Self::Format(_) => "fm",
            Self::Quality(_) => "q",
            Self::Background(_) => "bg",
            Self::Rotate(_) => "rot",
            Self::Blur(_) => "blur",
            Self::Sharpen(_) => "sharpen",
            Self::Meta(_) => "meta",
            Self::Page(_) => "page",
            Self::Filename(_) => "filename",
            Self::Download(_) => "dl",
            Self::Flip(_) => "flip",
            Self::Trim(_) => "trim",
            Self::Crop(_) => "crop",
            Self::Pixelate(_) => "pixelate",
            Self::Faces(_) => "faces",
            Self::Pad(_) => "pad",
            Self::WmImage(_) => "wm",
            Self::WmText(_) => "wm_text",
            Self::WmPlacement(_) => "wm_pos",
            Self::WmOpacity(_) => "wm_opacity",
            Self::WmScale(_) => "wm_scale",
            Self::WmMargin(_) => "wm_margin",
            Self::WmColour(_) => "wm_color",
            Self::MaxBytes(_) => "max_bytes",
            Self::NoWidth => "width",
            Self::NoHeight => "height",
            Self::Anchor(_) => "gravity",
            Self::MinWidth(_) => "min-width",
            Self::MinHeight(_) => "min-height",
            Self::Zoom(..) => "zoom",
            Self::Extend(_) => "extend",
            Self::ExtendAspect(_) => "extend_aspect_ratio",
            Self::TrimWith(_) => "trim",
            Self::IgnoreOrientation(_) => "auto_rotate",
            Self::FormatQuality(..) => "format_quality",
            Self::WmMargins(..) => "watermark",
            Self::PassThrough(_) => "skip_processing",
            Self::KeepCopyright(_) => "keep_copyright",
        }
    }

    /// What a URL may still choose under `FERROTYPE_ONLY_PRESETS` (with `preset`, `v`, `exp`).
    pub(super) fn allowed_with_only_presets(&self) -> bool {
        matches!(self, Self::Filename(_) | Self::Download(_))
    }
}

/// A spec being built from settings, later ones overriding earlier ones.
pub(super) struct Draft {
    spec: TransformSpec,
    focal: (Option<f64>, Option<f64>),
}

impl Default for Draft {
    fn default() -> Self {
        Self {
            spec: TransformSpec {
                dpr: 1.0,
                ..TransformSpec::default()
            },
            focal: (None, None),
        }
    }
}

impl Draft {
    pub(super) fn apply(&mut self, setting: Setting) {
        let s = &mut self.spec;
        let wm = &mut s.watermark;
        match setting {
            Setting::Width(v) => s.width = Some(v),
            Setting::Height(v) => s.height = Some(v),
            Setting::Dpr(v) => s.dpr = v,
            Setting::Fit(v) => s.fit = v,
            Setting::Gravity(v) => s.gravity = v,
            Setting::FocalX(v) => self.focal.0 = Some(v),
            Setting::FocalY(v) => self.focal.1 = Some(v),
            Setting::Enlarge(v) => s.enlarge = v,
            Setting::Format(v) => s.format = v,
            Setting::Quality(v) => s.quality = Some(v),
            Setting::Background(v) => s.background = v,
            Setting::Rotate(v) => s.rotate = v,
            Setting::Blur(v) => s.blur = Some(v),
            Setting::Sharpen(v) => s.sharpen = Some(v),
            Setting::Meta(v) => s.keep_metadata = v,
            Setting::Page(v) => s.page = Some(v),
            Setting::Filename(v) => s.filename = Some(v),
            Setting::Download(v) => s.download = v,
            Setting::Flip(v) => s.flip = v,
            Setting::Trim(v) => s.trim = Some(Trim::threshold(v)),
            Setting::Crop(v) => s.crop = Some(v),
            Setting::Pixelate(v) => s.pixelate = Some(v),
            Setting::Faces(v) => s.faces = Some(v),
            Setting::Pad(v) => s.pad = Some(v),
            Setting::WmImage(v) => wm.image = Some(v),
            Setting::WmText(v) => wm.text = Some(v),
            Setting::WmPlacement(v) => wm.placement = v,
            Setting::WmOpacity(v) => wm.opacity = v,
            Setting::WmScale(v) => wm.scale = Some(v),
            Setting::WmMargin(v) => wm.margin = (v, v),
            Setting::WmColour(v) => wm.colour = v,
            Setting::MaxBytes(v) => s.max_bytes = Some(v),
            Setting::NoWidth => s.width = None,
            Setting::NoHeight => s.height = None,
            Setting::Anchor(a) => {
                s.gravity = a.gravity;
                s.gravity_offset = a.offset;
                self.focal = (None, None);
            }
            Setting::MinWidth(v) => s.sizing.min.0 = Some(v),
            Setting::MinHeight(v) => s.sizing.min.1 = Some(v),
            Setting::Zoom(x, y) => s.sizing.zoom = (x, y),
            Setting::Extend(v) => s.sizing.extend = v,
            Setting::ExtendAspect(v) => s.sizing.extend_aspect = v,
            Setting::TrimWith(v) => s.trim = Some(v),
            Setting::IgnoreOrientation(v) => s.ignore_orientation = v,
            Setting::FormatQuality(f, q) => {
                s.format_quality.retain(|(g, _)| *g != f);
                s.format_quality.push((f, q));
            }
            Setting::WmMargins(x, y) => wm.margin = (x, y),
            Setting::PassThrough(v) => s.pass_through = v,
            Setting::KeepCopyright(v) => s.keep_copyright = v,
        }
    }

    pub(super) fn finish(self) -> TransformSpec {
        let mut spec = self.spec;
        if self.focal != (None, None) {
            spec.gravity = Gravity::Focal {
                x: self.focal.0.unwrap_or(0.5),
                y: self.focal.1.unwrap_or(0.5),
            };
        }
        spec
    }
}

fn parse_obscure(v: &str) -> Result<Obscure, Error> {
    match v {
        "blur" => Ok(Obscure::Blur),
        "pixelate" => Ok(Obscure::Pixelate),
        _ => Err(invalid(
            "faces",
            format!("expected blur or pixelate, got {v:?}"),
        )),
    }
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
    match v {
        "attention" => Ok(Gravity::Attention),
        "entropy" => Ok(Gravity::Entropy),
        "face" => Ok(Gravity::Face),
        _ => Gravity::named(v).ok_or_else(|| {
            invalid(
                "g",
                format!(
                    "expected center, n, s, e, w, ne, nw, se, sw, attention, entropy or face, got {v:?}"
                ),
            )
        }),
    }
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

/// `digits` hex digits: RGB in 3 or 6, RGBA in 8.
pub(super) fn parse_colour(name: &'static str, v: &str, digits: &[usize]) -> Result<Rgba, Error> {
    let bad = || {
        let counts: Vec<String> = digits.iter().map(usize::to_string).collect();
        invalid(
            name,
            format!("expected {} hex digits, got {v:?}", counts.join(", ")),
        )
    };
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) || !digits.contains(&v.len()) {
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
        _ => Rgba {
            r: byte(0)?,
            g: byte(2)?,
            b: byte(4)?,
            a: if v.len() == 8 { byte(6)? } else { 255 },
        },
    })
}

fn parse_flip(v: &str) -> Result<Flip, Error> {
    let (horizontal, vertical) = match v {
        "h" => (true, false),
        "v" => (false, true),
        "hv" => (true, true),
        _ => return Err(invalid("flip", format!("expected h, v or hv, got {v:?}"))),
    };
    Ok(Flip {
        horizontal,
        vertical,
    })
}

/// `x,y,w,h`: whole numbers are pixels, numbers with a decimal point fractions.
fn parse_crop(v: &str) -> Result<Crop, Error> {
    let bad = |why: String| invalid("crop", why);
    let parts: Vec<&str> = v.split(',').collect();
    let [x, y, w, h] = parts.as_slice() else {
        return Err(bad(format!("expected x,y,w,h, got {v:?}")));
    };
    let length = |p: &str| -> Result<Length, Error> {
        if p.contains('.') {
            let f: f64 = p
                .parse()
                .ok()
                .filter(|f: &f64| (0.0..=1.0).contains(f))
                .ok_or_else(|| bad(format!("{p:?} is not a fraction 0.0–1.0")))?;
            Ok(Length::Fraction(f))
        } else {
            p.parse::<u32>()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .map(Length::Pixels)
                .ok_or_else(|| bad(format!("{p:?} is not a whole number of pixels 0–1000000")))
        }
    };
    let crop = Crop::Region {
        x: length(x)?,
        y: length(y)?,
        width: length(w)?,
        height: length(h)?,
    };
    let empty = |l: &Length| match l {
        Length::Pixels(p) => *p == 0,
        Length::Fraction(f) => *f == 0.0,
    };
    if [w, h].iter().any(|p| length(p).is_ok_and(|l| empty(&l))) {
        return Err(bad("the width and height must not be 0".into()));
    }
    Ok(crop)
}

/// CSS's shorthand order: one value for all sides, two for vertical/horizontal, three
/// for top/horizontal/bottom, four for top, right, bottom, left.
fn parse_pad(v: &str) -> Result<Sides, Error> {
    let values: Vec<u32> = v
        .split(',')
        .map(|p| int_in("pad", p, 0, 1000))
        .collect::<Result<_, _>>()?;
    let (top, right, bottom, left) = match values.as_slice() {
        [a] => (*a, *a, *a, *a),
        [v, h] => (*v, *h, *v, *h),
        [t, h, b] => (*t, *h, *b, *h),
        [t, r, b, l] => (*t, *r, *b, *l),
        _ => return Err(invalid("pad", format!("expected 1 to 4 values, got {v:?}"))),
    };
    Ok(Sides {
        top,
        right,
        bottom,
        left,
    })
}

fn parse_text(v: &str) -> Result<String, Error> {
    let n = v.chars().count();
    if !(1..=200).contains(&n) {
        return Err(invalid(
            "wm_text",
            format!("expected 1–200 characters, got {n}"),
        ));
    }
    Ok(v.to_owned())
}

fn parse_placement(v: &str) -> Result<Placement, Error> {
    match v {
        "tile" => Ok(Placement::Tile),
        _ => Gravity::named(v).map(Placement::At).ok_or_else(|| {
            invalid(
                "wm_pos",
                format!("expected center, n, s, e, w, ne, nw, se, sw or tile, got {v:?}"),
            )
        }),
    }
}
