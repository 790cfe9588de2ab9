//! Every size of a transform, decided up front from the size of what is resized (the
//! oriented image, or the part `crop` and `trim` keep) and the spec: pure arithmetic,
//! tested without libvips.

use super::header::Header;
use crate::options::{Fit, Rotation, Sides, TransformSpec};

/// Sizes in device pixels, in the final orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// The image resized, before cropping or letterboxing.
    pub resized: (u32, u32),
    /// The image cropped or letterboxed to the box, before `pad`.
    pub canvas: (u32, u32),
    /// `pad` in device pixels.
    pub pad: Sides,
}

/// The image's size once EXIF orientation and `rot` are applied (`flip` keeps it).
pub(super) fn oriented(header: &Header, rotate: Rotation) -> (u32, u32) {
    let (w, h) = header.upright();
    if rotate.swaps_axes() {
        (h, w)
    } else {
        (w, h)
    }
}

impl Plan {
    /// `size`: what is resized, in the final orientation.
    pub fn new((fw, fh): (u32, u32), spec: &TransformSpec) -> Self {
        let (fw, fh) = (f64::from(fw), f64::from(fh));
        let box_ = spec.pixel_box();
        let clamp = |s: f64| if spec.enlarge { s } else { s.min(1.0) };
        let size = |s: f64, v: f64| ((v * s).round() as u32).max(1);
        let both = |s: f64| (size(s, fw), size(s, fh));

        let (resized, canvas) = match box_ {
            (None, None) => ((fw as u32, fh as u32), (fw as u32, fh as u32)),
            (Some(w), None) => {
                let r = both(clamp(f64::from(w) / fw));
                (r, r)
            }
            (None, Some(h)) => {
                let r = both(clamp(f64::from(h) / fh));
                (r, r)
            }
            (Some(w), Some(h)) => {
                let sx = f64::from(w) / fw;
                let sy = f64::from(h) / fh;
                match spec.fit {
                    Fit::Inside => {
                        let r = both(clamp(sx.min(sy)));
                        (r, r)
                    }
                    Fit::Outside => {
                        let r = both(clamp(sx.max(sy)));
                        (r, r)
                    }
                    Fit::Cover => {
                        let r = both(clamp(sx.max(sy)));
                        (r, (w.min(r.0), h.min(r.1)))
                    }
                    Fit::Contain => (both(clamp(sx.min(sy))), (w, h)),
                    Fit::Fill => {
                        let r = (size(clamp(sx), fw), size(clamp(sy), fh));
                        (r, r)
                    }
                }
            }
        };
        let pad = spec.pad.map_or(Sides::default(), |p| Sides {
            top: spec.device(p.top),
            right: spec.device(p.right),
            bottom: spec.device(p.bottom),
            left: spec.device(p.left),
        });
        Self {
            resized,
            canvas,
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
        Plan::new(oriented(&header, spec.rotate), &spec)
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
