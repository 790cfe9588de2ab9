//! `crop` (and `trim`'s box): the kept region cut from an image loaded at a fraction of
//! its size, then resized to exactly the planned size.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::Rect;

/// `region` (in pixels of the full-size image) cut from `img`, which is the full image
/// scaled by `scale` (per axis), and resized to `size`.
pub(in crate::imaging) fn cut(
    img: &VipsImage,
    region: Rect,
    scale: (f64, f64),
    size: (u32, u32),
) -> rs_vips::Result<VipsImage> {
    let (iw, ih) = (img.get_width(), img.get_height());
    let at = |v: u32, s: f64| (f64::from(v) * s).round() as i32;
    let width = at(region.width, scale.0).clamp(1, iw);
    let height = at(region.height, scale.1).clamp(1, ih);
    let left = at(region.x, scale.0).clamp(0, iw - width);
    let top = at(region.y, scale.1).clamp(0, ih - height);
    let part = img.extract_area(left, top, width, height)?;
    resize_to(&part, size)
}

/// `img` resized to exactly `(w, h)`.
pub(in crate::imaging) fn resize_to(
    img: &VipsImage,
    (w, h): (u32, u32),
) -> rs_vips::Result<VipsImage> {
    let (iw, ih) = (img.get_width(), img.get_height());
    let (w, h) = (w as i32, h as i32);
    if (iw, ih) == (w, h) {
        return img.copy();
    }
    let resized = img.resize_with_opts(
        f64::from(w) / f64::from(iw),
        VOption::new().set("vscale", f64::from(h) / f64::from(ih)),
    )?;
    // resize rounds each side; a pixel too many is cut, one too few repeats the edge.
    if (resized.get_width(), resized.get_height()) == (w, h) {
        return Ok(resized);
    }
    let kept = resized.extract_area(
        0,
        0,
        resized.get_width().min(w),
        resized.get_height().min(h),
    )?;
    kept.embed_with_opts(0, 0, w, h, VOption::new().set("extend", "copy"))
}
