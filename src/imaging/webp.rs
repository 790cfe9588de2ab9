//! Still WebP written by libwebp in the worker's own thread. Through libvips' `webpsave`,
//! the encoder ran in a libvips worker thread while the image worker waited for it, and
//! two image workers kept the CPU only ~78% busy on WebP; here the pixels are computed
//! once, then encoded where the job runs. Same encoder, same settings as `webpsave`'s
//! defaults (lossy, method 4, alpha at full quality), no metadata: for `meta=0` only.

use std::ffi::{c_float, c_int, c_void};

use rs_vips::{enums, VipsImage};

use super::resample::pixels_of;

#[link(name = "webp")]
extern "C" {
    fn WebPEncodeRGB(
        rgb: *const u8,
        width: c_int,
        height: c_int,
        stride: c_int,
        quality: c_float,
        output: *mut *mut u8,
    ) -> usize;
    fn WebPEncodeRGBA(
        rgba: *const u8,
        width: c_int,
        height: c_int,
        stride: c_int,
        quality: c_float,
        output: *mut *mut u8,
    ) -> usize;
    fn WebPFree(ptr: *mut c_void);
}

/// `img` (8-bit sRGB, one page) as a lossy WebP at `quality`; `None` when it is not such an
/// image (the caller then uses `webpsave`), `Some(Err)` when libvips or libwebp failed.
pub(super) fn encode(img: &VipsImage, quality: u8) -> Option<Result<Vec<u8>, ()>> {
    let bands = img.get_bands();
    let one_page = img.get_page_height() == img.get_height();
    let eight_bit = img.get_format().ok()? == enums::BandFormat::Uchar;
    if !(one_page && eight_bit && (bands == 3 || bands == 4)) {
        return None;
    }
    let (width, height) = (img.get_width(), img.get_height());
    let Some(pixels) = pixels_of(img) else {
        return Some(Err(()));
    };
    if pixels.len() != (width as usize) * (height as usize) * (bands as usize) {
        return Some(Err(()));
    }
    let encode = if bands == 4 {
        WebPEncodeRGBA
    } else {
        WebPEncodeRGB
    };
    let mut out: *mut u8 = std::ptr::null_mut();
    // SAFETY: `pixels` holds width × height × bands bytes, rows `width × bands` apart; libwebp
    // allocates `out` and returns its length (0 on failure), and it is freed once with
    // WebPFree after being copied.
    let len = unsafe {
        encode(
            pixels.as_ptr(),
            width,
            height,
            width * bands,
            c_float::from(quality),
            &mut out,
        )
    };
    if out.is_null() {
        return Some(Err(()));
    }
    // SAFETY: libwebp wrote `len` bytes at `out` (0 when it failed).
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    // SAFETY: `out` came from libwebp and is freed once.
    unsafe { WebPFree(out.cast()) };
    Some(if bytes.is_empty() { Err(()) } else { Ok(bytes) })
}

#[cfg(test)]
mod tests {
    use rs_vips::voption::{Setter, VOption};
    use rs_vips::VipsImage;

    /// The same picture as `webpsave` at the same quality: decoded, the two agree closely,
    /// and neither is much larger.
    #[test]
    fn matches_webpsave() {
        crate::imaging::init().unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/corpus/photo/bench-small-2mp.jpg"
        );
        // Pixels only: what `finish` hands the encoder for `meta=0`.
        let bare = |img: VipsImage| {
            VipsImage::new_from_memory_copy(
                &crate::imaging::resample::pixels_of(&img).unwrap(),
                img.get_width(),
                img.get_height(),
                img.get_bands(),
                rs_vips::enums::BandFormat::Uchar,
            )
            .unwrap()
        };
        let rgb = bare(VipsImage::thumbnail(path, 300).unwrap());
        let rgba = bare(rgb.bandjoin_const(&[200.0]).unwrap());
        for img in [rgb, rgba] {
            let ours = super::encode(&img, 80).unwrap().unwrap();
            let theirs = crate::imaging::encode::strip_webp_metadata(
                img.webpsave_buffer_with_opts(VOption::new().set("Q", 80).set("strip", true))
                    .unwrap(),
            );
            let decode = |b: &[u8]| VipsImage::new_from_buffer(b, "").unwrap().write_to_memory();
            let (a, b) = (decode(&ours), decode(&theirs));
            assert_eq!(a.len(), b.len());
            let mse = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
                .sum::<f64>()
                / a.len() as f64;
            let psnr = 10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10();
            let ratio = ours.len() as f64 / theirs.len() as f64;
            eprintln!(
                "bands {}: {psnr:.1} dB, {} vs {} bytes",
                img.get_bands(),
                ours.len(),
                theirs.len()
            );
            assert!(psnr >= 45.0, "{psnr:.1} dB");
            assert!((0.95..=1.05).contains(&ratio), "{ratio:.3}");
        }
    }
}
