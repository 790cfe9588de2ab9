//! The libvips pipeline: sniff, check limits from the header, shrink-on-load thumbnail,
//! rotate/crop/letterbox, colour to sRGB, strip metadata, encode.
//!
//! Everything here is blocking and runs on the bounded pool of [`pool`]; nothing here
//! sees a raw query string, only a [`TransformSpec`].
//!
//! - `setup` — libvips started and tuned, its messages into `tracing`;
//! - `sniff`, `header` — the format from the bytes, structure checks, the header;
//! - `plan` — every size decided up front;
//! - `pipeline` — load, orient, cut and resize, then the `steps` in API.md §3's order;
//! - `steps` — one file per processing step (trim, crop, fit, filters, pixelate, pad,
//!   watermarks, colour, metadata);
//! - `encode` — the output format, the savers and `max_bytes`;
//! - `resample` — SIMD Lanczos3 resizes of pixels in memory (`jpeg`, watermarks);
//! - `analyse` — what `/info` needs; `pool` — where all of it runs.

pub mod analyse;
mod encode;
mod faces;
mod header;
mod jpeg;
mod pipeline;
mod plan;
pub mod pool;
mod resample;
mod setup;
pub mod sniff;
mod steps;
mod webp;

pub use analyse::Analysis;
pub use faces::{Face, DETECTION_SIZE};
pub use setup::init;
pub use sniff::{sniff, SourceFormat};
pub use steps::watermark::Watermarks;

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use crate::options::{Accepts, Format, Qualities, TransformSpec};
use crate::telemetry::Stage;
use encode::{choose_format, CountingSemaphore};
use header::{open, Header};
use pipeline::{finish, Original};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("source is not an image format we decode ({0})")]
    Unsupported(&'static str),
    #[error("source image is corrupt: {0}")]
    Corrupt(String),
    #[error("image has {pixels} pixels, over the limit of {limit}")]
    TooManyPixels { pixels: u64, limit: u64 },
    #[error("option \"page\": {page} is past the last page ({last})")]
    NoSuchPage { page: u32, last: u32 },
    #[error("could not encode the result as {}", .0.extension())]
    Encode(Format),
    #[error("option \"crop\": the region is outside the image")]
    EmptyCrop,
    #[error("face detection failed")]
    Faces,
}

/// Limits from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_source_pixels: u64,
    pub max_frames: u32,
}

/// A finished image.
#[derive(Clone, Debug)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: Format,
}

pub struct Imaging {
    limits: Limits,
    qualities: Qualities,
    watermarks: Watermarks,
    faces: faces::Faces,
    avif: CountingSemaphore,
    /// Whether JPEGs that shrink decode through `jpeg` (TurboJPEG, scaled, fast IDCT, SIMD
    /// Lanczos) rather than libvips' own loader.
    fast_jpeg: bool,
}

impl Imaging {
    /// `avif_slots`: AVIF encodes allowed at once (they cost ten times a JPEG's CPU).
    pub fn new(limits: Limits, avif_slots: usize) -> Self {
        Self {
            limits,
            qualities: Qualities::default(),
            watermarks: Watermarks::default(),
            faces: faces::Faces::default(),
            avif: CountingSemaphore::new(avif_slots.max(1)),
            fast_jpeg: true,
        }
    }

    /// As the configuration says: its limits, qualities and watermarks (files read and
    /// decoded here; a bad one is the error).
    pub fn configured(config: &crate::config::Config, avif_slots: usize) -> Result<Self, String> {
        let limits = Limits {
            max_source_pixels: config.max_source_pixels,
            max_frames: config.max_frames,
        };
        Ok(Self::new(limits, avif_slots).with(
            config.quality,
            Watermarks::load(&config.watermarks, &config.font)?,
        ))
    }

    /// The same, with these default qualities and watermarks.
    pub fn with(self, qualities: Qualities, watermarks: Watermarks) -> Self {
        Self {
            qualities,
            watermarks,
            ..self
        }
    }

    /// The same, with every JPEG decoded by libvips' accurate loader: the reference the
    /// fast path is compared with (tests, benches).
    pub fn accurate(self) -> Self {
        Self {
            fast_jpeg: false,
            ..self
        }
    }

