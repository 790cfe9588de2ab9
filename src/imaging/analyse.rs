//! What `/info` needs from an original: its header in display orientation, its ICC
//! profile, and small renderings for the perceptual hashes and the colours. The same
//! sniffing, structure checks and pixel limit as a transform, so an original `/info`
//! describes is one `/transform` would decode, and a hostile one fails the same way.

use rs_vips::voption::{Setter, VOption};
use rs_vips::{enums, VipsImage};

use super::faces::Face;
use super::header::{has_field, open, Header};
use super::sniff::SourceFormat;
use super::steps::colour::opaque_srgb8;
use super::{corrupt, pixels, Error, Imaging};
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
    /// The faces on the first page, as fractions of the displayed size, best first.
    pub faces: Vec<Face>,
}

impl Imaging {
    pub fn analyse(&self, bytes: &[u8]) -> Result<Analysis, Error> {
        let _processing = Stage::start("processing");
        let (format, opened, header) = open(bytes)?;
        // Only the first page is decoded (and only shrunk on load), but the limit is the
        // transform's, so that both endpoints refuse the same originals.
        self.check_pixels(pixels(header.width, header.height, 1))?;
        let icc_profile = has_field(&opened, "icc-profile-data")
            .then(|| opened.get_blob("icc-profile-data").ok())
            .flatten();
        let (width, height) = header.upright();
        // The original is decoded once, into the colour rendering; the grey ones are made
        // from it.
        let colour = self.upright(bytes, format, &header)?;
        let phash_grey = grey(&colour, (PHASH_SIDE, PHASH_SIDE))?;
        let dhash_grey = grey(&colour, DHASH_SIZE)?;
        let faces = self.faces.locate(bytes, None, false)?.to_vec();
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
            faces,
        })
    }
}

impl Imaging {
    /// The first page, upright, shrunk on load to within `COLOUR_SIDE`, in 8-bit sRGB
    /// without alpha (flattened on white), in memory: it is read three times. JPEGs take
    /// the transform's fast path.
    fn upright(
        &self,
        bytes: &[u8],
        format: SourceFormat,
        header: &Header,
    ) -> Result<VipsImage, Error> {
        let (w, h) = header.upright();
        let scale = (f64::from(COLOUR_SIDE) / f64::from(w.max(h))).min(1.0);
        let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
        let img = match self.shrink_jpeg(bytes, format, header, (side(w), side(h))) {
            Some(img) => img?,
            None => {
                let opts = VOption::new()
                    .set("height", COLOUR_SIDE as i32)
                    .set("fail-on", "error");
                VipsImage::thumbnail_buffer_with_opts(bytes, COLOUR_SIDE as i32, opts)
                    .map_err(corrupt)?
            }
        };
        opaque_srgb8(img)
            .and_then(|i| i.copy_memory())
            .map_err(corrupt)
    }
}

/// `colour` squeezed to exactly `(w, h)`, in grey.
fn grey(colour: &VipsImage, (w, h): (u32, u32)) -> Result<Vec<u8>, Error> {
    let opts = VOption::new().set("height", h as i32).set("size", "force");
    let img = colour
        .thumbnail_image_with_opts(w as i32, opts)
        .and_then(|i| i.colourspace(enums::Interpretation::BW))
        .map_err(corrupt)?;
    Ok(img.write_to_memory())
}
