//! The resized image brought to the box: `cover`'s crop (by gravity, focal point or
//! libvips' smart crops) and `contain`'s letterbox.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::background;
use crate::options::{Fit, Format, Gravity, TransformSpec};

/// `frame` (the planned resized size) cut or letterboxed to `canvas`.
pub(in crate::imaging) fn fit(
    frame: &VipsImage,
    canvas: (u32, u32),
    spec: &TransformSpec,
    format: Format,
) -> rs_vips::Result<VipsImage> {
    if (frame.get_width() as u32, frame.get_height() as u32) == canvas {
        return frame.copy();
    }
    match spec.fit {
        Fit::Contain => letterbox(frame, canvas, spec, format),
        _ => crop(frame, canvas, spec.gravity),
    }
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
    spec: &TransformSpec,
    format: Format,
) -> rs_vips::Result<VipsImage> {
    let (img, colour) = background(img, spec.background, format)?;
    img.gravity_with_opts(
        enums::CompassDirection::Centre,
        cw as i32,
        ch as i32,
        VOption::new()
            .set("extend", "background")
            .set("background", colour.as_slice()),
    )
}
