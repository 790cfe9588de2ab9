//! An original opened: its format sniffed and its structure checked, then its header read
//! (no pixels decoded) — what every endpoint knows before deciding to decode.

use rs_vips::VipsImage;

use super::sniff::{self, sniff, SourceFormat};
use super::{corrupt, Error};

/// What the header says, before any pixel is decoded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Header {
    pub width: u32,
    /// One page's height.
    pub height: u32,
    pub pages: u32,
    pub orientation: i32,
    pub has_alpha: bool,
    /// Whether an ICC profile is embedded.
    pub has_profile: bool,
}

/// An original's format (sniffed, its structure checked) and its header, with the image
/// opened for more of it: what every endpoint knows before deciding to decode. Opening
/// from a buffer reads only the header; pixels are decoded later, on demand.
pub(super) fn open(bytes: &[u8]) -> Result<(SourceFormat, VipsImage, Header), Error> {
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
        has_profile: has_field(img, PROFILE),
    })
}

impl Header {
    /// Whether the EXIF orientation turns the image a quarter (5–8), trading width and
    /// height.
    pub fn turns(&self) -> bool {
        (5..=8).contains(&self.orientation)
    }

    /// Width and height as displayed.
    pub fn upright(&self) -> (u32, u32) {
        if self.turns() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// libvips' name for the embedded ICC profile.
pub(super) const PROFILE: &str = "icc-profile-data";

/// Whether `img` has metadata `field`. Asking libvips for a missing field fails and leaves
/// a message in its process-wide error buffer, where it would spoil the next real error.
pub(super) fn has_field(img: &VipsImage, field: &str) -> bool {
    img.get_typeof(field).is_ok_and(|t| t != 0)
}

pub(super) fn int_field(img: &VipsImage, field: &str) -> Option<i32> {
    has_field(img, field)
        .then(|| img.get_int(field).ok())
        .flatten()
}

pub(super) fn field_names(img: &VipsImage) -> Vec<String> {
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
