//! Colour: everything to 8-bit sRGB, and alpha flattened onto `bg` for JPEG.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use crate::options::{Format, Rgba};

/// Converts to 8-bit sRGB (keeping alpha) whatever the colour space and depth.
pub(in crate::imaging) fn to_srgb(img: VipsImage) -> rs_vips::Result<VipsImage> {
    let interpretation = img.get_interpretation()?;
    let eight_bit = img.get_format()? == enums::BandFormat::Uchar;
    if interpretation == enums::Interpretation::Srgb && eight_bit {
        return Ok(img);
    }
    img.colourspace(enums::Interpretation::Srgb)
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
