//! The window pool: a browser context with its window per tab slot, set up once, reset
//! between renders and reused; closed instead when its render failed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::browser::{
    BrowserContextId, SetDownloadBehaviorBehavior, SetDownloadBehaviorParams,
};
use chromiumoxide::cdp::browser_protocol::network::{
    ClearBrowserCookiesParams, SetCacheDisabledParams,
};
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, EventJavascriptDialogOpening,
    HandleJavaScriptDialogParams,
};
use chromiumoxide::cdp::browser_protocol::storage::ClearDataForOriginParams;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::Page;
use futures::StreamExt;

use super::network::LOCKDOWN;
use super::render::page_error;
use super::{proxy, Error, Renderer};

/// What a page can leave behind for the next one. Narrower than `all`, which also walks
/// browser-wide stores (shader cache, interest groups) at a cost on every reset.
const STORAGE_TYPES: &str =
    "cookies,file_systems,indexeddb,local_storage,websql,service_workers,cache_storage,shared_storage,storage_buckets";

/// Opening a context and a window takes milliseconds; longer means the browser is gone.
const CONTEXT_TIMEOUT: Duration = Duration::from_secs(5);

/// A browser context with its window, kept for the next render and reset in between.
pub(super) struct Window {
    pub context: BrowserContextId,
    pub page: Page,
    /// Set when the policy refused a document request during the current render.
    pub blocked_document: Arc<AtomicBool>,
    /// Origins the page reached during the current render: whose storage the reset clears.
    pub origins: Arc<std::sync::Mutex<HashSet<String>>>,
    /// The browser start this window belongs to; older ones went with their browser.
    pub generation: u64,
}

impl Renderer {
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

    /// A window to render in: an idle one, or a new one.
    pub(super) async fn window(&self) -> Result<Window, Error> {
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
    pub(super) async fn reset(&self, window: &Window) -> bool {
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
                tracing::debug!(error = %crate::text::one_line(&e.to_string()), "window reset failed");
                false
            }
            Err(_) => false,
        }
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

    pub(super) async fn close_window(&self, Window { context, page, .. }: Window) {
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
}
