//! Where the faces of an original are (API.md §10): detected once per original, page and
//! orientation on a copy at most [`DETECTION_SIZE`] pixels on its long side, kept as
//! fractions of the displayed image, so every size, crop and `/info` made from the same
//! original reuses them.

use std::sync::Arc;

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;
use xxhash_rust::xxh3::xxh3_128_with_seed;

use super::steps::{colour, region};
use super::{corrupt, Error};
use crate::faces::{Model, ALIGN};
use crate::options::{Anchor, Flip, Gravity, Rect, Rotation};
use crate::telemetry::Stage;

/// The long side of the copy detection runs on. Faces narrower than ~2% of the image's
/// width (~12 px here, three cells of the network's map) may be missed.
pub const DETECTION_SIZE: u32 = 640;
/// Originals whose faces are remembered (a few dozen bytes each).
const REMEMBERED: u64 = 100_000;

/// A face as fractions of the displayed image's width and height, with the model's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Face {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub score: f32,
}

/// Which image of which original, as the pipeline displays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    bytes: u128,
    page: u32,
    ignore_orientation: bool,
}

pub struct Faces {
    model: Model,
    found: moka::sync::Cache<Key, Arc<[Face]>>,
    /// Seeds the originals' fingerprints: a fast hash, unpredictable from outside, so no
    /// one can make an image that passes for another's.
    seed: u64,
}

impl Default for Faces {
    fn default() -> Self {
        let mut seed = [0u8; 8];
        // Without the OS's randomness the seed is fixed: fingerprints stay correct, only
        // guessable.
        let _ = getrandom::fill(&mut seed);
        Self {
            model: Model::default(),
            found: moka::sync::Cache::new(REMEMBERED),
            seed: u64::from_le_bytes(seed),
        }
    }
}

impl Faces {
    /// The faces of `bytes` (page `page`, EXIF-oriented unless `ignore_orientation`), best
    /// first; detected on first use, remembered after.
    pub(super) fn locate(
        &self,
        bytes: &[u8],
        page: Option<u32>,
        ignore_orientation: bool,
    ) -> Result<Arc<[Face]>, Error> {
        let key = Key {
            bytes: xxh3_128_with_seed(bytes, self.seed),
            page: page.unwrap_or(0),
            ignore_orientation,
        };
        self.found
            .try_get_with(key, || self.detect(bytes, key))
            .map_err(|e| (*e).clone())
    }

    fn detect(&self, bytes: &[u8], key: Key) -> Result<Arc<[Face]>, Error> {
        let _faces = Stage::start("faces");
        let (rgb, size) = copy(bytes, key)?;
        let found = self.model.detect(&rgb, size).map_err(|e| {
            tracing::warn!(error = %e, "face detection failed");
            Error::Faces
        })?;
        let (w, h) = (f64::from(size.0), f64::from(size.1));
        Ok(found
            .into_iter()
            .map(|d| Face {
                x: f64::from(d.x) / w,
                y: f64::from(d.y) / h,
                w: f64::from(d.w) / w,
                h: f64::from(d.h) / h,
                score: d.score,
            })
            .collect())
    }
}

