//! `pad`: `bg` added around the result.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use super::background;
use crate::options::{Format, Rgba, Sides};

pub(in crate::imaging) fn pad(
    frame: &VipsImage,
    sides: Sides,
    bg: Rgba,
    format: Format,
) -> rs_vips::Result<VipsImage> {
    if sides == Sides::default() {
        return frame.copy();
    }
    let (img, colour) = background(frame, bg, format)?;
    let width = img.get_width() + (sides.left + sides.right) as i32;
    let height = img.get_height() + (sides.top + sides.bottom) as i32;
    img.embed_with_opts(
        sides.left as i32,
        sides.top as i32,
        width,
        height,
        VOption::new()
            .set("extend", "background")
            .set("background", colour.as_slice()),
    )
}
