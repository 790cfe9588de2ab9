//! The steps after the header: the shrink-on-load thumbnail, then rotation, crop or
//! letterbox, filters, colour, alpha and metadata, frame by frame for animations.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::header::field_names;
use super::plan::Plan;
use super::{corrupt, Error};
use crate::options::{Fit, Format, Gravity, Rgba, Rotation, TransformSpec};

pub(super) fn thumbnail(
    bytes: &[u8],
    plan: &Plan,
    page: Option<u32>,
    frames: u32,
) -> Result<VipsImage, Error> {
    let (w, h) = plan.thumbnail_size();
    let mut load = Vec::new();
    if let Some(p) = page {
        load.push(format!("page={p}"));
    }
    if frames > 1 {
        load.push(format!("n={frames}"));
    }
    let load = load.join(",");
    let mut opts = VOption::new()
        .set("height", h as i32)
        .set("size", "force")
        .set("fail-on", "error");
    if !load.is_empty() {
        opts = opts.set("option-string", load.as_str());
    }
    let img = VipsImage::thumbnail_buffer_with_opts(bytes, w as i32, opts).map_err(corrupt)?;
    // The thumbnail streams from the decoder and can be read once, top to bottom; rotation,
    // smart crops and frame splitting read it out of order. The resized image is small
    // (bounded by the pixel limit), so it is decoded into memory once, here.
    img.copy_memory().map_err(corrupt)
}

