//! Watermarks: the images of `FERROTYPE_WATERMARKS` (decoded once, at start) and
//! `wm_text`, sized, made translucent, and drawn at a compass place or tiled.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::text::{self, Goal};
use crate::imaging::header::open;
use crate::options::{Placement, Watermark};

/// The configured watermark images, decoded to 8-bit sRGB with alpha, in memory; and the
/// font `wm_text` is drawn in.
#[derive(Default)]
pub struct Watermarks {
    images: BTreeMap<String, VipsImage>,
    font: String,
}

impl Watermarks {
    /// Reads and decodes every file; the first that is missing or undecodable is the error.
    pub fn load(files: &[(String, PathBuf)], font: &str) -> Result<Self, String> {
        let mut images = BTreeMap::new();
        for (name, path) in files {
            let fail = |why: String| format!("watermark {name:?} ({}): {why}", path.display());
            let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
            let (_, img, _) = open(&bytes).map_err(|e| fail(e.to_string()))?;
            let img = prepare(&img).map_err(|_| fail("libvips could not decode it".into()))?;
            images.insert(name.clone(), img);
        }
        Ok(Self {
            images,
            font: font.to_owned(),
        })
    }

    /// The overlays `wm` asks for on a frame of `size`, sized and made translucent: the
    /// image first, then the text; `margin` in device pixels.
    pub(in crate::imaging) fn overlays(
        &self,
        wm: &Watermark,
        size: (u32, u32),
        margin: u32,
    ) -> rs_vips::Result<Vec<VipsImage>> {
        if !wm.draws() {
            return Ok(Vec::new());
        }
        let room = room(size, margin, wm.placement);
        let mut out = Vec::new();
        if let Some(img) = wm.image.as_ref().and_then(|n| self.images.get(n)) {
            let wanted = wm
                .scale
                .map_or(1.0, |s| f64::from(size.0) * s / f64::from(img.get_width()));
            let fits = (f64::from(room.0) / f64::from(img.get_width()))
                .min(f64::from(room.1) / f64::from(img.get_height()));
            let scale = wanted.min(fits);
            let sized = if (scale - 1.0).abs() > f64::EPSILON {
                img.resize(scale)?
            } else {
                img.copy()?
            };
            out.push(sized);
        }
        if let Some(t) = &wm.text {
            // Without a scale, text is a twentieth of the shorter side tall, 12 px at least.
            let goal = match wm.scale {
                Some(s) => Goal::Width((f64::from(size.0) * s).round().max(1.0) as u32),
                None => Goal::Height((size.0.min(size.1) / 20).max(12)),
            };
            if let Some(img) = text::render(t, &self.font, wm.colour, goal, room) {
                out.push(img);
            }
        }
        out.into_iter()
            .map(|img| translucent(&img, wm.opacity))
            .collect()
    }
}

/// Decoded, 8-bit sRGB with alpha, in memory.
fn prepare(img: &VipsImage) -> rs_vips::Result<VipsImage> {
    let img = img.colourspace(enums::Interpretation::Srgb)?;
    let img = if img.hasalpha() {
        img
    } else {
        img.bandjoin_const(&[255.0])?
    };
    img.cast(enums::BandFormat::Uchar)?.copy_memory()
}

/// The space a watermark may take: the frame less its margins (the whole frame when the
/// margins leave nothing, and for tiles).
fn room((w, h): (u32, u32), margin: u32, placement: Placement) -> (u32, u32) {
    let inner = |side: u32| match side.checked_sub(margin.saturating_mul(2)) {
        Some(r) if r > 0 && placement != Placement::Tile => r,
        _ => side,
    };
    (inner(w).max(1), inner(h).max(1))
}

fn translucent(img: &VipsImage, opacity: f64) -> rs_vips::Result<VipsImage> {
    if opacity >= 1.0 {
        return img.copy();
    }
    img.linear(&[1.0, 1.0, 1.0, opacity], &[0.0; 4])?
        .cast(enums::BandFormat::Uchar)
}

/// `overlay` drawn over `frame` at `placement`, `margin` pixels from the edges.
pub(in crate::imaging) fn draw(
    frame: &VipsImage,
    overlay: &VipsImage,
    placement: Placement,
    margin: u32,
) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width(), frame.get_height());
    if placement == Placement::Tile {
        let gap = margin as i32;
        let (tw, th) = (overlay.get_width() + gap, overlay.get_height() + gap);
        let tile = overlay.embed_with_opts(
            0,
            0,
            tw,
            th,
            VOption::new()
                .set("extend", "background")
                .set("background", &[0.0, 0.0, 0.0, 0.0][..]),
        )?;
        let cover = tile
            .replicate((w + tw - 1) / tw, (h + th - 1) / th)?
            .extract_area(0, 0, w, h)?;
        return over(frame, &cover, 0, 0);
    }
    let (ow, oh) = (overlay.get_width().min(w), overlay.get_height().min(h));
    let overlay = overlay.extract_area(0, 0, ow, oh)?;
    let m = margin as i32;
    let (gx, gy) = match placement {
        Placement::Center => (0.5, 0.5),
        Placement::North => (0.5, 0.0),
        Placement::South => (0.5, 1.0),
        Placement::East => (1.0, 0.5),
        Placement::West => (0.0, 0.5),
        Placement::NorthEast => (1.0, 0.0),
        Placement::NorthWest => (0.0, 0.0),
        Placement::SouthWest => (0.0, 1.0),
        Placement::SouthEast | Placement::Tile => (1.0, 1.0),
    };
    let place = |g: f64, side: i32, size: i32| {
        let at = if g == 0.0 {
            m
        } else if g == 1.0 {
            side - size - m
        } else {
            (side - size) / 2
        };
        at.clamp(0, side - size)
    };
    over(frame, &overlay, place(gx, w, ow), place(gy, h, oh))
}

/// `overlay` composited over the part of `frame` it covers, only that part computed.
fn over(frame: &VipsImage, overlay: &VipsImage, x: i32, y: i32) -> rs_vips::Result<VipsImage> {
    let under = frame.extract_area(x, y, overlay.get_width(), overlay.get_height())?;
    let mut done = under.composite2(overlay, enums::BlendMode::Over)?;
    if !frame.hasalpha() {
        done = done.extract_band_with_opts(0, VOption::new().set("n", 3))?;
    }
    let done = done.cast(enums::BandFormat::Uchar)?;
    frame.insert(&done, x, y)
}
