//! The libvips pipeline: sniff, check limits from the header, shrink-on-load thumbnail,
//! rotate/crop/letterbox, colour to sRGB, strip metadata, encode.
//!
//! Everything here is blocking and runs on the bounded pool of [`pool`]; nothing here
//! sees a raw query string, only a [`TransformSpec`].

pub mod analyse;
pub mod pool;
mod sniff;

pub use analyse::Analysis;

use std::sync::{Condvar, Mutex};

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, Vips, VipsImage};

use crate::options::{Fit, Format, FormatChoice, Gravity, Rgba, Rotation, TransformSpec};
use crate::telemetry::Stage;
pub use sniff::{sniff, SourceFormat};

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
}

/// Starts libvips once per process, tuned for many small jobs in parallel.
pub fn init() -> Result<(), String> {
    // Loaders libvips itself marks untrusted (ImageMagick, matload, FITS, …) stay off:
    // the format sniffer only lets through formats we decode anyway, this is a second lock.
    std::env::set_var("VIPS_BLOCK_UNTRUSTED", "1");
    Vips::init("ferrotype").map_err(|e| e.to_string())?;
    // SVG is the exception: librsvg only ever sees documents that `sniff::check_structure`
    // found free of entities, scripts and external references.
    // SAFETY: a plain call into libvips with a NUL-terminated class name, after init.
    unsafe { rs_vips::bindings::vips_operation_block_set(c"VipsForeignLoadSvg".as_ptr(), 0) };
    // Parallelism comes from running requests side by side; more vips threads per image
    // gave nothing on small machines (see STACK.md) and fight the worker pool.
    Vips::concurrency_set(1);
    // Results are cached by the server; libvips' operation cache would only hold memory.
    Vips::cache_set_max(0);
    // SAFETY: installs a function with the GLogFunc signature that outlives the process.
    unsafe { rs_vips::bindings::g_log_set_default_handler(Some(glib_log), std::ptr::null_mut()) };
    Ok(())
}

/// libvips and GLib messages ("heifload: ignoring nclx profile", five times per AVIF) are
/// about one image, whose request already answers for itself: they go to the log at debug
/// level, as log events rather than raw lines on stderr between the request lines.
unsafe extern "C" fn glib_log(
    domain: *const std::ffi::c_char,
    level: rs_vips::bindings::GLogLevelFlags,
    message: *const std::ffi::c_char,
    _: rs_vips::bindings::gpointer,
) {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            std::borrow::Cow::Borrowed("")
        } else {
            // SAFETY: GLib passes NUL-terminated strings valid for the call.
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy()
        }
    };
    tracing::debug!(domain = %text(domain), level, "{}", text(message));
}

/// Limits from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_source_pixels: u64,
    pub max_frames: u32,
}

/// Output formats the client's `Accept` header lists, for `fm=auto`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Accepts {
    pub avif: bool,
    pub webp: bool,
}

impl Accepts {
    pub fn from_header(accept: &str) -> Self {
        let listed = |mime: &str| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim();
                // `q=0` means "not acceptable".
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                name.eq_ignore_ascii_case(mime) && !refused
            })
        };
        Self {
            avif: listed("image/avif"),
            webp: listed("image/webp"),
        }
    }
}

/// A finished image.
#[derive(Clone, Debug)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: Format,
}

/// What the header says, before any pixel is decoded.
#[derive(Clone, Copy, Debug)]
struct Header {
    width: u32,
    /// One page's height.
    height: u32,
    pages: u32,
    orientation: i32,
    has_alpha: bool,
}

pub struct Imaging {
    limits: Limits,
    avif: CountingSemaphore,
}

impl Imaging {
    /// `avif_slots`: AVIF encodes allowed at once (they cost ten times a JPEG's CPU).
    pub fn new(limits: Limits, avif_slots: usize) -> Self {
        Self {
            limits,
            avif: CountingSemaphore::new(avif_slots.max(1)),
        }
    }

