//! `faces=blur|pixelate` (API.md §10): each detected face, with a margin, hidden beyond
//! recognition — blurred or pixelated at a strength that follows the face's size, so a
//! large face gets as few details left as a small one — and nothing else touched.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use super::pixelate::pixelate;
use crate::imaging::faces::Located;
use crate::options::Obscure;

/// Added to each side of a face box, as a fraction of its size: the box is the face from
/// brows to chin; hair, ears and jaw line also identify.
const MARGIN: f64 = 0.2;
/// A face's larger side over the blur's sigma, and over the pixel blocks' side.
const STRENGTH: f64 = 6.0;

pub(in crate::imaging) fn obscure(
    frame: &VipsImage,
    faces: &Located,
    how: Obscure,
) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width(), frame.get_height());
    let mut img = frame.copy()?;
    for f in &faces.0 {
        let (fw, fh) = (f.w * f64::from(w), f.h * f64::from(h));
        let left = ((f.x * f64::from(w) - fw * MARGIN).floor() as i32).clamp(0, w - 1);
        let top = ((f.y * f64::from(h) - fh * MARGIN).floor() as i32).clamp(0, h - 1);
        let right = (((f.x + f.w) * f64::from(w) + fw * MARGIN).ceil() as i32).clamp(left + 1, w);
        let bottom = (((f.y + f.h) * f64::from(h) + fh * MARGIN).ceil() as i32).clamp(top + 1, h);
        let part = img.extract_area(left, top, right - left, bottom - top)?;
        let side = f64::from((right - left).max(bottom - top));
        let hidden = match how {
            // Box filters approximate the Gaussian: the same blur in half the time
            // at these sigmas.
            Obscure::Blur => part.gaussblur_with_opts(
                (side / STRENGTH).max(2.0),
                VOption::new().set("precision", "approximate"),
            )?,
            Obscure::Pixelate => pixelate(&part, ((side / STRENGTH).round() as u32).max(2))?,
        };
        img = img.insert(&hidden, left, top)?;
    }
    Ok(img)
}
