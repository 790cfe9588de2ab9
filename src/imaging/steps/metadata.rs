//! `meta=0`: metadata removed before any saver sees the image.

use rs_vips::VipsImage;

use crate::imaging::header::field_names;

/// Metadata that `meta=0` removes: EXIF, XMP, IPTC, ICC (pixels are sRGB by then) and comments.
const STRIPPED_PREFIXES: &[&str] = &[
    "exif-",
    "xmp-",
    "iptc-",
    "icc-profile-",
    "png-comment-",
    "gif-comment",
];

/// webpsave on libvips 8.14 ignores `strip` and rebuilds EXIF from the `exif-*` fields,
/// so every metadata field goes, whatever the saver.
pub(in crate::imaging) fn strip(img: &mut VipsImage) {
    for field in field_names(img) {
        if STRIPPED_PREFIXES.iter().any(|p| field.starts_with(p)) {
            let _ = img.remove(&field);
        }
    }
}
