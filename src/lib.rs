//! ferrotype: an on-the-fly image proxy and transform server.
//!
//! The library holds everything; the `ferrotype` binary only parses its command line
//! (see [`cli`]). `ARCHITECTURE.md` maps the modules and a request's path through them.

pub mod cache;
pub mod cli;
pub mod config;
pub mod convert;
mod demo;
pub mod faces;
pub mod http;
pub mod imaging;
pub mod info;
pub mod options;
pub mod queue;
pub mod screenshot;
pub mod signature;
pub mod source;
pub mod storage;
pub mod telemetry;
mod text;

/// Every way a request can fail. The HTTP status of each is decided in one place,
/// [`http::response::status_of`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Signature(#[from] signature::Error),
    #[error(transparent)]
    Options(#[from] options::Error),
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error(transparent)]
    Imaging(#[from] imaging::Error),
    #[error(transparent)]
    Pool(#[from] imaging::pool::Error),
    #[error(transparent)]
    Screenshot(#[from] screenshot::Error),
    #[error(transparent)]
    Info(#[from] info::Error),
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed: use GET or HEAD")]
    Method,
}
