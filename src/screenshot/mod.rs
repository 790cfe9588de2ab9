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

mod proxy;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::browser::{
    BrowserContextId, SetDownloadBehaviorBehavior, SetDownloadBehaviorParams,
};
use chromiumoxide::cdp::browser_protocol::emulation::{
    MediaFeature, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{
    ClearBrowserCookiesParams, ErrorReason, EventResponseReceived, ResourceType,
    SetCacheDisabledParams,
};
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, CaptureScreenshotFormat, CaptureScreenshotParams,
    EventJavascriptDialogOpening, HandleJavaScriptDialogParams,
};
use chromiumoxide::cdp::browser_protocol::storage::ClearDataForOriginParams;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::Page;
use futures::{FutureExt, StreamExt};
use tokio::sync::Mutex;
use url::Url;

use crate::options::{ScreenshotSpec, ShotType};
use crate::queue::{BoundedQueue, Overloaded};
use crate::source::guard::{Policy, Refusal};

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
}

/// Scripts run in every frame before the page's own: no connection that would bypass the
/// proxy (UDP-based ones), and nothing that waits for a human (dialogs, popups, printing).
const LOCKDOWN: &str = r#"(() => {
  for (const name of ["WebTransport", "RTCPeerConnection", "webkitRTCPeerConnection"]) {
    try { Object.defineProperty(window, name, { value: undefined, configurable: false }); } catch (_) {}
  }
  window.open = () => null;
  window.alert = () => {};
  window.confirm = () => false;
  window.prompt = () => null;
  window.print = () => {};
})();"#;

/// Set in the environment of the browser process: the path of the real browser, which the
/// ferrotype binary, started in its place, becomes (see [`exec_chromium_if_asked`]).
const SHIM_ENV: &str = "__FERROTYPE_CHROMIUM_EXEC";

/// Run first thing in `main`. When ferrotype starts Chromium it starts itself with
/// [`SHIM_ENV`] naming the browser: this process asks the kernel for SIGKILL when its parent
/// dies, then executes the browser, which keeps that request. Without it, a ferrotype killed
/// with SIGKILL (or by the OOM killer) would leave a Chromium of ~400 MiB behind.
pub fn exec_chromium_if_asked() {
    use std::os::unix::process::CommandExt;
    let Some(browser) = std::env::var_os(SHIM_ENV) else {
        return;
    };
    std::env::remove_var(SHIM_ENV);
    // SAFETY: prctl with PR_SET_PDEATHSIG and a valid signal number has no memory effects.
    let armed = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } == 0;
    // The parent may have died between our fork and the prctl: then nobody wants a browser.
    if !armed || std::os::unix::process::parent_id() == 1 {
        std::process::exit(1);
    }
    let err = std::process::Command::new(&browser)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!(
        "ferrotype: cannot start {}: {err}",
        PathBuf::from(browser).display()
    );
    std::process::exit(127);
}

/// What a page can leave behind for the next one. Narrower than `all`, which also walks
/// browser-wide stores (shader cache, interest groups) at a cost on every reset.
const STORAGE_TYPES: &str =
    "cookies,file_systems,indexeddb,local_storage,websql,service_workers,cache_storage,shared_storage,storage_buckets";

/// Opening a context and a window takes milliseconds; longer means the browser is gone.
const CONTEXT_TIMEOUT: Duration = Duration::from_secs(5);

/// The tallest full-page capture, in CSS pixels: beyond it the image is cut.
const MAX_FULL_PAGE_HEIGHT: f64 = 16_384.0;

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
}

struct Running {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// A fresh profile per browser start, removed with it.
    _profile: tempfile::TempDir,
}

/// A browser context with its window, kept for the next render and reset in between.
struct Window {
    context: BrowserContextId,
    page: Page,
    /// Set when the policy refused a document request during the current render.
    blocked_document: Arc<AtomicBool>,
    /// Origins the page reached during the current render: whose storage the reset clears.
    origins: Arc<std::sync::Mutex<HashSet<String>>>,
    /// The browser start this window belongs to; older ones went with their browser.
    generation: u64,
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

    /// A window left by an earlier render of the running browser, if any. A browser that
    /// crashed since is noticed and replaced first, so its windows are not handed out.
    async fn idle_window(&self) -> Option<Window> {
        drop(self.ensure_browser().await.ok()?);
        let current = self.generation.load(Ordering::Acquire);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        // Windows of an earlier browser died with it; dropping them is all they need.
        idle.retain(|w| w.generation == current);
        idle.pop()
    }

