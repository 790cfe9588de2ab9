//! The fast path for the everyday request: a JPEG photo made much smaller. libjpeg-turbo
//! (through its TurboJPEG API) decodes it already reduced by 2, 4 or 8 in its DCT, with
//! its fast IDCT and plain chroma upsampling — what Pillow's `draft` mode does — and the
//! rest of the way is a Lanczos3 resize, the kernel of libvips' own thumbnail, done in the
//! worker's thread with SIMD (`resample`) rather than through a libvips pipeline. When the decoded image is going to be shrunk again, the accurate IDCT and the
//! smooth upsampling buy nothing visible (the unit test compares both paths over the
//! corpus at the output size: SSIM ≥ 0.99, PSNR ≥ 40 dB).
//!
//! Only baseline and progressive YCbCr, RGB and greyscale JPEGs that shrink by 2 or more
//! take it; CMYK and YCCK need their colour management, so they go through libvips.

use std::ffi::{c_char, c_int, c_uchar, c_ulong, c_void, CStr};

use rs_vips::VipsImage;

use super::header::Header;
use super::resample::{lanczos, Pixels};
use super::{corrupt, Error};

#[link(name = "turbojpeg")]
extern "C" {
    fn tjInitDecompress() -> *mut c_void;
    fn tjDecompressHeader3(
        handle: *mut c_void,
        jpeg: *const c_uchar,
        size: c_ulong,
        width: *mut c_int,
        height: *mut c_int,
        subsampling: *mut c_int,
        colourspace: *mut c_int,
    ) -> c_int;
    fn tjDecompress2(
        handle: *mut c_void,
        jpeg: *const c_uchar,
        size: c_ulong,
        dst: *mut c_uchar,
        width: c_int,
        pitch: c_int,
        height: c_int,
        pixel_format: c_int,
        flags: c_int,
    ) -> c_int;
    fn tjGetErrorCode(handle: *mut c_void) -> c_int;
    fn tjGetErrorStr2(handle: *mut c_void) -> *mut c_char;
    fn tjDestroy(handle: *mut c_void) -> c_int;
}

const TJPF_RGB: c_int = 0;
const TJPF_GRAY: c_int = 6;
const TJCS_RGB: c_int = 0;
const TJCS_YCBCR: c_int = 1;
const TJCS_GRAY: c_int = 2;
const TJFLAG_FASTUPSAMPLE: c_int = 256;
const TJFLAG_FASTDCT: c_int = 2048;
const TJERR_WARNING: c_int = 0;

/// Decode buffers up to this size stay with their worker thread for the next image: a
/// fresh one of tens of megabytes costs a page fault every 4 KiB (a tenth of a batch's CPU
/// time went to the kernel); larger ones are returned at once.
const KEPT_BUFFER: usize = 48 << 20;

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One TurboJPEG decompressor, destroyed with the value.
struct Decompressor(*mut c_void);

impl Decompressor {
    fn new() -> Option<Self> {
        // SAFETY: no arguments; a null handle is checked.
        let handle = unsafe { tjInitDecompress() };
        (!handle.is_null()).then_some(Self(handle))
    }

    fn message(&self) -> String {
        // SAFETY: the handle is valid; TurboJPEG returns a NUL-terminated string it owns.
        unsafe { CStr::from_ptr(tjGetErrorStr2(self.0)) }
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: the handle came from tjInitDecompress and is destroyed once.
        unsafe { tjDestroy(self.0) };
    }
}

