//! Faces (API.md §10): a detection model inside the binary, no download, no service.
//!
//! - `model` — CenterFace run by tract, one optimised plan per input size;
//! - `decode` — the network's maps turned into boxes, overlapping ones reduced.
//!
//! This module knows pixels in memory only; `imaging::faces` makes the small copy it reads
//! (libvips), keeps what was found per original and maps boxes into the images it makes.

mod decode;
mod model;

pub use decode::Detection;
pub use model::{Model, ALIGN};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("face detection got a {0}×{1} input, not made for it")]
    Input(u32, u32),
    #[error("face detection failed: {0}")]
    Model(String),
}
