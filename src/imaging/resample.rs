//! Pixels in memory resized in the calling thread with SIMD (fast_image_resize), with the
//! Lanczos3 kernel of libvips' thumbnail: the fast JPEG path's resize, and the watermarks'.
//! libvips runs without ORC code generation here (see `setup`), which leaves its own
//! resamplers several times slower on these small jobs.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::pixels::PixelType;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::{corrupt, Error};

/// 8-bit pixels in memory: grey (1 band), RGB (3) or RGBA (4, resized premultiplied).
pub(super) struct Pixels<'a> {
    pub data: &'a [u8],
    pub size: (u32, u32),
    pub bands: u8,
}

/// The top left `kept` pixels of `pixels` resized to `target`, as a libvips image in grey
/// or sRGB.
pub(super) fn lanczos(
    pixels: &Pixels,
    kept: (u32, u32),
    target: (u32, u32),
) -> Result<VipsImage, Error> {
    let (kind, interpretation) = match pixels.bands {
        1 => (PixelType::U8, "b-w"),
        3 => (PixelType::U8x3, "srgb"),
        _ => (PixelType::U8x4, "srgb"),
    };
    let failed = |e: &dyn std::fmt::Display| {
        tracing::debug!(detail = %e, "resize failed");
        Error::Corrupt("could not resize it".into())
    };
    let (w, h) = pixels.size;
    let src = ImageRef::new(w, h, pixels.data, kind).map_err(|e| failed(&e))?;
    let mut dst = Image::new(target.0, target.1, kind);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(0.0, 0.0, f64::from(kept.0), f64::from(kept.1));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| failed(&e))?;
    VipsImage::new_from_memory_copy(
        dst.buffer(),
        target.0 as i32,
        target.1 as i32,
        i32::from(pixels.bands),
        enums::BandFormat::Uchar,
    )
    .and_then(|img| img.copy_with_opts(VOption::new().set("interpretation", interpretation)))
    .map_err(corrupt)
}

/// The image computed into memory; `None` when libvips fails (rs-vips' own
/// `write_to_memory` does not say so).
pub(super) fn pixels_of(img: &VipsImage) -> Option<Vec<u8>> {
    use rs_vips::bindings::{g_free, vips_image_write_to_memory};
    let mut size = 0;
    // SAFETY: the image is valid; libvips returns a buffer of `size` bytes it allocated with
    // g_malloc, or NULL, and the buffer is freed once after being copied.
    unsafe {
        let buffer = vips_image_write_to_memory(img.as_mut_ptr(), &mut size);
        if buffer.is_null() {
            return None;
        }
        let pixels = std::slice::from_raw_parts(buffer.cast::<u8>(), size).to_vec();
        g_free(buffer);
        Some(pixels)
    }
}