    /// Renders `spec` within the render deadline, which covers everything the caller
    /// waits for; resetting or closing the window afterwards happens in the background.
    pub async fn render(self: &Arc<Self>, spec: &ScreenshotSpec) -> Result<Vec<u8>, Error> {
        self.settings.policy.check_url_and_names(&spec.url).await?;
        let pixels = (f64::from(spec.width)
            * f64::from(spec.height)
            * spec.scale_factor
            * spec.scale_factor)
            .ceil() as u64;
        if pixels > self.settings.max_pixels {
            return Err(Error::TooManyPixels {
                width: spec.width,
                height: spec.height,
                scale: spec.scale_factor,
                pixels,
                limit: self.settings.max_pixels,
            });
        }
        let deadline = self.settings.deadline;
        let started = Instant::now();
        let left = || deadline.saturating_sub(started.elapsed());
        let late = || Error::Deadline(deadline);
        // Held until the window is reset or closed, so at most `tabs` windows are in use.
        // The wait for it counts against the deadline: the caller waits for both.
        let tab = tokio::time::timeout(left(), self.tabs.enter())
            .await
            .map_err(|_| late())??;
        let mut retried = false;
        loop {
            let window = tokio::time::timeout(left(), self.window())
                .await
                .map_err(|_| late())??;
            let opened = started.elapsed();
            let result = tokio::time::timeout(left(), self.render_in(&window, spec)).await;
            tracing::debug!(?opened, total = ?started.elapsed(), "screenshot rendered");
            if !retried && matches!(result, Ok(Err(Error::Page(_)))) && !self.answers().await {
                // The browser died under this render, or just before it while still looking
                // alive: its windows went with it. Start another and render once more.
                retried = true;
                self.discard_browser().await;
                continue;
            }
            let timed_out = result.is_err();
            let rendered = matches!(result, Ok(Ok(_)));
            let this = self.clone();
            tokio::spawn(async move {
                // Only a window whose render went well is worth resetting; the others (a
                // page that hung, a browser in trouble) are closed and replaced by fresh ones.
                if rendered && this.reset(&window).await {
                    this.idle
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(window);
                } else {
                    this.close_window(window).await;
                }
                if timed_out && !this.answers().await {
                    // A page that never loads is usually the page; a browser that no longer
                    // answers is ours to replace before the next render.
                    this.discard_browser().await;
                }
                drop(tab);
            });
            return result.map_err(|_| late())?;
        }
    }

    /// A window to render in: an idle one, or a new one.
    async fn window(&self) -> Result<Window, Error> {
        if let Some(w) = self.idle_window().await {
            return Ok(w);
        }
        match tokio::time::timeout(CONTEXT_TIMEOUT, self.open_window()).await {
            Ok(Ok(w)) => Ok(w),
            // The browser may have died a moment ago, before its handler noticed: replace
            // it and try once more.
            _ => {
                self.discard_browser().await;
                self.open_window().await
            }
        }
    }