/// The image as displayed, first frame (or `page`), at most [`DETECTION_SIZE`] on its long
/// side, stretched a little so each side is a multiple of the network's [`ALIGN`]: 8-bit
/// sRGB without alpha, interleaved.
fn copy(bytes: &[u8], key: Key) -> Result<(Vec<u8>, (u32, u32)), Error> {
    let mut opts = VOption::new()
        .set("height", DETECTION_SIZE as i32)
        .set("size", "down")
        .set("fail-on", "error")
        .set("no-rotate", key.ignore_orientation);
    let page = format!("page={}", key.page);
    if key.page > 0 {
        opts = opts.set("option-string", page.as_str());
    }
    let img = VipsImage::thumbnail_buffer_with_opts(bytes, DETECTION_SIZE as i32, opts)
        .and_then(|img| colour::embedded_to_srgb(img, None))
        .and_then(colour::opaque_srgb8)
        .map_err(corrupt)?;
    let aligned = |v: i32| {
        let v = v.max(1) as u32;
        (v.div_ceil(ALIGN) * ALIGN).min(DETECTION_SIZE.div_ceil(ALIGN) * ALIGN)
    };
    let size = (aligned(img.get_width()), aligned(img.get_height()));
    let img = region::resize_to(&img, size).map_err(corrupt)?;
    let rgb = match img.get_bands() {
        3 => img.write_to_memory(),
        // Grey after all (a one-band sRGB-tagged image): three equal channels.
        _ => img
            .extract_band_with_opts(0, VOption::new().set("n", 1))
            .and_then(|g| VipsImage::bandjoin(&[g.clone(), g.clone(), g]))
            .map_err(corrupt)?
            .write_to_memory(),
    };
    if rgb.len() != (size.0 * size.1 * 3) as usize {
        return Err(Error::Faces);
    }
    Ok((rgb, size))
}

/// Faces as fractions of the frame the pipeline holds, followed through its turns and cuts.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Located(pub Vec<Face>);

impl Located {
    /// After `rot` (clockwise, as libvips turns) and `flip`.
    pub fn turned(self, rotate: Rotation, flip: Flip) -> Self {
        let turn = |f: Face| match rotate {
            Rotation::R0 => f,
            Rotation::R90 => Face {
                x: 1.0 - f.y - f.h,
                y: f.x,
                w: f.h,
                h: f.w,
                ..f
            },
            Rotation::R180 => Face {
                x: 1.0 - f.x - f.w,
                y: 1.0 - f.y - f.h,
                ..f
            },
            Rotation::R270 => Face {
                x: f.y,
                y: 1.0 - f.x - f.w,
                w: f.h,
                h: f.w,
                ..f
            },
        };
        let mirror = |mut f: Face| {
            if flip.horizontal {
                f.x = 1.0 - f.x - f.w;
            }
            if flip.vertical {
                f.y = 1.0 - f.y - f.h;
            }
            f
        };
        Self(self.0.into_iter().map(|f| mirror(turn(f))).collect())
    }

    /// Inside `region` of an image of `full` pixels: clipped to it, those outside dropped.
    pub fn within(self, region: Rect, full: (u32, u32)) -> Self {
        let (fw, fh) = (f64::from(full.0), f64::from(full.1));
        let (rx, ry) = (f64::from(region.x) / fw, f64::from(region.y) / fh);
        let (rw, rh) = (f64::from(region.width) / fw, f64::from(region.height) / fh);
        Self(
            self.0
                .into_iter()
                .filter_map(|f| {
                    let x0 = ((f.x - rx) / rw).max(0.0);
                    let y0 = ((f.y - ry) / rh).max(0.0);
                    let x1 = ((f.x + f.w - rx) / rw).min(1.0);
                    let y1 = ((f.y + f.h - ry) / rh).min(1.0);
                    (x1 > x0 && y1 > y0).then_some(Face {
                        x: x0,
                        y: y0,
                        w: x1 - x0,
                        h: y1 - y0,
                        ..f
                    })
                })
                .collect(),
        )
    }