/// `bytes`, a JPEG, decoded and resized to exactly `target` (after EXIF orientation,
/// which is applied); `None` when the fast path does not apply (nothing to shrink, a
/// colour space it leaves to libvips, a header TurboJPEG does not read), so the caller
/// takes the accurate one. The result carries no metadata: for `meta=0` only.
pub(super) fn shrink(
    bytes: &[u8],
    header: &Header,
    target: (u32, u32),
) -> Option<Result<VipsImage, Error>> {
    let tj = Decompressor::new()?;
    let size = c_ulong::try_from(bytes.len()).ok()?;
    let (mut width, mut height, mut subsampling, mut colourspace) = (0, 0, 0, 0);
    // SAFETY: `bytes` is valid for `size` bytes; the outputs are plain integers.
    let read = unsafe {
        tjDecompressHeader3(
            tj.0,
            bytes.as_ptr(),
            size,
            &mut width,
            &mut height,
            &mut subsampling,
            &mut colourspace,
        )
    };
    if read != 0 || width <= 0 || height <= 0 {
        return None;
    }
    let (pixel_format, bands) = match colourspace {
        TJCS_YCBCR | TJCS_RGB => (TJPF_RGB, 3),
        TJCS_GRAY => (TJPF_GRAY, 1),
        _ => return None,
    };
    // The target in the stored orientation.
    let (tw, th) = if header.turns() {
        (target.1, target.0)
    } else {
        target
    };
    let (w, h) = (i64::from(width), i64::from(height));
    // The largest reduction in the DCT that leaves Lanczos at least 1.5× to shrink: closer
    // than that, the block reduction's sharpness shows (libvips leaves 2×, Pillow's draft
    // 1×; at 1.5× the bench photo decodes at 1/4, as with Pillow, and stays within the
    // test's bounds). Else the whole image, when it shrinks at all: Lanczos alone, in SIMD,
    // where libvips 8.14's reduce has no vector code.
    let (tw64, th64) = (i64::from(tw), i64::from(th));
    let denom = [8, 4, 2]
        .into_iter()
        .find(|d| 2 * (w / d) >= 3 * tw64 && 2 * (h / d) >= 3 * th64)
        .or_else(|| (w > tw64 && h >= th64 || h > th64 && w >= tw64).then_some(1))?;
    let (dw, dh) = ((w + denom - 1) / denom, (h + denom - 1) / denom);
    // The fast IDCT and chroma upsampling hide in a reduction of 2 or more; a whole-size
    // decode shrunk a little would show them (2 dB further from libvips at 1.3×).
    let flags = if denom > 1 {
        TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE
    } else {
        0
    };
    let len = usize::try_from(dw * dh * bands).ok()?;
    let mut pixels = BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
    // Zeroed every time: a decode that stops short must show black, never the last image.
    pixels.clear();
    pixels.resize(len, 0);
    // SAFETY: `pixels` holds dw × dh × bands bytes, which is what TurboJPEG writes for the
    // scaled size it picks for (dw, dh): the exact 1/denom scaling of the header's size.
    let decoded = unsafe {
        tjDecompress2(
            tj.0,
            bytes.as_ptr(),
            size,
            pixels.as_mut_ptr(),
            dw as c_int,
            0,
            dh as c_int,
            pixel_format,
            flags,
        )
    };
    // A warning (libjpeg's "corrupt data" kind) still leaves a whole image, as libvips'
    // `fail-on=error` accepts; a fatal error does not.
    // SAFETY: the handle is valid.
    if decoded != 0 && unsafe { tjGetErrorCode(tj.0) } != TJERR_WARNING {
        tracing::debug!(detail = %tj.message(), "TurboJPEG failed");
        return Some(Err(Error::Corrupt("libjpeg could not decode it".into())));
    }
    // libvips' loader leaves out the last, partial row and column of a reduced decode (an
    // edge of fewer source pixels than the others): so does this path.
    let decoded = Pixels {
        data: &pixels,
        size: (dw as u32, dh as u32),
        bands: bands as u8,
    };
    let kept = ((w / denom) as u32, (h / denom) as u32);
    let resized = lanczos(&decoded, kept, (tw, th));
    if pixels.capacity() <= KEPT_BUFFER {
        BUFFER.with(|b| *b.borrow_mut() = pixels);
    }
    Some(resized.and_then(|img| upright(img, header.orientation)))
}

