//! Colour: embedded ICC profiles honoured, everything to 8-bit sRGB (CMYK without a
//! profile through libvips' built-in CMYK profile), and alpha flattened onto `bg` for JPEG.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use crate::imaging::header::{has_field, PROFILE};
use crate::options::{Format, Rgba};

/// `img` converted to sRGB through its embedded ICC profile, or `profile` when given (the
/// fast JPEG path's pixels come without their metadata). A profile lcms cannot use is
/// ignored, as browsers do.
pub(in crate::imaging) fn embedded_to_srgb(
    img: VipsImage,
    profile: Option<&[u8]>,
) -> rs_vips::Result<VipsImage> {
    let mut img = img;
    if let Some(p) = profile {
        img = img.copy()?;
        img.set_blob_copy(PROFILE, p)?;
    }
    if !has_field(&img, PROFILE) {
        return Ok(img);
    }
    match img.icc_transform_with_opts("srgb", VOption::new().set("embedded", true)) {
        Ok(converted) => Ok(converted),
        Err(e) => {
            tracing::debug!(error = %e, "embedded ICC profile ignored");
            Ok(img)
        }
    }
}

/// Converts to 8-bit sRGB (keeping alpha) whatever the colour space and depth.
pub(in crate::imaging) fn to_srgb(img: VipsImage) -> rs_vips::Result<VipsImage> {
    let interpretation = img.get_interpretation()?;
    let eight_bit = img.get_format()? == enums::BandFormat::Uchar;
    if interpretation == enums::Interpretation::Srgb && eight_bit {
        return Ok(img);
    }
    img.colourspace(enums::Interpretation::Srgb)
}

/// 8-bit sRGB without alpha (flattened on white): what the analyses read.
pub(in crate::imaging) fn opaque_srgb8(img: VipsImage) -> rs_vips::Result<VipsImage> {
    let img = to_srgb(img)?;
    let img = if img.hasalpha() {
        img.flatten_with_opts(VOption::new().set("background", &[255.0, 255.0, 255.0][..]))?
    } else {
        img
    };
    img.cast(enums::BandFormat::Uchar)
}

/// Alpha flattened onto `bg` when `format` has none.
pub(in crate::imaging) fn flatten_for(
    img: VipsImage,
    format: Format,
    bg: Rgba,
) -> rs_vips::Result<VipsImage> {
    if format != Format::Jpeg || !img.hasalpha() {
        return Ok(img);
    }
    let colour = [f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
    img.flatten_with_opts(VOption::new().set("background", &colour[..]))
}