    /// Transforms an original per `spec`; `accepts` only matters for `fm=auto`.
    pub fn transform(
        &self,
        bytes: &[u8],
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<Output, Error> {
        let (img, format) = {
            let _processing = Stage::start("processing");
            self.prepare(bytes, spec, accepts)?
        };
        // libvips is lazy: the steps after the thumbnail run inside the encoder.
        let _encoding = Stage::start("encoding");
        self.encode(&img, spec, format)
    }

    /// The decoded, resized and finished image, and the format to write it in.
    fn prepare(
        &self,
        bytes: &[u8],
        spec: &TransformSpec,
        accepts: Accepts,
    ) -> Result<(VipsImage, Format), Error> {
        let (source, _, header) = open(bytes)?;
        if let Some(page) = spec.page {
            if page >= header.pages {
                return Err(Error::NoSuchPage {
                    page,
                    last: header.pages - 1,
                });
            }
        }
        let animated = source.animates() && header.pages > 1 && spec.page.is_none();
        let format = choose_format(spec.format, source, header.has_alpha, animated, accepts);
        let frames = if animated && format.can_animate() {
            header.pages.min(self.limits.max_frames)
        } else {
            1
        };
        self.check_pixels(pixels(header.width, header.height, frames))?;

        let plan = Plan::new(&header, spec);
        self.check_pixels(pixels(plan.canvas.0, plan.canvas.1, frames))?;

        let img = thumbnail(bytes, &plan, spec.page, frames)?;
        Ok((finish(img, &plan, spec, format, frames)?, format))
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

    fn encode(
        &self,
        img: &VipsImage,
        spec: &TransformSpec,
        format: Format,
    ) -> Result<Output, Error> {
        let strip = !spec.keep_metadata;
        let err = |e: rs_vips::error::Error| {
            tracing::debug!(detail = %vips_message(&e), "libvips failed to encode");
            Error::Encode(format)
        };
        let bytes = match format {
            Format::Jpeg => {
                let q = spec.quality.map_or(80, i32::from);
                img.jpegsave_buffer_with_opts(
                    VOption::new()
                        .set("Q", q)
                        .set("strip", strip)
                        .set("optimize-coding", true),
                )
            }
            Format::Png => img.pngsave_buffer_with_opts(VOption::new().set("strip", strip)),
            Format::Webp => {
                let q = spec.quality.map_or(80, i32::from);
                img.webpsave_buffer_with_opts(VOption::new().set("Q", q).set("strip", strip))
                    .map(|b| if strip { strip_webp_metadata(b) } else { b })
            }
            Format::Avif => {
                let q = spec.quality.map_or(55, i32::from);
                let _slot = self.avif.acquire();
                img.heifsave_buffer_with_opts(
                    VOption::new()
                        .set("Q", q)
                        .set("compression", "av1")
                        // Effort 4 (the default) costs 8x effort 2 for a few percent of size.
                        .set("effort", 2)
                        .set("strip", strip),
                )
            }
            Format::Gif => img.gifsave_buffer_with_opts(VOption::new().set("strip", strip)),
        }
        .map_err(err)?;
        Ok(Output { bytes, format })
    }
}

fn pixels(width: u32, height: u32, frames: u32) -> u64 {
    u64::from(width)
        .saturating_mul(u64::from(height))
        .saturating_mul(u64::from(frames))
}

/// API.md §3: `fm` absent follows the source; `auto` negotiates; both fall back on
/// JPEG, PNG for alpha, GIF for animation.
fn choose_format(
    choice: FormatChoice,
    source: SourceFormat,
    alpha: bool,
    animated: bool,
    accepts: Accepts,
) -> Format {
    let fallback = if animated {
        Format::Gif
    } else if alpha {
        Format::Png
    } else {
        Format::Jpeg
    };
    match choice {
        FormatChoice::Fixed(f) => f,
        FormatChoice::Source => source.as_output().unwrap_or(fallback),
        // libvips 8.14 writes still AVIF only, so animations prefer WebP.
        FormatChoice::Auto if accepts.avif && !animated => Format::Avif,
        FormatChoice::Auto if accepts.webp => Format::Webp,
        FormatChoice::Auto => fallback,
    }
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

/// An original's format (sniffed, its structure checked) and its header, with the image
/// opened for more of it: what every endpoint knows before deciding to decode. Opening
/// from a buffer reads only the header; pixels are decoded later, on demand.
fn open(bytes: &[u8]) -> Result<(SourceFormat, VipsImage, Header), Error> {
    let source = sniff(bytes)?;
    sniff::check_structure(source, bytes)?;
    let img = VipsImage::new_from_buffer(bytes, "").map_err(corrupt)?;
    let header = header_of(&img)?;
    Ok((source, img, header))
}

fn header_of(img: &VipsImage) -> Result<Header, Error> {
    let width = u32::try_from(img.get_width()).unwrap_or(0);
    let pages = int_field(img, "n-pages")
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1)
        .max(1);
    let height = u32::try_from(img.get_height()).unwrap_or(0);
    if width == 0 || height == 0 {
        return Err(Error::Corrupt("zero-sized image".into()));
    }
    Ok(Header {
        width,
        height,
        pages,
        orientation: int_field(img, "orientation").unwrap_or(1),
        has_alpha: img.hasalpha(),
    })
}

impl Header {
    /// Width and height as displayed: EXIF orientations 5–8 swap them.
    fn upright(&self) -> (u32, u32) {
        if (5..=8).contains(&self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// Sizes in device pixels, in the final orientation unless said otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    /// The image resized, before cropping or letterboxing.
    resized: (u32, u32),
    /// The output.
    canvas: (u32, u32),
    rotate: Rotation,
}

impl Plan {
    fn new(header: &Header, spec: &TransformSpec) -> Self {
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
    fn thumbnail_size(&self) -> (u32, u32) {
        if self.rotate.swaps_axes() {
            (self.resized.1, self.resized.0)
        } else {
            self.resized
        }
    }
}

fn thumbnail(
    bytes: &[u8],
    plan: &Plan,
    page: Option<u32>,
    frames: u32,
) -> Result<VipsImage, Error> {
    let (w, h) = plan.thumbnail_size();
    let mut load = Vec::new();
    if let Some(p) = page {
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
    let img = VipsImage::thumbnail_buffer_with_opts(bytes, w as i32, opts).map_err(corrupt)?;
    // The thumbnail streams from the decoder and can be read once, top to bottom; rotation,
    // smart crops and frame splitting read it out of order. The resized image is small
    // (bounded by the pixel limit), so it is decoded into memory once, here.
    img.copy_memory().map_err(corrupt)
}

/// Everything after the resize: rotation, crop or letterbox, filters, colour, alpha, metadata.
fn finish(
    img: VipsImage,
    plan: &Plan,
    spec: &TransformSpec,
    format: Format,
    frames: u32,
) -> Result<VipsImage, Error> {
    let img = to_srgb(img)?;
    let img = per_frame(&img, frames, |frame| {
        let mut f = match plan.rotate {
            Rotation::R0 => frame.copy(),
            Rotation::R90 => frame.rot(enums::Angle::D90),
            Rotation::R180 => frame.rot(enums::Angle::D180),
            Rotation::R270 => frame.rot(enums::Angle::D270),
        }?;
        if plan.canvas != plan.resized {
            f = match spec.fit {
                Fit::Contain => letterbox(&f, plan.canvas, spec.background, format)?,
                _ => crop(&f, plan.canvas, spec.gravity)?,
            };
        }
        if let Some(sigma) = spec.blur {
            f = f.gaussblur(sigma)?;
        }
        if let Some(sigma) = spec.sharpen {
            f = f.sharpen_with_opts(VOption::new().set("sigma", sigma))?;
        }
        Ok(f)
    })
    .map_err(corrupt)?;
    let img = if format == Format::Jpeg && img.hasalpha() {
        let bg = spec.background;
        let colour = [f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
        img.flatten_with_opts(VOption::new().set("background", &colour[..]))
            .map_err(corrupt)?
    } else {
        img
    };
    let mut img = img.copy().map_err(corrupt)?;
    if !spec.keep_metadata {
        // webpsave on libvips 8.14 ignores `strip` and rebuilds EXIF from the `exif-*`
        // fields, so every metadata field goes before any saver sees the image.
        for field in field_names(&img) {
            if STRIPPED_PREFIXES.iter().any(|p| field.starts_with(p)) {
                let _ = img.remove(&field);
            }
        }
    }
    Ok(img)
}

/// Drops the `EXIF` and `XMP ` chunks of a WebP file. libvips 8.14's webpsave writes a
/// fresh EXIF block (resolution, orientation, dimensions) even with `strip` and with every
/// metadata field removed, so the container is edited after encoding.
fn strip_webp_metadata(webp: Vec<u8>) -> Vec<u8> {
    const EXIF_FLAG: u8 = 0x08;
    const XMP_FLAG: u8 = 0x04;
    if webp.len() < 12 || &webp[0..4] != b"RIFF" || &webp[8..12] != b"WEBP" {
        return webp;
    }
    let mut out = webp[..12].to_vec();
    let mut i = 12;
    while i + 8 <= webp.len() {
        let fourcc = &webp[i..i + 4];
        let size =
            u32::from_le_bytes([webp[i + 4], webp[i + 5], webp[i + 6], webp[i + 7]]) as usize;
        let end = (i + 8 + size + (size & 1)).min(webp.len());
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let at = out.len() + 8;
                out.extend_from_slice(&webp[i..end]);
                if let Some(flags) = out.get_mut(at) {
                    *flags &= !(EXIF_FLAG | XMP_FLAG);
                }
            }
            _ => out.extend_from_slice(&webp[i..end]),
        }
        i = end;
    }
    let riff_size = u32::try_from(out.len() - 8).unwrap_or(u32::MAX);
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    out
}

/// Metadata that `meta=0` removes: EXIF, XMP, IPTC, ICC (pixels are sRGB by then) and comments.
const STRIPPED_PREFIXES: &[&str] = &[
    "exif-",
    "xmp-",
    "iptc-",
    "icc-profile-",
    "png-comment-",
    "gif-comment",
];

fn field_names(img: &VipsImage) -> Vec<String> {
    use rs_vips::bindings::{g_strfreev, vips_image_get_fields};
    let mut names = Vec::new();
    // SAFETY: `vips_image_get_fields` returns a NULL-terminated array of C strings that we
    // own; each is copied out before the array is freed with `g_strfreev`, once.
    unsafe {
        let fields = vips_image_get_fields(img.as_mut_ptr());
        if fields.is_null() {
            return names;
        }
        let mut i = 0;
        while !(*fields.add(i)).is_null() {
            names.push(
                std::ffi::CStr::from_ptr(*fields.add(i))
                    .to_string_lossy()
                    .into_owned(),
            );
            i += 1;
        }
        g_strfreev(fields);
    }
    names
}

/// Converts to 8-bit sRGB (keeping alpha) whatever the source's colour space and depth.
fn to_srgb(img: VipsImage) -> Result<VipsImage, Error> {
    let interpretation = img.get_interpretation().map_err(corrupt)?;
    let eight_bit = img.get_format().map_err(corrupt)? == enums::BandFormat::Uchar;
    if interpretation == enums::Interpretation::Srgb && eight_bit {
        return Ok(img);
    }
    img.colourspace(enums::Interpretation::Srgb)
        .map_err(corrupt)
}

/// Applies `f` to each frame of an animation (stacked vertically by libvips), or to the image.
fn per_frame(
    img: &VipsImage,
    frames: u32,
    f: impl Fn(&VipsImage) -> rs_vips::Result<VipsImage>,
) -> rs_vips::Result<VipsImage> {
    if frames <= 1 {
        return f(img);
    }
    let page_height = img.get_page_height();
    let n = img.get_height() / page_height.max(1);
    let done: Vec<VipsImage> = (0..n)
        .map(|i| f(&img.extract_area(0, i * page_height, img.get_width(), page_height)?))
        .collect::<rs_vips::Result<_>>()?;
    let new_height = done.first().map_or(page_height, VipsImage::get_height);
    let joined = VipsImage::arrayjoin_with_opts(&done, VOption::new().set("across", 1))?;
    // Frames carry the animation's metadata (delays, loop count) from the source through
    // extract_area and arrayjoin; only the frame height changed.
    let mut out = joined.copy()?;
    out.set_int("page-height", new_height)?;
    Ok(out)
}

/// Whether `img` has metadata `field`. Asking libvips for a missing field fails and leaves
/// a message in its process-wide error buffer, where it would spoil the next real error.
fn has_field(img: &VipsImage, field: &str) -> bool {
    img.get_typeof(field).is_ok_and(|t| t != 0)
}

fn int_field(img: &VipsImage, field: &str) -> Option<i32> {
    has_field(img, field)
        .then(|| img.get_int(field).ok())
        .flatten()
}

fn crop(img: &VipsImage, (cw, ch): (u32, u32), gravity: Gravity) -> rs_vips::Result<VipsImage> {
    let (w, h) = (img.get_width(), img.get_height());
    let (cw, ch) = ((cw as i32).min(w), (ch as i32).min(h));
    let interesting = match gravity {
        Gravity::Attention => Some("attention"),
        Gravity::Entropy => Some("entropy"),
        _ => None,
    };
    if let Some(how) = interesting {
        return img.smartcrop_with_opts(cw, ch, VOption::new().set("interesting", how));
    }
    let (spare_x, spare_y) = (f64::from(w - cw), f64::from(h - ch));
    let (left, top) = match gravity {
        Gravity::Focal { x, y } => (
            (x * f64::from(w) - f64::from(cw) / 2.0).clamp(0.0, spare_x),
            (y * f64::from(h) - f64::from(ch) / 2.0).clamp(0.0, spare_y),
        ),
        other => {
            let (gx, gy) = compass(other);
            (gx * spare_x, gy * spare_y)
        }
    };
    img.extract_area(left.round() as i32, top.round() as i32, cw, ch)
}

/// Where a compass gravity sits, as fractions of the spare width and height.
fn compass(g: Gravity) -> (f64, f64) {
    match g {
        Gravity::North => (0.5, 0.0),
        Gravity::South => (0.5, 1.0),
        Gravity::East => (1.0, 0.5),
        Gravity::West => (0.0, 0.5),
        Gravity::NorthEast => (1.0, 0.0),
        Gravity::NorthWest => (0.0, 0.0),
        Gravity::SouthEast => (1.0, 1.0),
        Gravity::SouthWest => (0.0, 1.0),
        _ => (0.5, 0.5),
    }
}

fn letterbox(
    img: &VipsImage,
    (cw, ch): (u32, u32),
    bg: Rgba,
    format: Format,
) -> rs_vips::Result<VipsImage> {
    let transparent_bg = bg.a < 255 && format != Format::Jpeg;
    let img = if transparent_bg && !img.hasalpha() {
        img.bandjoin_const(&[255.0])?
    } else {
        img.copy()?
    };
    let mut colour = vec![f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
    if img.hasalpha() {
        colour.push(if transparent_bg {
            f64::from(bg.a)
        } else {
            255.0
        });
    }
    img.gravity_with_opts(
        enums::CompassDirection::Centre,
        cw as i32,
        ch as i32,
        VOption::new()
            .set("extend", "background")
            .set("background", colour.as_slice()),
    )
}

/// A blocking counting semaphore: AVIF encodes run inside pool threads, not async tasks.
struct CountingSemaphore {
    free: Mutex<usize>,
    freed: Condvar,
}

struct Slot<'a>(&'a CountingSemaphore);

impl CountingSemaphore {
    fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.freed.notify_one();
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

    #[test]
    fn format_choice() {
        let none = Accepts::default();
        let webp = Accepts::from_header("image/webp,*/*");
        let avif = Accepts::from_header("image/avif,image/webp;q=0.9");
        assert_eq!(Accepts::from_header("image/avif;q=0, image/webp"), webp);
        let src = SourceFormat::Jpeg;
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, avif),
            Format::Avif
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, webp),
            Format::Webp
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, false, false, none),
            Format::Jpeg
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, src, true, false, none),
            Format::Png
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, SourceFormat::Gif, false, true, avif),
            Format::Webp
        );
        assert_eq!(
            choose_format(FormatChoice::Auto, SourceFormat::Gif, false, true, none),
            Format::Gif
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Tiff, false, false, none),
            Format::Jpeg
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Tiff, true, false, none),
            Format::Png
        );
        assert_eq!(
            choose_format(FormatChoice::Source, SourceFormat::Webp, true, false, none),
            Format::Webp
        );
    }
}