    /// Forgets everything a render left in its window (whose HTTP cache is off): the
    /// document, cookies, and every storage of every origin the page reached
    /// ([`STORAGE_TYPES`]; session storage does not survive leaving the page, which
    /// `renders_share_no_cookies_or_storage` checks). False when a step failed or the page
    /// would not be left.
    async fn reset(&self, window: &Window) -> bool {
        let page = &window.page;
        let origins: Vec<String> = window
            .origins
            .lock()
            .map(|o| o.iter().cloned().collect())
            .unwrap_or_default();
        let steps = async {
            // Leave the page from inside it: a renderer-initiated navigation to about:blank
            // stays in the page's process, where a browser-initiated one (Page.navigate)
            // swaps processes twice per render (measured at concurrency 2: 3.7 against
            // 3.1–3.3 shots/s).
            let _ = page.evaluate("location.replace('about:blank')").await;
            let mut left = false;
            for _ in 0..100 {
                if page.url().await?.as_deref() == Some("about:blank") {
                    left = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if !left {
                // e.g. a beforeunload handler kept the page: this window is not reused.
                return Ok(false);
            }
            for origin in &origins {
                page.execute(ClearDataForOriginParams::new(origin.clone(), STORAGE_TYPES))
                    .await?;
            }
            page.execute(ClearBrowserCookiesParams::default()).await?;
            Ok::<_, chromiumoxide::error::CdpError>(true)
        };
        match tokio::time::timeout(Duration::from_secs(2), steps).await {
            Ok(Ok(reset)) => reset,
            Ok(Err(e)) => {
                tracing::debug!(error = %one_line(&e.to_string()), "window reset failed");
                false
            }
            Err(_) => false,
        }
    }

    /// A browser that answers: the running one, or a new one.
    async fn ensure_browser(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Running>>, Error> {
        let mut guard = self.browser.lock().await;
        let alive = match guard.as_mut() {
            Some(r) => !r.handler.is_finished() && matches!(r.browser.try_wait(), Ok(None)),
            None => false,
        };
        if !alive {
            if let Some(old) = guard.take() {
                restarted(old).await;
            }
            *guard = Some(self.launch().await?);
        }
        Ok(guard)
    }

    async fn launch(&self) -> Result<Running, Error> {
        let profile = tempfile::Builder::new()
            .prefix("ferrotype-chromium-")
            .tempdir()
            .map_err(|e| Error::Unavailable(format!("profile dir: {e}")))?;
        let myself = std::env::current_exe()
            .map_err(|e| Error::Unavailable(format!("own executable: {e}")))?;
        let config = BrowserConfig::builder()
            .chrome_executable(myself)
            .env(SHIM_ENV, self.settings.executable.to_string_lossy())
            .user_data_dir(profile.path())
            .no_sandbox()
            .respect_https_errors()
            .viewport(None)
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(self.settings.deadline)
            // chromiumoxide adds the leading dashes.
            .args([
                "disable-gpu",
                "no-first-run",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
                "disable-quic",
                "dns-prefetch-disable",
                // WebRTC would otherwise send UDP around the proxy.
                "force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                "disable-breakpad",
                // Ours (no prefetching around the proxy's checks) and Puppeteer's (no
                // side-channel fetches, no device discovery, no extra processes for
                // sandboxed frames, which a render pays for in CPU).
                "disable-features=NetworkPrediction,InterestFeedContentSuggestions,Translate,AcceptCHFrame,MediaRouter,OptimizationHints,ProcessPerSiteUpToMainFrameThreshold,IsolateSandboxedIframes",
            ])
            .build()
            .map_err(Error::Unavailable)?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        // Nothing moves unless the handler is polled. Its first error is a lost connection
        // (the browser died): the task ends, which marks the browser for a restart.
        let handler = tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                if event.is_err() {
                    break;
                }
            }
        });
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(Running {
            browser,
            handler,
            _profile: profile,
        })
    }

