//! The pipeline, in API.md §3's order: the original loaded (shrunk on load, EXIF-oriented),
//! `rot` and `flip`; `trim` and `crop` cutting the region that is resized; then the steps
//! of [`steps`](super::steps) after the resize, frame by frame for animations.

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use super::faces::Located;
use super::header::{Header, PROFILE};
use super::plan::{oriented, Plan};
use super::sniff::SourceFormat;
use super::steps::watermark::{self, Watermarks};
use super::steps::{
    colour, filters, fit, metadata, obscure, orient, pad, per_frame, pixelate, region, trim,
};
use super::{corrupt, Error, Imaging};
use crate::options::{Anchor, Crop, Flip, Format, Rect, Rotation, TransformSpec};

/// The original being transformed: its bytes, the format sniffed from them, its header
/// and the image opened on them (header only), and how many frames are kept.
pub(super) struct Original<'a> {
    pub bytes: &'a [u8],
    pub format: SourceFormat,
    pub header: Header,
    pub opened: VipsImage,
    pub frames: u32,
}

/// What the steps after the resize start from: the resized frames, their plan and the
/// faces in them.
pub(super) struct Resized {
    pub img: VipsImage,
    pub plan: Plan,
    pub faces: Located,
}

impl Imaging {
    /// Loads, orients, cuts and resizes: everything up to the planned `resized` size.
    /// `faces` are those of the oriented, rotated and flipped original.
    pub(super) fn resize(
        &self,
        original: &Original,
        spec: &TransformSpec,
        faces: Located,
    ) -> Result<Resized, Error> {
        let frames = original.frames;
        let full = oriented(&original.header, spec);
        if let Some(trim) = spec.trim {
            // The border is found in the pixels: the whole image, at full size.
            let img = self.decode(original, spec, 1.0)?;
            let first = img
                .extract_area(0, 0, img.get_width(), img.get_page_height())
                .map_err(corrupt)?;
            let inside = trim::find(&first, trim).map_err(corrupt)?;
            let region = match spec.crop {
                Some(crop) => {
                    let kept = faces.clone().within(inside, full);
                    let (crop, anchor) = by_faces(crop, spec, &kept, (inside.width, inside.height));
                    let r = crop
                        .resolve((inside.width, inside.height), anchor)
                        .ok_or(Error::EmptyCrop)?;
                    Rect {
                        x: inside.x + r.x,
                        y: inside.y + r.y,
                        ..r
                    }
                }
                None => inside,
            };
            let plan = self.plan((region.width, region.height), spec, frames)?;
            return self.cut(img, region, full, plan, frames, faces);
        }
        if let Some(crop) = spec.crop {
            let (crop, anchor) = by_faces(crop, spec, &faces, full);
            let region = crop.resolve(full, anchor).ok_or(Error::EmptyCrop)?;
            let plan = self.plan((region.width, region.height), spec, frames)?;
            let scale = |to: u32, from: u32| f64::from(to) / f64::from(from);
            let scale =
                scale(plan.resized.0, region.width).max(scale(plan.resized.1, region.height));
            let img = self.decode(original, spec, scale)?;
            return self.cut(img, region, full, plan, frames, faces);
        }
        let plan = self.plan(full, spec, frames)?;
        Ok(Resized {
            img: self.load(original, spec, plan.resized)?,
            plan,
            faces,
        })
    }

    /// The original decoded for a cut: shrunk on load only as far as the loader does it
    /// (JPEG's DCT scaling, WebP's and SVG's scale) without going under `scale`, then
    /// EXIF-oriented, rotated and flipped. Unlike a thumbnail, no pixel of the region is
    /// blended with one outside it: the resize comes after the cut.
    fn decode(
        &self,
        original: &Original,
        spec: &TransformSpec,
        scale: f64,
    ) -> Result<VipsImage, Error> {
        let frames = original.frames;
        let mut opts = VOption::new().set("fail-on", "error");
        let scale = scale.min(1.0);
        match original.format {
            SourceFormat::Jpeg => {
                let shrink = [8, 4, 2]
                    .into_iter()
                    .find(|&f| f64::from(f) * scale <= 1.0)
                    .unwrap_or(1);
                opts = opts.set("shrink", shrink);
            }
            SourceFormat::Webp | SourceFormat::Svg if scale < 1.0 => {
                opts = opts.set("scale", scale);
            }
            _ => {}
        }
        if let Some(p) = spec.page {
            opts = opts.set("page", p as i32);
        }
        if frames > 1 {
            opts = opts.set("n", frames as i32);
        }
        let img = VipsImage::new_from_buffer_with_opts(original.bytes, "", opts)
            .and_then(|img| {
                if spec.ignore_orientation {
                    Ok(img)
                } else {
                    img.autorot()
                }
            })
            .and_then(|img| colour::embedded_to_srgb(img, None))
            .map_err(corrupt)?;
        per_frame(&img, frames, |f| orient::orient(f, spec.rotate, spec.flip)).map_err(corrupt)
    }

    /// The plan for resizing `size`, its output checked against the pixel limit.
    fn plan(&self, size: (u32, u32), spec: &TransformSpec, frames: u32) -> Result<Plan, Error> {
        let plan = Plan::new(size, spec);
        for (w, h) in [plan.resized, plan.output()] {
            self.check_pixels(super::pixels(w, h, frames))?;
        }
        Ok(plan)
    }

    /// `region` of the full-size image cut from `img` (the full image, loaded smaller)
    /// and resized to the plan's size.
    fn cut(
        &self,
        img: VipsImage,
        region: Rect,
        full: (u32, u32),
        plan: Plan,
        frames: u32,
        faces: Located,
    ) -> Result<Resized, Error> {
        let scale = (
            f64::from(img.get_width()) / f64::from(full.0),
            f64::from(img.get_page_height()) / f64::from(full.1),
        );
        let img = per_frame(&img, frames, |f| {
            region::cut(f, region, scale, plan.resized)
        })
        .map_err(corrupt)?;
        Ok(Resized {
            img,
            plan,
            faces: faces.within(region, full),
        })
    }