/// `img`, stored with EXIF `orientation`, turned upright.
fn upright(mut img: VipsImage, orientation: i32) -> Result<VipsImage, Error> {
    if orientation == 1 {
        return Ok(img);
    }
    img.set_int("orientation", orientation).map_err(corrupt)?;
    img.autorot().map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use rs_vips::voption::{Setter, VOption};
    use rs_vips::VipsImage;

    use crate::imaging::{Imaging, Limits};
    use crate::options::{parse_transform, Accepts};

    /// Every JPEG of the corpus, by name.
    fn corpus() -> Vec<(String, Vec<u8>)> {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut files = Vec::new();
        for dir in ["photo", "orientation", "jpeg"] {
            for entry in std::fs::read_dir(corpus.join(dir)).unwrap() {
                let path: PathBuf = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                    files.push((
                        format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()),
                        bytes,
                    ));
                }
            }
        }
        files.sort();
        files
    }

    /// The corpus's orientation files are too small to be shrunk: a photo cut to an odd
    /// size, written with each EXIF orientation, with 4:4:4 chroma, and in grey.
    fn made() -> Vec<(String, Vec<u8>)> {
        let photo =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/photo/bench-small-2mp.jpg");
        let cut = VipsImage::new_from_file(&photo)
            .and_then(|i| i.extract_area(17, 11, 1531, 1017))
            .unwrap();
        let save = |img: &VipsImage, opts: VOption| {
            img.jpegsave_buffer_with_opts(opts.set("Q", 90)).unwrap()
        };
        let mut out = Vec::new();
        for orientation in 1..=8 {
            let mut img = cut.copy().unwrap();
            img.set_int("orientation", orientation).unwrap();
            out.push((
                format!("made/orientation-{orientation}"),
                save(&img, VOption::new()),
            ));
        }
        out.push((
            "made/444".into(),
            save(&cut, VOption::new().set("subsample-mode", "off")),
        ));
        let grey = cut.colourspace(rs_vips::enums::Interpretation::BW).unwrap();
        out.push(("made/grey".into(), save(&grey, VOption::new())));
        out
    }

    /// Decoded 8-bit pixels and the size.
    fn pixels(png: &[u8]) -> (Vec<u8>, i32, i32, i32) {
        let img = VipsImage::new_from_buffer(png, "").unwrap();
        let (w, h, b) = (img.get_width(), img.get_height(), img.get_bands());
        (img.write_to_memory(), w, h, b)
    }

    /// Luma of 8-bit pixels with `bands` bands (1: grey, 3 or more: RGB first).
    fn luma(p: &[u8], bands: usize) -> Vec<f64> {
        p.chunks_exact(bands)
            .map(|px| match px {
                [r, g, b, ..] => {
                    0.299 * f64::from(*r) + 0.587 * f64::from(*g) + 0.114 * f64::from(*b)
                }
                [y, ..] => f64::from(*y),
                [] => 0.0,
            })
            .collect()
    }

    /// Mean SSIM of the luma over 8×8 windows, 4 apart (Wang et al. 2004's constants).
    fn ssim(a: &[u8], b: &[u8], width: usize, height: usize, bands: usize) -> f64 {
        let (ya, yb) = (luma(a, bands), luma(b, bands));
        let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
        let (mut total, mut windows) = (0.0, 0);
        for top in (0..height.saturating_sub(7)).step_by(4) {
            for left in (0..width.saturating_sub(7)).step_by(4) {
                let at = |y: &[f64], i: usize| y[(top + i / 8) * width + left + i % 8];
                let mean = |y: &[f64]| (0..64).map(|i| at(y, i)).sum::<f64>() / 64.0;
                let (ma, mb) = (mean(&ya), mean(&yb));
                let (mut va, mut vb, mut cov) = (0.0, 0.0, 0.0);
                for i in 0..64 {
                    let (da, db) = (at(&ya, i) - ma, at(&yb, i) - mb);
                    va += da * da;
                    vb += db * db;
                    cov += da * db;
                }
                let (va, vb, cov) = (va / 63.0, vb / 63.0, cov / 63.0);
                total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                    / ((ma * ma + mb * mb + c1) * (va + vb + c2));
                windows += 1;
            }
        }
        if windows == 0 {
            // Smaller than a window: only equal pixels are alike.
            return if a == b { 1.0 } else { 0.0 };
        }
        total / f64::from(windows)
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0f64 * 255.0 / mse).log10()
        }
    }

    /// The fast path's output against libvips' accurate loader's, at the output size and
    /// written losslessly, over every JPEG of the corpus and the ones made above
    /// (baseline, progressive, 4:2:0 and 4:4:4, greyscale, CMYK, MPO, every EXIF
    /// orientation, odd sizes), for several boxes. Measured: SSIM ≥ 0.995, PSNR ≥ 43 dB.
    #[test]
    fn fast_path_stays_close_to_the_accurate_one() {
        crate::imaging::init().unwrap();
        let limits = Limits {
            max_source_pixels: 50_000_000,
            max_frames: 1,
        };
        let fast = Imaging::new(limits, 1);
        let accurate = Imaging::new(limits, 1).accurate();
        let mut worst = f64::INFINITY;
        let mut worst_ssim = f64::INFINITY;
        let mut compared = 0;
        for (path, bytes) in corpus().into_iter().chain(made()) {
            for query in [
                "w=300&fm=png",
                "w=317&h=211&fit=cover&fm=png",
                "h=97&fm=png",
                "w=640&h=640&fit=contain&fm=png",
            ] {
                let spec = parse_transform("/transform/a/b.jpg", query).unwrap().spec;
                let one = fast.transform(&bytes, &spec, Accepts::default());
                let two = accurate.transform(&bytes, &spec, Accepts::default());
                let (one, two) = match (one, two) {
                    (Ok(one), Ok(two)) => (one, two),
                    (Err(a), Err(b)) => {
                        assert_eq!(a, b, "{}: the same refusal", path);
                        continue;
                    }
                    (a, b) => panic!("{}: {query}: {a:?} vs {b:?}", path),
                };
                let (a, aw, ah, ab) = pixels(&one.bytes);
                let (b, bw, bh, bb) = pixels(&two.bytes);
                assert_eq!((aw, ah, ab), (bw, bh, bb), "{}: {query}", path);
                let db = psnr(&a, &b);
                let similar = ssim(&a, &b, aw as usize, ah as usize, ab as usize);
                eprintln!("{db:6.1} dB  SSIM {similar:.4}  {query:32} {}", path);
                worst = worst.min(db);
                worst_ssim = worst_ssim.min(similar);
                compared += 1;
            }
        }
        eprintln!("worst {worst:.1} dB, SSIM {worst_ssim:.4} over {compared} comparisons");
        assert!(compared >= 100, "{compared}");
        assert!(worst_ssim >= 0.99, "worst SSIM {worst_ssim:.4}");
        assert!(worst >= 40.0, "worst {worst:.1} dB");
    }
}
