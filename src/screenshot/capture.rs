//! A screenshot from request to bytes: the pixel limit, a tab slot within the render
//! deadline, a window, the render (retried once on a new browser when the old one died
//! under it), the PNG compressed again on the image pool, and the byte limit.

use std::sync::Arc;
use std::time::Instant;

use super::{Error, Renderer};
use crate::options::{ScreenshotSpec, ShotType};
use crate::telemetry::Stage;

impl Renderer {
    /// The finished image for `spec`: rendered, a PNG compressed again by libvips on the
    /// image pool (smaller and cheaper than Chromium's own encoder), held to the pixel
    /// limit before rendering and to the byte limit after.
    pub async fn capture(self: &Arc<Self>, spec: &ScreenshotSpec) -> Result<Vec<u8>, Error> {
        let mut bytes = {
            let _rendering = Stage::start("rendering");
            self.render(spec).await?
        };
        if spec.kind == ShotType::Png {
            bytes = self
                .settings
                .pool
                .run(move |imaging| imaging.compact_png(&bytes))
                .await??;
        }
        let limit = self.settings.max_bytes;
        if bytes.len() as u64 > limit {
            return Err(Error::TooLarge(limit));
        }
        metrics::counter!("ferrotype_screenshots_total").increment(1);
        Ok(bytes)
    }

    /// Renders `spec` within the render deadline, which covers everything the caller
    /// waits for; resetting or closing the window afterwards happens in the background.
    async fn render(self: &Arc<Self>, spec: &ScreenshotSpec) -> Result<Vec<u8>, Error> {
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
}
