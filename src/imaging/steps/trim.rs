//! `trim`: the part of the image inside a uniform border, the border being what differs
//! from the top-left pixel by at most the threshold.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::Rect;

/// The box inside the border of `frame`; the whole frame when it is all border.
pub(in crate::imaging) fn find(frame: &VipsImage, threshold: u8) -> rs_vips::Result<Rect> {
    let whole = Rect {
        x: 0,
        y: 0,
        width: frame.get_width() as u32,
        height: frame.get_height() as u32,
    };
    // find_trim compares colours without alpha: a transparent border reads as white.
    let opaque = if frame.hasalpha() {
        frame.flatten_with_opts(VOption::new().set("background", &[255.0, 255.0, 255.0][..]))?
    } else {
        frame.copy()?
    };
    let corner = opaque.getpoint(0, 0)?;
    let (left, top, width, height) = opaque.find_trim_with_opts(
        VOption::new()
            .set("threshold", f64::from(threshold))
            .set("background", corner.as_slice()),
    )?;
    if width <= 0 || height <= 0 {
        return Ok(whole);
    }
    Ok(Rect {
        x: left as u32,
        y: top as u32,
        width: width as u32,
        height: height as u32,
    })
}
