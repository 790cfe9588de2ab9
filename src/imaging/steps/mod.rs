//! The processing steps, one file each, in API.md §3's order: `orient` (EXIF, `rot`,
//! `flip`) → `trim` → `region` (`crop`, and the resize to the planned size when a region
//! was cut) → `obscure` (`faces`, on the resized frame) → `fit` (cover's crop, by the faces
//! for `g=face`; contain's letterbox) → `filters` (`blur`, `sharpen`) →
//! `pixelate` → `pad` → `watermark` (with `text` for `wm_text`) → `colour` and
//! `metadata` for the encoder. `pipeline` calls them; each takes and returns one frame.

pub(super) mod colour;
pub(super) mod filters;
pub(super) mod fit;
pub(super) mod metadata;
pub(super) mod obscure;
pub(super) mod orient;
pub(super) mod pad;
pub(super) mod pixelate;
pub(super) mod region;
pub(super) mod text;
pub(super) mod trim;
pub(super) mod watermark;

use rs_vips::voption::{Setter, VOption};
use rs_vips::VipsImage;

use crate::options::{Format, Rgba};

/// Applies `f` to each frame of an animation (stacked vertically by libvips), or to the image.
pub(super) fn per_frame(
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

/// The image to fill around, and the fill: `bg`, transparent where its alpha asks for it
/// and the output keeps alpha (JPEG does not), else opaque.
pub(super) fn background(
    img: &VipsImage,
    bg: Rgba,
    format: Format,
) -> rs_vips::Result<(VipsImage, Vec<f64>)> {
    let transparent = bg.a < 255 && format != Format::Jpeg;
    let img = if transparent && !img.hasalpha() {
        img.bandjoin_const(&[255.0])?
    } else {
        img.copy()?
    };
    let mut colour = vec![f64::from(bg.r), f64::from(bg.g), f64::from(bg.b)];
    if img.hasalpha() {
        colour.push(if transparent { f64::from(bg.a) } else { 255.0 });
    }
    Ok((img, colour))
}
