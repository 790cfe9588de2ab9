//! Every size of a transform, decided up front from the header and the spec, in the final
//! orientation: pure arithmetic, tested without libvips.

use super::header::Header;
use crate::options::{Fit, Rotation, TransformSpec};

/// Sizes in device pixels, in the final orientation unless said otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// The image resized, before cropping or letterboxing.
    pub resized: (u32, u32),
    /// The output.
    pub canvas: (u32, u32),
    pub rotate: Rotation,
}

impl Plan {
    pub fn new(header: &Header, spec: &TransformSpec) -> Self {
        let upright = header.upright();
        let (fw, fh) = if spec.rotate.swaps_axes() {
            (upright.1, upright.0)
        } else {
            upright
        };
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
        Self {
            resized,
            canvas,
            rotate: spec.rotate,
        }
    }

    /// The size to ask of `thumbnail`, which works before our rotation.
    pub fn thumbnail_size(&self) -> (u32, u32) {
        if self.rotate.swaps_axes() {
            (self.resized.1, self.resized.0)
        } else {
            self.resized
        }
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
        };
        Plan::new(&header, &spec)
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
        let p = plan(2000, 1000, 1, "w=500&rot=90");
        assert_eq!(p.canvas, (500, 1000));
        assert_eq!(p.thumbnail_size(), (1000, 500));
        assert_eq!(plan(2000, 1000, 6, "w=500&rot=90").canvas, (500, 250));
    }
}
