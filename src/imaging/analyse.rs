//! What `/info` needs from an original: its header in display orientation, its ICC
//! profile, and small renderings for the perceptual hashes and the colours. The same
//! sniffing, structure checks and pixel limit as a transform, so an original `/info`
//! describes is one `/transform` would decode, and a hostile one fails the same way.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::sniff::{self, SourceFormat};
use super::{corrupt, has_field, pixels, read_header, to_srgb, Error, Imaging};
use crate::telemetry::Stage;

/// Side of the square grey rendering the pHash is computed from.
pub const PHASH_SIDE: u32 = 32;
/// The grey rendering for the dHash: one column more than the hash has bits per row.
pub const DHASH_SIZE: (u32, u32) = (9, 8);
/// Longest side of the colour rendering for the blurhash and the dominant colours.
pub const COLOUR_SIDE: u32 = 64;

pub struct Analysis {
    pub format: SourceFormat,
    /// As displayed: after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub orientation: u8,
    pub pages: u32,
    pub has_alpha: bool,
    pub icc_profile: Option<Vec<u8>>,
    /// `PHASH_SIDE`² grey pixels, row by row, upright, alpha flattened on white.
    pub phash_grey: Vec<u8>,
    /// `DHASH_SIZE` grey pixels, row by row.
    pub dhash_grey: Vec<u8>,
    /// 8-bit sRGB, 3 bytes a pixel, at most `COLOUR_SIDE` on its longer side.
    pub colour: Vec<u8>,
    pub colour_size: (u32, u32),
}

impl Imaging {
    pub fn analyse(&self, bytes: &[u8]) -> Result<Analysis, Error> {
        let _processing = Stage::start("processing");
        let format = sniff::sniff(bytes)?;
        sniff::check_structure(format, bytes)?;
        let header = read_header(bytes)?;
        // Only the first page is decoded (and only shrunk on load), but the limit is the
        // transform's, so that both endpoints refuse the same originals.
        self.check_pixels(pixels(header.width, header.height, 1))?;
        let icc_profile = VipsImage::new_from_buffer(bytes, "")
            .ok()
            .filter(|img| has_field(img, "icc-profile-data"))
            .and_then(|img| img.get_blob("icc-profile-data").ok());
        let (width, height) = if (5..=8).contains(&header.orientation) {
            (header.height, header.width)
        } else {
            (header.width, header.height)
        };
        let phash_grey = grey(bytes, (PHASH_SIDE, PHASH_SIDE))?;
        let dhash_grey = grey(bytes, DHASH_SIZE)?;
        let colour = upright(bytes, (COLOUR_SIDE, COLOUR_SIDE), false)?;
        let colour_size = (
            u32::try_from(colour.get_width()).unwrap_or(0),
            u32::try_from(colour.get_height()).unwrap_or(0),
        );
        Ok(Analysis {
            format,
            width,
            height,
            orientation: u8::try_from(header.orientation).unwrap_or(1),
            pages: header.pages,
            has_alpha: header.has_alpha,
            icc_profile,
            phash_grey,
            dhash_grey,
            colour: colour.write_to_memory(),
            colour_size,
        })
    }
}

/// The first page, upright, shrunk on load to `size` (exactly, or within it), in 8-bit
/// sRGB without alpha (flattened on white).
fn upright(bytes: &[u8], (w, h): (u32, u32), exact: bool) -> Result<VipsImage, Error> {
    let mut opts = VOption::new()
        .set("height", h as i32)
        .set("fail-on", "error");
    if exact {
        opts = opts.set("size", "force");
    }
    let img = VipsImage::thumbnail_buffer_with_opts(bytes, w as i32, opts).map_err(corrupt)?;
    let img = to_srgb(img)?;
    let img = if img.hasalpha() {
        img.flatten_with_opts(VOption::new().set("background", &[255.0, 255.0, 255.0][..]))
            .map_err(corrupt)?
    } else {
        img
    };
    img.cast(enums::BandFormat::Uchar).map_err(corrupt)
}

fn grey(bytes: &[u8], size: (u32, u32)) -> Result<Vec<u8>, Error> {
    let img = upright(bytes, size, true)?
        .colourspace(enums::Interpretation::BW)
        .map_err(corrupt)?;
    Ok(img.write_to_memory())
}
