//! Watermarks: the images of `FERROTYPE_WATERMARKS` (decoded once, at start) and
//! `wm_text`, sized, made translucent, and drawn at a compass place or tiled.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::text::{self, Goal};
use crate::imaging::header::open;
use crate::imaging::resample::{lanczos, pixels_of, Pixels};
use crate::imaging::{corrupt, Error};
use crate::options::{Placement, Watermark};

/// The configured watermark images, decoded to 8-bit sRGB with alpha (RGBA pixels in
/// memory, which `resample` sizes in a fraction of what libvips would take); the font
/// `wm_text` is drawn in; and the overlays made lately.
pub struct Watermarks {
    images: BTreeMap<String, Mark>,
    font: String,
    made: moka::sync::Cache<Made, VipsImage>,
}

impl Default for Watermarks {
    fn default() -> Self {
        Self {
            images: BTreeMap::new(),
            font: "sans bold".to_owned(),
            made: moka::sync::Cache::builder()
                .weigher(|_, img: &VipsImage| {
                    let bytes = i64::from(img.get_width()) * i64::from(img.get_height()) * 4;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .max_capacity(64 << 20)
                .build(),
        }
    }
}

/// An overlay by everything that decides its pixels (opacity aside). A site marks its
/// images with the same few watermarks at the same few sizes, and sizing one (or drawing
/// a text with Pango) costs more than the rest of a thumbnail's steps together.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Made {
    Image {
        name: String,
        size: (u32, u32),
    },
    Text {
        text: String,
        colour: [u8; 3],
        goal: Goal,
        room: (u32, u32),
    },
}

/// One watermark image: RGBA pixels.
struct Mark {
    rgba: Vec<u8>,
    size: (u32, u32),
}

impl Watermarks {
    /// Reads and decodes every file; the first that is missing or undecodable is the error.
    pub fn load(files: &[(String, PathBuf)], font: &str) -> Result<Self, String> {
        let mut images = BTreeMap::new();
        for (name, path) in files {
            let fail = |why: String| format!("watermark {name:?} ({}): {why}", path.display());
            let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
            let (_, img, _) = open(&bytes).map_err(|e| fail(e.to_string()))?;
            let undecodable = || fail("libvips could not decode it".into());
            let img = prepare(&img).map_err(|_| undecodable())?;
            let rgba = pixels_of(&img).ok_or_else(undecodable)?;
            let size = (img.get_width() as u32, img.get_height() as u32);
            images.insert(name.clone(), Mark { rgba, size });
        }
        Ok(Self {
            images,
            font: font.to_owned(),
            ..Self::default()
        })
    }

    /// The overlay `key`, made by `make` unless it was made lately.
    fn made(
        &self,
        key: Made,
        make: impl FnOnce() -> Result<Option<VipsImage>, Error>,
    ) -> Result<Option<VipsImage>, Error> {
        if let Some(img) = self.made.get(&key) {
            return Ok(Some(img));
        }
        let Some(img) = make()? else {
            return Ok(None);
        };
        let img = img.copy_memory().map_err(corrupt)?;
        self.made.insert(key, img.clone());
        Ok(Some(img))
    }

    /// The overlays `wm` asks for on a frame of `size`, sized and made translucent: the
    /// image first, then the text; `margin` in device pixels.
    pub(in crate::imaging) fn overlays(
        &self,
        wm: &Watermark,
        size: (u32, u32),
        margin: (u32, u32),
    ) -> Result<Vec<VipsImage>, Error> {
        if !wm.draws() {
            return Ok(Vec::new());
        }
        let room = room(size, margin, wm.placement);
        let mut out = Vec::new();
        if let Some((name, mark)) = wm.image.as_ref().and_then(|n| self.images.get_key_value(n)) {
            let (w, h) = (f64::from(mark.size.0), f64::from(mark.size.1));
            let wanted = wm.scale.map_or(1.0, |s| f64::from(size.0) * s / w);
            let scale = wanted.min(f64::from(room.0) / w).min(f64::from(room.1) / h);
            let side = |v: f64| ((v * scale).round() as u32).max(1);
            let target = (side(w), side(h));
            let key = Made::Image {
                name: name.clone(),
                size: target,
            };
            let pixels = Pixels {
                data: &mark.rgba,
                size: mark.size,
                bands: 4,
            };
            out.extend(self.made(key, || lanczos(&pixels, mark.size, target).map(Some))?);
        }
        if let Some(t) = &wm.text {
            // Without a scale, text is a twentieth of the shorter side tall, 12 px at least.
            let goal = match wm.scale {
                Some(s) => Goal::Width((f64::from(size.0) * s).round().max(1.0) as u32),
                None => Goal::Height((size.0.min(size.1) / 20).max(12)),
            };
            let key = Made::Text {
                text: t.clone(),
                colour: [wm.colour.r, wm.colour.g, wm.colour.b],
                goal,
                room,
            };
            let c = wm.colour;
            out.extend(self.made(key, || Ok(text::render(t, &self.font, c, goal, room)))?);
        }
        out.into_iter()
            .map(|img| translucent(&img, wm.opacity).map_err(corrupt))
            .collect()
    }
}

/// 8-bit sRGB with alpha.
fn prepare(img: &VipsImage) -> rs_vips::Result<VipsImage> {
    let img = img.colourspace(enums::Interpretation::Srgb)?;
    let img = if img.hasalpha() {
        img
    } else {
        img.bandjoin_const(&[255.0])?
    };
    img.cast(enums::BandFormat::Uchar)
}

/// The space a watermark may take: the frame less its margins (the whole frame when the
/// margins leave nothing, and for tiles).
fn room((w, h): (u32, u32), margin: (u32, u32), placement: Placement) -> (u32, u32) {
    let inner = |side: u32, m: u32| match side.checked_sub(m.saturating_mul(2)) {
        Some(r) if r > 0 && placement != Placement::Tile => r,
        _ => side,
    };
    (inner(w, margin.0).max(1), inner(h, margin.1).max(1))
}

fn translucent(img: &VipsImage, opacity: f64) -> rs_vips::Result<VipsImage> {
    if opacity >= 1.0 {
        return img.copy();
    }
    // In memory: a tiled watermark reads it once per tile.
    img.linear(&[1.0, 1.0, 1.0, opacity], &[0.0; 4])?
        .cast(enums::BandFormat::Uchar)?
        .copy_memory()
}

/// `overlay` drawn over `frame` at `placement`, `margin` pixels from the edges.
pub(in crate::imaging) fn draw(
    frame: &VipsImage,
    overlay: &VipsImage,
    placement: Placement,
    margin: (u32, u32),
) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width(), frame.get_height());
    let Placement::At(gravity) = placement else {
        return tile(frame, overlay, margin);
    };
    let (ow, oh) = (overlay.get_width().min(w), overlay.get_height().min(h));
    let overlay = overlay.extract_area(0, 0, ow, oh)?;
    let (mx, my) = (margin.0 as i32, margin.1 as i32);
    let (gx, gy) = gravity.compass();
    let place = |g: f64, side: i32, size: i32, m: i32| {
        let at = if g == 0.0 {
            m
        } else if g == 1.0 {
            side - size - m
        } else {
            (side - size) / 2
        };
        at.clamp(0, side - size)
    };
    over(frame, &overlay, place(gx, w, ow, mx), place(gy, h, oh, my))
}

