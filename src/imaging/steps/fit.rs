//! The resized image brought to the canvas: cut where the canvas is smaller (`cover`'s
//! crop, by gravity and offset, focal point, faces or libvips' smart crops), then placed in it
//! where it is larger (`contain`'s letterbox, imgproxy's `extend`).

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use super::background;
use crate::imaging::faces::Located;
use crate::imaging::plan::Plan;
use crate::options::{Format, Gravity, TransformSpec};

/// `frame` (the planned resized size) cut and placed to the plan's canvas.
pub(in crate::imaging) fn fit(
    frame: &VipsImage,
    plan: &Plan,
    spec: &TransformSpec,
    format: Format,
    faces: &Located,
) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width() as u32, frame.get_height() as u32);
    let (cw, ch) = plan.canvas;
    let part = (cw.min(w), ch.min(h));
    let cut = if part == (w, h) {
        frame.copy()?
    } else {
        crop(frame, part, spec, faces)?
    };
    if part == (cw, ch) {
        return Ok(cut);
    }
    let (img, colour) = background(&cut, spec.background, format)?;
    let (x, y) = plan.place.place((cw, ch), part);
    img.embed_with_opts(
        x as i32,
        y as i32,
        cw as i32,
        ch as i32,
        VOption::new()
            .set("extend", "background")
            .set("background", colour.as_slice()),
    )
}

fn crop(
    img: &VipsImage,
    (cw, ch): (u32, u32),
    spec: &TransformSpec,
    faces: &Located,
) -> rs_vips::Result<VipsImage> {
    let whole = (img.get_width() as u32, img.get_height() as u32);
    let anchor = faces.anchor(spec.anchor(), whole, (cw, ch));
    let interesting = match anchor.gravity {
        Gravity::Attention => Some("attention"),
        Gravity::Entropy => Some("entropy"),
        _ => None,
    };
    if let Some(how) = interesting {
        return img.smartcrop_with_opts(
            cw as i32,
            ch as i32,
            VOption::new().set("interesting", how),
        );
    }
    let (x, y) = anchor.place(whole, (cw, ch));
    img.extract_area(x as i32, y as i32, cw as i32, ch as i32)
}
