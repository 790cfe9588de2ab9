//! One render in a window: viewport and colour scheme, navigation and the document's
//! status, fonts, `waitFor`, `delay`, and the capture.

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use chromiumoxide::cdp::browser_protocol::emulation::{
    MediaFeature, SetDeviceMetricsOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::network::{EventResponseReceived, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams,
};
use chromiumoxide::Page;
use futures::{FutureExt, StreamExt};

use super::windows::Window;
use super::{Error, Renderer};
use crate::options::{ScreenshotSpec, ShotType};

/// The tallest full-page capture, in CSS pixels: beyond it the image is cut.
const MAX_FULL_PAGE_HEIGHT: f64 = 16_384.0;

impl Renderer {
    pub(super) async fn render_in(
        &self,
        window: &Window,
        spec: &ScreenshotSpec,
    ) -> Result<Vec<u8>, Error> {
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
        Err(e) => Err(Error::Page(crate::text::one_line(&e.to_string()))),
    }
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

pub(super) fn page_error(e: chromiumoxide::error::CdpError) -> Error {
    Error::Page(crate::text::one_line(&e.to_string()))
}