/// `overlay` repeated over the whole of `frame`, `margin` apart.
fn tile(frame: &VipsImage, overlay: &VipsImage, margin: (u32, u32)) -> rs_vips::Result<VipsImage> {
    let (w, h) = (frame.get_width(), frame.get_height());
    let (tw, th) = (
        overlay.get_width() + margin.0 as i32,
        overlay.get_height() + margin.1 as i32,
    );
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
    over(frame, &cover, 0, 0)
}

/// `overlay` composited over the part of `frame` it covers, only that part computed, in
/// this thread: libvips' `composite` builds a dozen operations for it, which cost more
/// than the blend of a watermark's few thousand pixels.
fn over(frame: &VipsImage, overlay: &VipsImage, x: i32, y: i32) -> rs_vips::Result<VipsImage> {
    let (w, h) = (overlay.get_width(), overlay.get_height());
    let under = frame.extract_area(x, y, w, h)?;
    let bands = under.get_bands();
    let failed = || rs_vips::error::Error::OperationError("watermark pixels".into());
    if !matches!(bands, 3 | 4) || overlay.get_bands() != 4 {
        return Err(failed());
    }
    let mut base = pixels_of(&under).ok_or_else(failed)?;
    let top = pixels_of(overlay).ok_or_else(failed)?;
    blend(&mut base, bands as usize, &top);
    let done = VipsImage::new_from_memory_copy(&base, w, h, bands, enums::BandFormat::Uchar)?
        .copy_with_opts(VOption::new().set("interpretation", "srgb"))?;
    frame.insert(&done, x, y)
}

/// `top` (RGBA, straight alpha) over `base` (RGB, or RGBA), pixel by pixel: Porter-Duff
/// "over", rounded.
fn blend(base: &mut [u8], bands: usize, top: &[u8]) {
    for (b, t) in base.chunks_exact_mut(bands).zip(top.chunks_exact(4)) {
        let a = u32::from(t[3]);
        if a == 0 {
            continue;
        }
        let rest = 255 - a;
        if bands == 3 {
            for c in 0..3 {
                b[c] = ((u32::from(t[c]) * a + u32::from(b[c]) * rest + 127) / 255) as u8;
            }
            continue;
        }
        // Over a translucent base: both colours weighted by what each contributes.
        let under = u32::from(b[3]) * rest;
        let alpha = a * 255 + under;
        for c in 0..3 {
            let mixed = u32::from(t[c]) * a * 255 + u32::from(b[c]) * under;
            b[c] = ((mixed + alpha / 2) / alpha) as u8;
        }
        b[3] = ((alpha + 127) / 255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::blend;

    #[test]
    fn over_blends_by_alpha() {
        let mut rgb = [128, 128, 128, 10, 20, 30];
        blend(&mut rgb, 3, &[255, 0, 255, 128, 255, 255, 255, 0]);
        assert_eq!(rgb, [192, 64, 192, 10, 20, 30]);
        let mut rgba = [0, 0, 0, 0, 200, 0, 0, 255];
        blend(&mut rgba, 4, &[10, 20, 30, 255, 0, 0, 200, 255]);
        assert_eq!(rgba, [10, 20, 30, 255, 0, 0, 200, 255]);
        let mut half = [0, 0, 0, 0];
        blend(&mut half, 4, &[200, 100, 50, 128]);
        assert_eq!(half, [200, 100, 50, 128]);
    }
}