    /// A fresh browser context and window, set up once for all the renders it will see:
    /// downloads denied, the lockdown script, network interception, dialogs dismissed.
    async fn open_window(&self) -> Result<Window, Error> {
        let proxy = self
            .proxy
            .get_or_try_init(|| proxy::GuardProxy::start(self.settings.policy.clone()))
            .await
            .map_err(|e| Error::Unavailable(format!("page proxy: {e}")))?;
        let guard = self.ensure_browser().await?;
        let Some(running) = guard.as_ref() else {
            return Err(Error::Unavailable("browser did not start".into()));
        };
        let browser = &running.browser;
        let context = browser
            .create_browser_context(
                CreateBrowserContextParams::builder()
                    .proxy_server(proxy.server())
                    // Without it, Chromium would connect to loopback itself, unchecked.
                    .proxy_bypass_list("<-loopback>")
                    .build(),
            )
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let _ = browser
            .execute(
                SetDownloadBehaviorParams::builder()
                    .behavior(SetDownloadBehaviorBehavior::Deny)
                    .browser_context_id(context.clone())
                    .build()
                    .map_err(Error::Unavailable)?,
            )
            .await;
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context.clone())
            .new_window(true)
            .build()
            .map_err(Error::Unavailable)?;
        let page = browser
            .new_page(target)
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        drop(guard);
        let window = Window {
            context,
            page,
            blocked_document: Arc::new(AtomicBool::new(false)),
            origins: Arc::new(std::sync::Mutex::new(HashSet::new())),
            generation: self.generation.load(Ordering::Acquire),
        };
        let setup = async {
            let page = &window.page;
            self.guard_network(
                page,
                window.blocked_document.clone(),
                window.origins.clone(),
            )
            .await?;
            page.execute(SetCacheDisabledParams::new(true))
                .await
                .map_err(page_error)?;
            page.execute(AddScriptToEvaluateOnNewDocumentParams::new(LOCKDOWN))
                .await
                .map_err(page_error)?;

            let mut dialogs = page
                .event_listener::<EventJavascriptDialogOpening>()
                .await
                .map_err(page_error)?;
            let dialog_page = page.clone();
            tokio::spawn(async move {
                while dialogs.next().await.is_some() {
                    let _ = dialog_page
                        .execute(HandleJavaScriptDialogParams::new(false))
                        .await;
                }
            });
            Ok::<_, Error>(())
        };
        if let Err(e) = setup.await {
            self.close_window(window).await;
            return Err(e);
        }
        Ok(window)
    }

    async fn close_window(&self, Window { context, page, .. }: Window) {
        let _ = tokio::time::timeout(Duration::from_secs(2), page.close()).await;
        let guard = self.browser.lock().await;
        if let Some(running) = guard.as_ref() {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                running.browser.dispose_browser_context(context),
            )
            .await;
        }
    }

    /// Whether the running browser answers a trivial command promptly.
    async fn answers(&self) -> bool {
        match self.browser.lock().await.as_ref() {
            Some(r) => tokio::time::timeout(Duration::from_secs(2), r.browser.version())
                .await
                .is_ok_and(|v| v.is_ok()),
            None => false,
        }
    }

    /// Stops the browser; the next render starts another.
    async fn discard_browser(&self) {
        if let Some(old) = self.browser.lock().await.take() {
            restarted(old).await;
        }
    }

    /// Whether a browser is running and answering, starting one if needed (for `/ready`).
    pub async fn ready(&self) -> Result<(), Error> {
        let guard = self.ensure_browser().await?;
        match guard.as_ref() {
            Some(r) => tokio::time::timeout(Duration::from_secs(5), r.browser.version())
                .await
                .map_err(|_| Error::Unavailable("browser does not answer".into()))?
                .map(|_| ())
                .map_err(|e| Error::Unavailable(e.to_string())),
            None => Err(Error::Unavailable("browser did not start".into())),
        }
    }

    /// Closes the browser and waits for its process (no zombies after shutdown).
    pub async fn shutdown(&self) {
        if let Some(running) = self.browser.lock().await.take() {
            stop(running).await;
        }
    }

    async fn render_in(&self, window: &Window, spec: &ScreenshotSpec) -> Result<Vec<u8>, Error> {
        let page = &window.page;
        window.blocked_document.store(false, Ordering::Release);
        if let Ok(mut origins) = window.origins.lock() {
            origins.clear();
        }
        page.execute(viewport(spec, i64::from(spec.height))?)
            .await
            .map_err(page_error)?;
        let scheme = if spec.prefer_dark { "dark" } else { "light" };
        page.emulate_media_features(vec![MediaFeature::new("prefers-color-scheme", scheme)])
            .await
            .map_err(page_error)?;

        let mut responses = page
            .event_listener::<EventResponseReceived>()
            .await
            .map_err(page_error)?;
        let navigated = page.goto(spec.url.as_str()).await;
        if let Err(e) = navigated {
            if window.blocked_document.load(Ordering::Acquire) {
                return Err(Error::RedirectRefused);
            }
            return Err(page_error(e));
        }
        // The main document's status: the last Document response seen (after redirects).
        let mut status = None;
        while let Some(Some(ev)) = responses.next().now_or_never() {
            if ev.r#type == ResourceType::Document {
                status = Some(ev.response.status);
            }
        }
        if let Some(code) = status.filter(|c| *c >= 400) {
            return Err(Error::Page(format!("page answered {code}")));
        }
        // Web fonts first: a card rendered in the fallback font is a wrong card.
        page.evaluate("document.fonts.ready.then(() => true)")
            .await
            .map_err(page_error)?;
        if let Some(selector) = &spec.wait_for {
            wait_for(page, selector).await?;
        }
        if spec.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(u64::from(spec.delay_ms))).await;
        }
        let format = match spec.kind {
            ShotType::Jpeg => CaptureScreenshotFormat::Jpeg,
            ShotType::Png => CaptureScreenshotFormat::Png,
            ShotType::Webp => CaptureScreenshotFormat::Webp,
        };
        let mut params = CaptureScreenshotParams::builder().format(format);
        if spec.kind == ShotType::Png {
            // Fast and large: the caller compresses it again (`Imaging::compact_png`).
            params = params.optimize_for_speed(true);
        } else {
            params = params.quality(i64::from(spec.quality.unwrap_or(80)));
        }
        if spec.full_page {
            let height = page
                .evaluate("document.documentElement.scrollHeight")
                .await
                .ok()
                .and_then(|v| v.into_value::<f64>().ok())
                .unwrap_or(f64::from(spec.height));
            // The viewport fits the pixel limit (checked before rendering), so `tallest`
            // is at least the viewport's height.
            let tallest = (self.settings.max_pixels as f64
                / (f64::from(spec.width) * spec.scale_factor * spec.scale_factor))
                .floor()
                .min(MAX_FULL_PAGE_HEIGHT);
            page.execute(viewport(
                spec,
                height.clamp(f64::from(spec.height), tallest) as i64,
            )?)
            .await
            .map_err(page_error)?;
        }
        // Page.captureScreenshot directly: chromiumoxide's `screenshot` first activates the
        // target, which makes windows of the same browser take turns (measured: two tabs
        // gave no more shots per second than one).
        let shot = page.execute(params.build()).await.map_err(page_error)?;
        base64::engine::general_purpose::STANDARD
            .decode(AsRef::<str>::as_ref(&shot.result.data))
            .map_err(|e| Error::Page(format!("screenshot data: {e}")))
    }

    /// Pauses every document request of the page (top level, frames, redirect hops) and
    /// lets through only what the policy allows; the proxy checks again when connecting.
    async fn guard_network(
        &self,
        page: &Page,
        blocked_document: Arc<AtomicBool>,
        origins: Arc<std::sync::Mutex<HashSet<String>>>,
    ) -> Result<(), Error> {
        let mut paused = page
            .event_listener::<EventRequestPaused>()
            .await
            .map_err(page_error)?;
        let pattern = RequestPattern::builder()
            .url_pattern("*")
            .resource_type(ResourceType::Document)
            .request_stage(RequestStage::Request)
            .build();
        page.execute(EnableParams::builder().pattern(pattern).build())
            .await
            .map_err(page_error)?;
        let policy = self.settings.policy.clone();
        let page = page.clone();
        tokio::spawn(async move {
            while let Some(event) = paused.next().await {
                let policy = policy.clone();
                let page = page.clone();
                let blocked_document = blocked_document.clone();
                let origins = origins.clone();
                tokio::spawn(async move {
                    let allowed = match Url::parse(&event.request.url) {
                        Ok(url) => {
                            let ok = policy.check_url_and_names(&url).await.is_ok();
                            if ok {
                                if let Ok(mut o) = origins.lock() {
                                    o.insert(url.origin().ascii_serialization());
                                }
                            }
                            ok
                        }
                        Err(_) => false,
                    };
                    if allowed {
                        let _ = page
                            .execute(ContinueRequestParams::new(event.request_id.clone()))
                            .await;
                    } else {
                        if event.resource_type == ResourceType::Document {
                            blocked_document.store(true, Ordering::Release);
                        }
                        tracing::info!(url = %event.request.url, "page request blocked by policy");
                        let _ = page
                            .execute(FailRequestParams::new(
                                event.request_id.clone(),
                                ErrorReason::BlockedByClient,
                            ))
                            .await;
                    }
                });
            }
        });
        Ok(())
    }
}

