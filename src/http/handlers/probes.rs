//! `/ready` and `/metrics`: never signed; `no-store` like every response that sets no
//! caching of its own.

use http::{Response, StatusCode};

use super::App;
use crate::http::response::text;
use crate::http::Body;

/// Ready when libvips can process an image on the pool, the cache directory takes a file
/// and, when screenshots are configured, the browser answers.
pub(super) async fn ready(app: &App) -> Response<Body> {
    let dir = app.config.cache_dir.clone();
    let writable = tokio::task::spawn_blocking(move || tempfile::tempfile_in(&dir).map(drop))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
    let probe = app
        .pool
        .run(|_| {
            rs_vips::VipsImage::black(1, 1)
                .and_then(|i| i.pngsave_buffer())
                .is_ok()
        })
        .await;
    let browser = match &app.renderer {
        Some(r) => r.ready().await.map_err(|e| e.to_string()),
        None => Ok(()),
    };
    match (probe, browser) {
        _ if writable.is_err() => text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "cache directory {} is not writable\n",
                app.config.cache_dir.display()
            ),
        ),
        (Ok(true), Ok(())) => text(StatusCode::OK, "ready\n"),
        (Ok(false), _) => text(StatusCode::SERVICE_UNAVAILABLE, "libvips is not usable\n"),
        (Err(e), _) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
        (_, Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
    }
}

pub(super) fn metrics(app: &App) -> Response<Body> {
    match app.metrics {
        Some(handle) => text(StatusCode::OK, &handle.render()),
        None => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable\n",
        ),
    }
}