    /// The original decoded at `size` (after orientation, `rot` and `flip`), shrunk on
    /// load: by the fast JPEG path when it applies, else by libvips' thumbnail.
    fn load(
        &self,
        original: &Original,
        spec: &TransformSpec,
        size: (u32, u32),
    ) -> Result<VipsImage, Error> {
        let frames = original.frames;
        let before_rot = if spec.rotate.swaps_axes() {
            (size.1, size.0)
        } else {
            size
        };
        // The fast JPEG path turns the image by the header's orientation: none when
        // `auto_rotate:0` asks to ignore it.
        let header = Header {
            orientation: if spec.ignore_orientation {
                1
            } else {
                original.header.orientation
            },
            ..original.header
        };
        // The fast JPEG path drops metadata, which `meta=0` strips anyway.
        let shrunk = (!spec.keep_metadata)
            .then(|| self.shrink_jpeg(original.bytes, original.format, &header, before_rot))
            .flatten();
        let img = match shrunk {
            // Made from pixels in memory, so any step may read it out of order: unlike the
            // thumbnail, it needs no copy, and the encoder computes it in one pass (one
            // libvips sink instead of two, each a round trip to its worker thread). Its
            // pixels come without the profile, converted here, after the resize.
            Some(img) => {
                let profile = original
                    .header
                    .has_profile
                    .then(|| original.opened.get_blob(PROFILE).ok())
                    .flatten();
                colour::embedded_to_srgb(img?, profile.as_deref()).map_err(corrupt)?
            }
            None => thumbnail(original, before_rot, spec)?,
        };
        if spec.rotate != Rotation::R0 || spec.flip != Flip::default() {
            return per_frame(&img, frames, |f| orient::orient(f, spec.rotate, spec.flip))
                .map_err(corrupt);
        }
        Ok(img)
    }
}

/// A crop placed by the faces where it asks for them (its own gravity, or `g`'s): around
/// them all, as they fit in the whole image.
fn by_faces(
    crop: Crop,
    spec: &TransformSpec,
    faces: &Located,
    whole: (u32, u32),
) -> (Crop, Anchor) {
    let fallback = faces.anchor(spec.anchor(), whole, whole);
    let crop = match crop.anchor() {
        Some(own) => crop.with_anchor(faces.anchor(own, whole, whole)),
        None => crop,
    };
    (crop, fallback)
}

fn thumbnail(
    original: &Original,
    (w, h): (u32, u32),
    spec: &TransformSpec,
) -> Result<VipsImage, Error> {
    let frames = original.frames;
    let mut load = Vec::new();
    if let Some(p) = spec.page {
        load.push(format!("page={p}"));
    }
    if frames > 1 {
        load.push(format!("n={frames}"));
    }
    let load = load.join(",");
    let mut opts = VOption::new()
        .set("height", h as i32)
        .set("size", "force")
        .set("fail-on", "error");
    if !load.is_empty() {
        opts = opts.set("option-string", load.as_str());
    }
    if original.header.has_profile {
        // Through the embedded profile (after the shrink, where it is cheap).
        opts = opts.set("export-profile", "srgb");
    }
    if spec.ignore_orientation {
        opts = opts.set("no-rotate", true);
    }
    let img =
        VipsImage::thumbnail_buffer_with_opts(original.bytes, w as i32, opts).map_err(corrupt)?;
    // The thumbnail streams from the decoder and can be read once, top to bottom; rotation,
    // smart crops and frame splitting read it out of order. The resized image is small
    // (bounded by the pixel limit), so it is decoded into memory once, here.
    img.copy_memory().map_err(corrupt)
}

/// Everything after the resize, in API.md §3's order, then colour and metadata for the
/// encoder.
pub(super) fn finish(
    resized: Resized,
    spec: &TransformSpec,
    format: Format,
    original: &Original,
    marks: &Watermarks,
) -> Result<VipsImage, Error> {
    let frames = original.frames;
    let Resized { img, plan, faces } = resized;
    let img = colour::to_srgb(img).map_err(corrupt)?;
    let output = plan.output();
    let margin = (
        spec.device(spec.watermark.margin.0),
        spec.device(spec.watermark.margin.1),
    );
    let overlays = marks.overlays(&spec.watermark, output, margin)?;
    let img = per_frame(&img, frames, |frame| {
        let obscured = match spec.faces {
            Some(how) if !faces.0.is_empty() => Some(obscure::obscure(frame, &faces, how)?),
            _ => None,
        };
        let mut f = fit::fit(
            obscured.as_ref().unwrap_or(frame),
            &plan,
            spec,
            format,
            &faces,
        )?;
        f = filters::filters(f, spec)?;
        if let Some(block) = spec.pixelate {
            f = pixelate::pixelate(&f, block)?;
        }
        f = pad::pad(&f, plan.pad, spec.background, format)?;
        for overlay in &overlays {
            f = watermark::draw(&f, overlay, spec.watermark.placement, margin)?;
        }
        Ok(f)
    })
    .map_err(corrupt)?;
    let img = colour::flatten_for(img, format, spec.background).map_err(corrupt)?;
    let mut img = img.copy().map_err(corrupt)?;
    if !spec.keep_metadata {
        metadata::strip(&mut img);
        if spec.keep_copyright && metadata::has_credits(&original.opened) {
            let credits = metadata::credits(original.bytes);
            metadata::attach_credits(&mut img, &credits).map_err(corrupt)?;
        }
    }
    Ok(img)
}