    /// `anchor` with the faces' place for `Gravity::Face`: the centre of every face when
    /// they fit in a `part` of `whole`, else of the best ones that do; libvips' attention
    /// crop when there is none. Other gravities pass.
    pub fn anchor(&self, anchor: Anchor, whole: (u32, u32), part: (u32, u32)) -> Anchor {
        if anchor.gravity != Gravity::Face {
            return anchor;
        }
        let (w, h) = (f64::from(whole.0), f64::from(whole.1));
        let (pw, ph) = (f64::from(part.0) / w, f64::from(part.1) / h);
        let mut kept: Option<(f64, f64, f64, f64)> = None;
        // Best first (the order they were found in).
        for f in &self.0 {
            let (x0, y0, x1, y1) = match kept {
                None => (f.x, f.y, f.x + f.w, f.y + f.h),
                Some((x0, y0, x1, y1)) => (
                    x0.min(f.x),
                    y0.min(f.y),
                    x1.max(f.x + f.w),
                    y1.max(f.y + f.h),
                ),
            };
            if kept.is_none() || (x1 - x0 <= pw && y1 - y0 <= ph) {
                kept = Some((x0, y0, x1, y1));
            }
        }
        let gravity = match kept {
            Some((x0, y0, x1, y1)) => Gravity::Focal {
                x: (x0 + x1) / 2.0,
                y: (y0 + y1) / 2.0,
            },
            None => Gravity::Attention,
        };
        Anchor {
            gravity,
            offset: (0.0, 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f64, y: f64, w: f64, h: f64) -> Face {
        Face {
            x,
            y,
            w,
            h,
            score: 0.9,
        }
    }

    fn near(a: Face, b: Face) -> bool {
        [(a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h)]
            .iter()
            .all(|(p, q)| (p - q).abs() < 1e-9)
    }

    #[test]
    fn turns_follow_libvips() {
        // A face in the top-left corner of a landscape frame.
        let f = Located(vec![face(0.1, 0.2, 0.3, 0.4)]);
        let t = |r, h, v| {
            f.clone()
                .turned(
                    r,
                    Flip {
                        horizontal: h,
                        vertical: v,
                    },
                )
                .0[0]
        };
        // Clockwise: the left edge becomes the top, the top the right.
        assert!(near(
            t(Rotation::R90, false, false),
            face(0.4, 0.1, 0.4, 0.3)
        ));
        assert!(near(
            t(Rotation::R180, false, false),
            face(0.6, 0.4, 0.3, 0.4)
        ));
        assert!(near(
            t(Rotation::R270, false, false),
            face(0.2, 0.6, 0.4, 0.3)
        ));
        assert!(near(t(Rotation::R0, true, false), face(0.6, 0.2, 0.3, 0.4)));
        assert!(near(t(Rotation::R0, false, true), face(0.1, 0.4, 0.3, 0.4)));
    }

    #[test]
    fn a_region_clips_and_drops() {
        let f = Located(vec![face(0.1, 0.1, 0.2, 0.2), face(0.8, 0.8, 0.1, 0.1)]);
        let region = Rect {
            x: 0,
            y: 0,
            width: 50,
            height: 25,
        };
        let inside = f.within(region, (100, 100)).0;
        assert_eq!(inside.len(), 1);
        assert!(near(inside[0], face(0.2, 0.4, 0.4, 0.6)));
    }

    #[test]
    fn the_crop_centres_the_faces_that_fit() {
        let by_face = Anchor {
            gravity: Gravity::Face,
            offset: (0.0, 0.0),
        };
        let f = Located(vec![face(0.8, 0.4, 0.1, 0.2), face(0.6, 0.4, 0.1, 0.2)]);
        let focal = |a: Anchor| match a.gravity {
            Gravity::Focal { x, y } => (x, y),
            other => panic!("{other:?}"),
        };
        // Both fit in half the width: their middle.
        let (x, y) = focal(f.anchor(by_face, (100, 100), (50, 100)));
        assert!((x - 0.75).abs() < 1e-9 && (y - 0.5).abs() < 1e-9);
        // Only one fits in a tenth: the best.
        let (x, _) = focal(f.anchor(by_face, (100, 100), (12, 100)));
        assert!((x - 0.85).abs() < 1e-9);
        // No face: attention; another gravity passes.
        let none = Located::default().anchor(by_face, (100, 100), (50, 50));
        assert_eq!(none.gravity, Gravity::Attention);
        let north = Anchor {
            gravity: Gravity::North,
            offset: (1.0, 2.0),
        };
        assert_eq!(f.anchor(north, (100, 100), (50, 50)), north);
    }
}