    /// Transforms an original per `spec`; `accepts` only matters for `fm=auto`.
    pub fn transform(
        &self,
        bytes: &[u8],
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<Output, Error> {
        let opened = open(bytes)?;
        if let Some(original) = self.pass_through(bytes, &opened, spec, accepts)? {
            return Ok(original);
        }
        let (img, format) = {
            let _processing = Stage::start("processing");
            self.prepare(bytes, opened, spec, accepts)?
        };
        // libvips is lazy: the steps after the thumbnail run inside the encoder.
        let _encoding = Stage::start("encoding");
        self.encode(&img, spec, format)
    }

    /// The format [`transform`](Self::transform) writes `bytes` in for `spec`, from the
    /// header alone (with the same checks).
    pub fn output_format(
        &self,
        bytes: &[u8],
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<Format, Error> {
        let (source, _, header) = open(bytes)?;
        Ok(format_for(source, &header, spec, accepts).0)
    }

    /// The original as it is, for imgproxy's `skip_processing` and `raw`: when its format is
    /// listed and is the output's. Sniffed, checked and held to the pixel limit all the same.
    fn pass_through(
        &self,
        bytes: &[u8],
        (source, _, header): &(SourceFormat, VipsImage, Header),
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<Option<Output>, Error> {
        let (source, header) = (*source, *header);
        if spec.pass_through.is_empty() {
            return Ok(None);
        }
        let animated = source.animates() && header.pages > 1;
        let format = choose_format(spec.format, source, header.has_alpha, animated, accepts);
        if source.as_output() != Some(format) || !spec.pass_through.contains(&format) {
            return Ok(None);
        }
        self.check_pixels(pixels(header.width, header.height, header.pages))?;
        Ok(Some(Output {
            bytes: bytes.to_vec(),
            format,
        }))
    }

    /// The decoded, resized and finished image, and the format to write it in.
    fn prepare(
        &self,
        bytes: &[u8],
        (source, opened, header): (SourceFormat, VipsImage, Header),
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<(VipsImage, Format), Error> {
        if let Some(page) = spec.page {
            if page >= header.pages {
                return Err(Error::NoSuchPage {
                    page,
                    last: header.pages - 1,
                });
            }
        }
        let (format, animated) = format_for(source, &header, spec, accepts);
        let frames = if animated && format.can_animate() {
            header.pages.min(self.limits.max_frames)
        } else {
            1
        };
        self.check_pixels(pixels(header.width, header.height, frames))?;
        let original = Original {
            bytes,
            format: source,
            header,
            opened,
            frames,
        };
        let faces = if spec.needs_faces() {
            // First frame (or `page`), as displayed, then turned like the image.
            let found = self
                .faces
                .locate(bytes, spec.page, spec.ignore_orientation)?;
            faces::Located(found.to_vec()).turned(spec.rotate, spec.flip)
        } else {
            faces::Located::default()
        };
        let resized = self.resize(&original, spec, faces)?;
        let img = finish(resized, spec, format, &original, &self.watermarks)?;
        Ok((img, format))
    }

    /// `bytes` decoded and resized to `target` (upright) by the fast JPEG path, when it is
    /// on and applies; `None` sends the caller to libvips' loader.
    fn shrink_jpeg(
        &self,
        bytes: &[u8],
        source: SourceFormat,
        header: &Header,
        target: (u32, u32),
    ) -> Option<Result<VipsImage, Error>> {
        (self.fast_jpeg && source == SourceFormat::Jpeg)
            .then(|| jpeg::shrink(bytes, header, target))
            .flatten()
    }

    /// A PNG written again by libvips, for screenshots: Chromium's own PNG encoder is slow
    /// and large, so pages are captured with its fast setting and compressed here (a
    /// 1200×630 card: 353 kB for ~100 ms of browser CPU in Chromium, 210 kB for ~50 ms
    /// here). Read and written line by line, so a tall full-page capture stays small in
    /// memory.
    pub fn compact_png(&self, png: &[u8]) -> Result<Vec<u8>, Error> {
        let _encoding = Stage::start("encoding");
        let img = VipsImage::pngload_buffer_with_opts(
            png,
            VOption::new().set("access", enums::Access::Sequential as i32),
        )
        .map_err(corrupt)?;
        img.pngsave_buffer_with_opts(VOption::new().set("strip", true))
            .map_err(|e| {
                tracing::debug!(detail = %vips_message(&e), "libvips failed to encode");
                Error::Encode(Format::Png)
            })
    }

    fn check_pixels(&self, pixels: u64) -> Result<(), Error> {
        let limit = self.limits.max_source_pixels;
        if pixels > limit {
            return Err(Error::TooManyPixels { pixels, limit });
        }
        Ok(())
    }
}

/// The output format for `spec`, and whether the output animates (every frame kept).
fn format_for(
    source: SourceFormat,
    header: &Header,
    spec: &TransformSpec,
    accepts: Accepts,
) -> (Format, bool) {
    let animated = source.animates() && header.pages > 1 && spec.page.is_none();
    (
        choose_format(spec.format, source, header.has_alpha, animated, accepts),
        animated,
    )
}

fn pixels(width: u32, height: u32, frames: u32) -> u64 {
    u64::from(width)
        .saturating_mul(u64::from(height))
        .saturating_mul(u64::from(frames))
}

fn vips_message(e: &rs_vips::error::Error) -> String {
    // libvips errors run over several lines; the first carries the meaning.
    let text = e.to_string();
    let text = text
        .split_once(". ")
        .map_or(text.as_str(), |(_, detail)| detail);
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// libvips' own message goes to the log only: its error buffer is shared by every thread,
/// so under load it may describe another request's image.
fn corrupt(e: rs_vips::error::Error) -> Error {
    tracing::debug!(detail = %vips_message(&e), "libvips failed");
    Error::Corrupt("libvips could not decode it".into())
}
