//! The running browser's lifecycle: started on first use, checked before windows are handed
//! out, replaced when it crashed or stopped answering, closed at shutdown.

use std::time::Duration;

use super::launch::{restarted, stop, Running};
use super::{Error, Renderer};

impl Renderer {
    /// A browser that answers: the running one, or a new one.
    pub(super) async fn ensure_browser(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Running>>, Error> {
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

    /// Whether the running browser answers a trivial command promptly.
    pub(super) async fn answers(&self) -> bool {
        match self.browser.lock().await.as_ref() {
            Some(r) => tokio::time::timeout(Duration::from_secs(2), r.browser.version())
                .await
                .is_ok_and(|v| v.is_ok()),
            None => false,
        }
    }

    /// Stops the browser; the next render starts another.
    pub(super) async fn discard_browser(&self) {
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
}
