//! `trim`: the part of the image inside a uniform border, the border being what differs
//! from the top-left pixel by at most the threshold.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::{Rect, Trim};

/// The box inside the border of `frame`; the whole frame when it is all border.
pub(in crate::imaging) fn find(frame: &VipsImage, trim: Trim) -> rs_vips::Result<Rect> {
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
    let background = match trim.colour {
        Some(c) => vec![f64::from(c.r), f64::from(c.g), f64::from(c.b)],
        None => opaque.getpoint(0, 0)?,
    };
    let (left, top, width, height) = opaque.find_trim_with_opts(
        VOption::new()
            .set("threshold", f64::from(trim.threshold))
            .set("background", background.as_slice()),
    )?;
    if width <= 0 || height <= 0 {
        return Ok(whole);
    }
    let (mut x, mut y, mut w, mut h) = (left as u32, top as u32, width as u32, height as u32);
    // Equal sides: the smaller of the two cuts, from both.
    if trim.equal_horizontal {
        let cut = x.min(whole.width - x - w);
        (x, w) = (cut, whole.width - 2 * cut);
    }
    if trim.equal_vertical {
        let cut = y.min(whole.height - y - h);
        (y, h) = (cut, whole.height - 2 * cut);
    }
    Ok(Rect {
        x,
        y,
        width: w,
        height: h,
    })
}