/// Everything after the resize: rotation, crop or letterbox, filters, colour, alpha, metadata.
pub(super) fn finish(
    img: VipsImage,
    plan: &Plan,
    spec: &TransformSpec,
    format: Format,
    frames: u32,
) -> Result<VipsImage, Error> {
    let img = to_srgb(img)?;
    let img = per_frame(&img, frames, |frame| {
        let mut f = match plan.rotate {
            Rotation::R0 => frame.copy(),
            Rotation::R90 => frame.rot(enums::Angle::D90),
            Rotation::R180 => frame.rot(enums::Angle::D180),
            Rotation::R270 => frame.rot(enums::Angle::D270),
        }?;
        if plan.canvas != plan.resized {
            f = match spec.fit {
                Fit::Contain => letterbox(&f, plan.canvas, spec.background, format)?,
                _ => crop(&f, plan.canvas, spec.gravity)?,
            };
        }
        if let Some(sigma) = spec.blur {
            f = f.gaussblur(sigma)?;
        }
        if let Some(sigma) = spec.sharpen {
            f = f.sharpen_with_opts(VOption::new().set("sigma", sigma))?;
        }
        Ok(f)
    })
    .map_err(corrupt)?;
    let img = if format == Format::Jpeg && img.hasalpha() {
        let bg = spec.background;
        let colour = [f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
        img.flatten_with_opts(VOption::new().set("background", &colour[..]))
            .map_err(corrupt)?
    } else {
        img
    };
    let mut img = img.copy().map_err(corrupt)?;
    if !spec.keep_metadata {
        // webpsave on libvips 8.14 ignores `strip` and rebuilds EXIF from the `exif-*`
        // fields, so every metadata field goes before any saver sees the image.
        for field in field_names(&img) {
            if STRIPPED_PREFIXES.iter().any(|p| field.starts_with(p)) {
                let _ = img.remove(&field);
            }
        }
    }
    Ok(img)
}

/// Metadata that `meta=0` removes: EXIF, XMP, IPTC, ICC (pixels are sRGB by then) and comments.
const STRIPPED_PREFIXES: &[&str] = &[
    "exif-",
    "xmp-",
    "iptc-",
    "icc-profile-",
    "png-comment-",
    "gif-comment",
];

/// Converts to 8-bit sRGB (keeping alpha) whatever the source's colour space and depth.
pub(super) fn to_srgb(img: VipsImage) -> Result<VipsImage, Error> {
    let interpretation = img.get_interpretation().map_err(corrupt)?;
    let eight_bit = img.get_format().map_err(corrupt)? == enums::BandFormat::Uchar;
    if interpretation == enums::Interpretation::Srgb && eight_bit {
        return Ok(img);
    }
    img.colourspace(enums::Interpretation::Srgb)
        .map_err(corrupt)
}

/// Applies `f` to each frame of an animation (stacked vertically by libvips), or to the image.
fn per_frame(
    img: &VipsImage,
    frames: u32,
    f: impl Fn(&VipsImage) -> rs_vips::Result<VipsImage>,
) -> rs_vips::Result<VipsImage> {
    if frames <= 1 {
        return f(img);
    }
    let page_height = img.get_page_height();
    let n = img.get_height() / page_height.max(1);
    let done: Vec<VipsImage> = (0..n)
        .map(|i| f(&img.extract_area(0, i * page_height, img.get_width(), page_height)?))
        .collect::<rs_vips::Result<_>>()?;
    let new_height = done.first().map_or(page_height, VipsImage::get_height);
    let joined = VipsImage::arrayjoin_with_opts(&done, VOption::new().set("across", 1))?;
    // Frames carry the animation's metadata (delays, loop count) from the source through
    // extract_area and arrayjoin; only the frame height changed.
    let mut out = joined.copy()?;
    out.set_int("page-height", new_height)?;
    Ok(out)
}

fn crop(img: &VipsImage, (cw, ch): (u32, u32), gravity: Gravity) -> rs_vips::Result<VipsImage> {
    let (w, h) = (img.get_width(), img.get_height());
    let (cw, ch) = ((cw as i32).min(w), (ch as i32).min(h));
    let interesting = match gravity {
        Gravity::Attention => Some("attention"),
        Gravity::Entropy => Some("entropy"),
        _ => None,
    };
    if let Some(how) = interesting {
        return img.smartcrop_with_opts(cw, ch, VOption::new().set("interesting", how));
    }
    let (spare_x, spare_y) = (f64::from(w - cw), f64::from(h - ch));
    let (left, top) = match gravity {
        Gravity::Focal { x, y } => (
            (x * f64::from(w) - f64::from(cw) / 2.0).clamp(0.0, spare_x),
            (y * f64::from(h) - f64::from(ch) / 2.0).clamp(0.0, spare_y),
        ),
        other => {
            let (gx, gy) = compass(other);
            (gx * spare_x, gy * spare_y)
        }
    };
    img.extract_area(left.round() as i32, top.round() as i32, cw, ch)
}

/// Where a compass gravity sits, as fractions of the spare width and height.
fn compass(g: Gravity) -> (f64, f64) {
    match g {
        Gravity::North => (0.5, 0.0),
        Gravity::South => (0.5, 1.0),
        Gravity::East => (1.0, 0.5),
        Gravity::West => (0.0, 0.5),
        Gravity::NorthEast => (1.0, 0.0),
        Gravity::NorthWest => (0.0, 0.0),
        Gravity::SouthEast => (1.0, 1.0),
        Gravity::SouthWest => (0.0, 1.0),
        _ => (0.5, 0.5),
    }
}

fn letterbox(
    img: &VipsImage,
    (cw, ch): (u32, u32),
    bg: Rgba,
    format: Format,
) -> rs_vips::Result<VipsImage> {
    let transparent_bg = bg.a < 255 && format != Format::Jpeg;
    let img = if transparent_bg && !img.hasalpha() {
        img.bandjoin_const(&[255.0])?
    } else {
        img.copy()?
    };
    let mut colour = vec![f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
    if img.hasalpha() {
        colour.push(if transparent_bg {
            f64::from(bg.a)
        } else {
            255.0
        });
    }
    img.gravity_with_opts(
        enums::CompassDirection::Centre,
        cw as i32,
        ch as i32,
        VOption::new()
            .set("extend", "background")
            .set("background", colour.as_slice()),
    )
}
