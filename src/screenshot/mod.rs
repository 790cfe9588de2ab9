//! `/screenshot`: web pages rendered by one headless Chromium, driven in-process over the
//! DevTools protocol with chromiumoxide (async; ~0.2–0.3 s a shot on a reused browser
//! where the blocking `headless_chrome` took 1.4–1.8 s, see STACK.md).
//!
//! Isolation: each tab slot is a browser context with its own window, reused from render to
//! render and reset in between (document, cookies, every storage of every origin the page
//! reached; the HTTP cache is off in these windows). Measured on a 1200×630 card: 0.24–0.29 s a warm shot this way
//! against 0.41–0.57 s with a fresh context and window per render, of which opening them
//! took 0.14–0.25 s. A window whose render failed is closed, not reset. The browser itself
//! is started on first use and started again when it has crashed or stopped answering.
//!
//! Network policy: every browser context connects through [`proxy::GuardProxy`], which
//! resolves names itself and connects only to addresses the `?url=` policy allows, so
//! every connection of a page (subresources, fetch/XHR, workers, WebSockets, each redirect
//! hop) is judged by the address it really goes to; the page still renders without what
//! was refused. Document requests are also paused in the Fetch domain and checked there,
//! which is how a refused page (or page redirect) is told apart from a refused image: the
//! first answers 403, the second leaves a hole in the picture. WebTransport and WebRTC,
//! which would not use the proxy, are removed from every frame before page scripts run;
//! dialogs, popups and downloads are neutralised.

mod browser;
mod capture;
mod launch;
mod network;
mod proxy;
mod render;
mod windows;

pub use launch::exec_chromium_if_asked;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::imaging;
use crate::imaging::pool::{self, Pool};
use crate::queue::{BoundedQueue, Overloaded};
use crate::source::guard::{Policy, Refusal};
use launch::Running;
use windows::Window;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("page did not render within {0:?}")]
    Deadline(Duration),
    #[error("page failed: {0}")]
    Page(String),
    #[error("the page redirected to an address the policy refuses")]
    RedirectRefused,
    #[error("option \"waitFor\": not a valid CSS selector")]
    BadSelector,
    #[error("browser unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    #[error("a {width}×{height} screenshot at scaleFactor {scale} has {pixels} pixels, over the limit of {limit}")]
    TooManyPixels {
        width: u32,
        height: u32,
        scale: f64,
        pixels: u64,
        limit: u64,
    },
    #[error("the screenshot is over the byte limit of {0}")]
    TooLarge(u64),
    #[error(transparent)]
    Pool(#[from] pool::Error),
    #[error(transparent)]
    Encode(#[from] imaging::Error),
}

pub struct Settings {
    pub executable: PathBuf,
    pub tabs: usize,
    /// Renders waiting for a tab before more are refused (`FERROTYPE_QUEUE`).
    pub queue: usize,
    pub deadline: Duration,
    pub policy: Arc<Policy>,
    /// The largest image, in device pixels (`FERROTYPE_MAX_SOURCE_PIXELS`): the viewport
    /// must fit, a full page is cut to it.
    pub max_pixels: u64,
    /// The largest image, in bytes (`FERROTYPE_MAX_SOURCE_BYTES`).
    pub max_bytes: u64,
    /// Where PNG captures are compressed again.
    pub pool: Arc<Pool>,
}

pub struct Renderer {
    settings: Settings,
    proxy: tokio::sync::OnceCell<proxy::GuardProxy>,
    browser: Mutex<Option<Running>>,
    tabs: BoundedQueue,
    idle: std::sync::Mutex<Vec<Window>>,
    generation: AtomicU64,
}

impl Renderer {
    pub fn new(settings: Settings) -> Self {
        Self {
            tabs: BoundedQueue::new(
                settings.tabs,
                settings.queue,
                "ferrotype_screenshots_queued",
            ),
            settings,
            proxy: tokio::sync::OnceCell::new(),
            browser: Mutex::new(None),
            idle: std::sync::Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
        }
    }
}
