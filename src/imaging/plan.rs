//! Every size of a transform, decided up front from the size of what is resized (the
//! oriented image, or the part `crop` and `trim` keep) and the spec: pure arithmetic,
//! tested without libvips.

use super::header::Header;
use crate::options::{Anchor, Fit, Sides, TransformSpec};

/// Sizes in device pixels, in the final orientation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Plan {
    /// The image resized, before cropping or letterboxing.
    pub resized: (u32, u32),
    /// The image cropped or letterboxed to the box, before `pad`.
    pub canvas: (u32, u32),
    /// Where the image sits when the canvas is larger (`contain`'s centre, or `extend`'s).
    pub place: Anchor,
    /// `pad` in device pixels.
    pub pad: Sides,
}

/// The image's size once EXIF orientation (unless ignored) and `rot` are applied (`flip`
/// keeps it).
pub(super) fn oriented(header: &Header, spec: &TransformSpec) -> (u32, u32) {
    let (w, h) = if spec.ignore_orientation {
        (header.width, header.height)
    } else {
        header.upright()
    };
    if spec.rotate.swaps_axes() {
        (h, w)
    } else {
        (w, h)
    }
}

impl Plan {
    /// `size`: what is resized, in the final orientation.
    pub fn new((w0, h0): (u32, u32), spec: &TransformSpec) -> Self {
        let (fw, fh) = (f64::from(w0), f64::from(h0));
        let sizing = &spec.sizing;
        let bx = spec.pixel_box();
        let fit = match (spec.fit, bx) {
            (Fit::Auto, (Some(w), Some(h))) if (fw >= fh) == (w >= h) => Fit::Cover,
            (Fit::Auto, _) => Fit::Inside,
            (fit, _) => fit,
        };
        let stretches = matches!(fit, Fit::Fill | Fit::Force);
        let ratio = |b: Option<u32>, side: f64| b.map(|b| f64::from(b) / side);
        let (rx, ry) = (ratio(bx.0, fw), ratio(bx.1, fh));
        let (mut sx, mut sy) = match (rx, ry) {
            (None, None) => (1.0, 1.0),
            // imgproxy's `force` keeps the source's size on the side not given.
            _ if fit == Fit::Force => (rx.unwrap_or(1.0), ry.unwrap_or(1.0)),
            (Some(r), None) | (None, Some(r)) => (r, r),
            (Some(x), Some(y)) => match fit {
                Fit::Fill => (x, y),
                Fit::Outside | Fit::Cover | Fit::CoverDown => (x.max(y), x.max(y)),
                _ => (x.min(y), x.min(y)),
            },
        };
        // At least the minimum sizes (imgproxy's `min-width`, `min-height`).
        let least = |m: Option<u32>, side: f64| m.map(|m| f64::from(spec.device(m)) / side);
        for (m, horizontal) in [
            (least(sizing.min.0, fw), true),
            (least(sizing.min.1, fh), false),
        ] {
            let Some(m) = m else { continue };
            if stretches {
                if horizontal {
                    sx = sx.max(m);
                } else {
                    sy = sy.max(m);
                }
            } else {
                let s = sx.max(m);
                (sx, sy) = (s, s);
            }
        }
        sx *= sizing.zoom.0;
        sy *= sizing.zoom.1;
        if !spec.enlarge {
            (sx, sy) = (sx.min(1.0), sy.min(1.0));
        }
        let size = |s: f64, v: f64| ((v * s).round() as u32).max(1);
        let resized = (size(sx, fw), size(sy, fh));
        // The box the canvas is cut or extended to, zoomed like the image.
        let zoomed = |b: Option<u32>, z: f64| b.map(|b| ((f64::from(b) * z).round() as u32).max(1));
        let zb = (zoomed(bx.0, sizing.zoom.0), zoomed(bx.1, sizing.zoom.1));
        let cut = |b: Option<u32>, r: u32| b.map_or(r, |b| b.min(r));
        let mut canvas = match (fit, zb) {
            (Fit::Contain, (Some(w), Some(h))) => (w, h),
            (Fit::CoverDown, (Some(w), Some(h))) if resized.0 < w || resized.1 < h => {
                // Too small for the box: the largest part of it with the box's shape.
                let aspect = f64::from(w) / f64::from(h);
                let (rw, rh) = (f64::from(resized.0), f64::from(resized.1));
                if rw / rh > aspect {
                    (((rh * aspect).round() as u32).max(1), resized.1)
                } else {
                    (resized.0, ((rw / aspect).round() as u32).max(1))
                }
            }
            (Fit::Cover | Fit::CoverDown, _) => (cut(zb.0, resized.0), cut(zb.1, resized.1)),
            // A minimum size past the box is cut back to it, as imgproxy does.
            _ if sizing.min != (None, None) && fit != Fit::Outside => {
                (cut(zb.0, resized.0), cut(zb.1, resized.1))
            }
            _ => resized,
        };
        let mut place = Anchor::default();
        if let Some(anchor) = sizing.extend {
            canvas = (
                canvas.0.max(zb.0.unwrap_or(0)),
                canvas.1.max(zb.1.unwrap_or(0)),
            );
            place = anchor;
        }
        if let (Some(anchor), (Some(w), Some(h))) = (sizing.extend_aspect, zb) {
            let aspect = f64::from(w) / f64::from(h);
            let (cw, ch) = (f64::from(canvas.0), f64::from(canvas.1));
            canvas = if cw / ch < aspect {
                ((ch * aspect).round() as u32, canvas.1)
            } else {
                (canvas.0, (cw / aspect).round() as u32)
            };
            place = anchor;
        }
        let pad = spec.pad.map_or(Sides::default(), |p| Sides {
            top: spec.device(p.top),
            right: spec.device(p.right),
            bottom: spec.device(p.bottom),
            left: spec.device(p.left),
        });
        Self {
            resized,
            canvas,
            place,
            pad,
        }
    }

