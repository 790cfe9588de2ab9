//! Starting Chromium, and stopping it: through ferrotype itself, so that the browser dies
//! with the server, and with a fresh profile each time.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use futures::StreamExt;

use super::{Error, Renderer};

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

pub(super) struct Running {
    pub browser: Browser,
    pub handler: tokio::task::JoinHandle<()>,
    /// A fresh profile per browser start, removed with it.
    _profile: tempfile::TempDir,
}

impl Renderer {
    pub(super) async fn launch(&self) -> Result<Running, Error> {
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
}

/// Stops a browser that crashed or hung; the next render starts another.
pub(super) async fn restarted(old: Running) {
    metrics::counter!("ferrotype_browser_restarts_total").increment(1);
    stop(old).await;
}

pub(super) async fn stop(mut running: Running) {
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
