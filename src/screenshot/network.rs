//! The network policy inside a page, besides the proxy every connection goes through:
//! document requests paused and judged (a refused page is a 403, a refused image a hole),
//! and the lockdown script that removes what would not use the proxy.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EnableParams, EventRequestPaused, FailRequestParams, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::Page;
use futures::StreamExt;
use url::Url;

use super::render::page_error;
use super::{Error, Renderer};

/// Scripts run in every frame before the page's own: no connection that would bypass the
/// proxy (UDP-based ones), and nothing that waits for a human (dialogs, popups, printing).
pub(super) const LOCKDOWN: &str = r#"(() => {
  for (const name of ["WebTransport", "RTCPeerConnection", "webkitRTCPeerConnection"]) {
    try { Object.defineProperty(window, name, { value: undefined, configurable: false }); } catch (_) {}
  }
  window.open = () => null;
  window.alert = () => {};
  window.confirm = () => false;
  window.prompt = () => null;
  window.print = () => {};
})();"#;

impl Renderer {
    /// Pauses every document request of the page (top level, frames, redirect hops) and
    /// lets through only what the policy allows; the proxy checks again when connecting.
    pub(super) async fn guard_network(
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