    /// The output's size: the canvas and its padding.
    pub fn output(&self) -> (u32, u32) {
        let p = self.pad;
        (
            self.canvas.0.saturating_add(p.left).saturating_add(p.right),
            self.canvas.1.saturating_add(p.top).saturating_add(p.bottom),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::parse_transform;

    fn plan(w: u32, h: u32, orientation: i32, q: &str) -> Plan {
        let spec = parse_transform("/transform/a/b.jpg", q).unwrap().spec;
        let header = Header {
            width: w,
            height: h,
            pages: 1,
            orientation,
            has_alpha: false,
            has_profile: false,
        };
        Plan::new(oriented(&header, &spec), &spec)
    }

    #[test]
    fn fit_modes() {
        assert_eq!(plan(2000, 1000, 1, "w=500&h=500").canvas, (500, 250));
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=cover").resized,
            (1000, 500)
        );
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=cover").canvas,
            (500, 500)
        );
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=contain").resized,
            (500, 250)
        );
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=contain").canvas,
            (500, 500)
        );
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=fill").canvas,
            (500, 500)
        );
        assert_eq!(
            plan(2000, 1000, 1, "w=500&h=500&fit=outside").canvas,
            (1000, 500)
        );
        assert_eq!(plan(2000, 1000, 1, "h=100").canvas, (200, 100));
        assert_eq!(plan(2000, 1000, 1, "").canvas, (2000, 1000));
    }

    #[test]
    fn dpr_and_enlarge() {
        assert_eq!(plan(2000, 1000, 1, "w=300&dpr=2").canvas, (600, 300));
        assert_eq!(plan(200, 100, 1, "w=400").canvas, (200, 100));
        assert_eq!(plan(200, 100, 1, "w=400&enlarge=1").canvas, (400, 200));
        assert_eq!(
            plan(200, 100, 1, "w=400&h=400&fit=cover").canvas,
            (200, 100)
        );
        assert_eq!(
            plan(200, 100, 1, "w=400&h=400&fit=contain").canvas,
            (400, 400)
        );
    }

    #[test]
    fn orientation_and_rotation_swap_the_box() {
        assert_eq!(plan(2000, 1000, 6, "w=500").canvas, (500, 1000));
        assert_eq!(plan(2000, 1000, 1, "w=500&rot=90").canvas, (500, 1000));
        assert_eq!(plan(2000, 1000, 6, "w=500&rot=90").canvas, (500, 250));
    }

    #[test]
    fn padding_in_device_pixels() {
        let p = plan(2000, 1000, 1, "w=500&pad=10,20&dpr=2");
        assert_eq!(p.canvas, (1000, 500));
        assert_eq!(p.output(), (1080, 540));
        assert_eq!(plan(100, 100, 1, "pad=1,2,3").output(), (104, 104));
    }
}