async fn wait_for(page: &Page, selector: &str) -> Result<(), Error> {
    let quoted = serde_json::to_string(selector).map_err(|_| Error::BadSelector)?;
    let script = format!(
        "new Promise((resolve, reject) => {{ \
           const sel = {quoted}; \
           try {{ document.querySelector(sel); }} catch (e) {{ reject(new Error('bad selector')); return; }} \
           const poll = () => document.querySelector(sel) ? resolve(true) : setTimeout(poll, 25); \
           poll(); }})"
    );
    match page.evaluate(script).await {
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("bad selector") => Err(Error::BadSelector),
        Err(e) => Err(Error::Page(one_line(&e.to_string()))),
    }
}

/// Stops a browser that crashed or hung; the next render starts another.
async fn restarted(old: Running) {
    metrics::counter!("ferrotype_browser_restarts_total").increment(1);
    stop(old).await;
}

async fn stop(mut running: Running) {
    let exited = matches!(running.browser.try_wait(), Ok(Some(_)));
    if !exited {
        let _ = tokio::time::timeout(Duration::from_secs(3), running.browser.close()).await;
    }
    if tokio::time::timeout(Duration::from_secs(3), running.browser.wait())
        .await
        .is_err()
    {
        let _ = running.browser.kill().await;
        let _ = tokio::time::timeout(Duration::from_secs(3), running.browser.wait()).await;
    }
    running.handler.abort();
}

/// The emulated screen: the spec's width and pixel ratio, `height` CSS pixels tall.
fn viewport(spec: &ScreenshotSpec, height: i64) -> Result<SetDeviceMetricsOverrideParams, Error> {
    SetDeviceMetricsOverrideParams::builder()
        .width(i64::from(spec.width))
        .height(height)
        .device_scale_factor(spec.scale_factor)
        .mobile(false)
        .build()
        .map_err(Error::Page)
}

fn page_error(e: chromiumoxide::error::CdpError) -> Error {
    Error::Page(one_line(&e.to_string()))
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}
