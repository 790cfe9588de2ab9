//! URLs parsed once into typed requests (API.md §1, §3, §4): one parser per URL
//! dialect, each producing the same [`TransformRequest`]. Nothing past this module sees a
//! raw query string.
//!
//! - `spec` — the typed requests every dialect produces, and their parts;
//! - `query` — splitting and decoding a query string;
//! - `values` — one parser per kind of value (numbers in range, flags, names, URLs);
//! - `setting` — one transform option parsed into a typed setting, settings into a spec;
//! - `catalog` — the operator's presets (parsed at start) and watermark names;
//! - `native` — ferrotype's own `/transform` and `/info` URLs;
//! - `imgproxy` — imgproxy's URL dialect (API.md §8) into the same typed request;
//! - `screenshot` — `/screenshot`'s ImgKit-style options.

mod catalog;
pub mod imgproxy;
mod native;
mod presets;
mod query;
mod screenshot;
mod setting;
mod spec;
mod values;

pub use catalog::Catalog;
pub use native::{parse_info, parse_source_path, parse_transform};
pub use query::{query_pairs, Pair};
pub use screenshot::{parse_screenshot, ScreenshotSpec, ShotType};
pub use spec::{
    Accepts, Anchor, Crop, Fit, Flip, Format, FormatChoice, Gravity, InfoRequest, Length, Obscure,
    Placement, Qualities, Rect, Rgba, Rotation, Sides, Sizing, SourceRef, TransformRequest,
    TransformSpec, Trim, Watermark,
};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("unknown option {0:?}")]
    Unknown(String),
    #[error("option {0:?} given more than once")]
    Repeated(String),
    #[error("option {name:?}: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("bad path: {0}")]
    Path(String),
}

pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        name,
        reason: reason.into(),
    }
}
