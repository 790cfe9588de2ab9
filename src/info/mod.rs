//! `/info` (API.md §6): an original described as JSON — size as displayed, format,
//! checksum, EXIF, ICC profile, perceptual hashes and colours.

pub mod exif;
mod hash;
pub mod icc;
mod lookup;
pub mod og;

pub use lookup::{lookup, Error};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::imaging::analyse::{Analysis, PHASH_SIDE};

#[derive(Debug, Serialize)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    pub format: &'static str,
    pub content_type: &'static str,
    pub byte_size: usize,
    pub checksum: String,
    pub orientation: u8,
    pub has_alpha: bool,
    pub pages: u32,
    pub icc: Option<String>,
    pub exif: serde_json::Map<String, serde_json::Value>,
    pub phash: String,
    pub dhash: String,
    pub blurhash: String,
    pub dominant_colors: Vec<String>,
    pub final_url: Option<String>,
    pub faces: Vec<FaceBox>,
}

/// A face in displayed pixels (API.md §6).
#[derive(Debug, Serialize, PartialEq)]
pub struct FaceBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// Rounded to two decimals: more would promise a precision the model does not have.
    pub score: f64,
}

/// Describes `bytes`, which `analysis` was made from; `final_url` is where they came from
/// when that was a URL.
pub fn describe(bytes: &[u8], analysis: &Analysis, final_url: Option<String>) -> Info {
    let (format, content_type) = analysis.format.name_and_type();
    let (w, h) = analysis.colour_size;
    let rgba: Vec<u8> = analysis
        .colour
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    Info {
        width: analysis.width,
        height: analysis.height,
        format,
        content_type,
        byte_size: bytes.len(),
        checksum: hex::encode(Sha256::digest(bytes)),
        orientation: analysis.orientation,
        has_alpha: analysis.has_alpha,
        pages: analysis.pages,
        icc: analysis.icc_profile.as_deref().and_then(icc::description),
        exif: exif::read(bytes),
        phash: hash::hex(hash::phash(&analysis.phash_grey, PHASH_SIDE as usize)),
        dhash: hash::hex(hash::dhash(&analysis.dhash_grey)),
        blurhash: blurhash::encode(4, 3, w, h, &rgba).unwrap_or_default(),
        dominant_colors: hash::dominant_colours(&analysis.colour, 5),
        final_url,
        faces: analysis
            .faces
            .iter()
            .map(|f| {
                let px = |v: f64, side: u32| (v * f64::from(side)).round() as u32;
                FaceBox {
                    x: px(f.x, analysis.width),
                    y: px(f.y, analysis.height),
                    w: px(f.w, analysis.width).max(1),
                    h: px(f.h, analysis.height).max(1),
                    score: (f64::from(f.score) * 100.0).round() / 100.0,
                }
            })
            .collect(),
    }
}
