//! What the handlers share: the configuration, the fetcher with its originals cache, the
//! image pool, the result cache, when a browser is configured, the renderer and, in demo
//! mode, the gallery page.

use std::sync::Arc;

use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;

use super::results::Results;
use crate::cache::DiskCache;
use crate::config::Config;
use crate::imaging::pool::Pool;
use crate::imaging::Imaging;
use crate::screenshot::{self, Renderer};
use crate::source::Fetcher;
use crate::storage::ResultStorage;
use crate::telemetry;

pub struct App {
    pub(super) config: Config,
    pub(super) fetcher: Fetcher,
    pub(super) pool: Arc<Pool>,
    pub(super) results: Results,
    pub(super) metrics: Option<&'static PrometheusHandle>,
    /// None when the configured browser executable does not exist.
    pub(super) renderer: Option<Arc<Renderer>>,
    /// Demo mode's page at `/`, made once at start (it depends on the configuration only).
    pub(super) gallery: Option<Bytes>,
}

impl App {
    /// Opens the originals cache under `config.cache_dir` (rebuilding its index). libvips
    /// must have been started (`imaging::init`) before images are processed.
    pub async fn new(config: Config) -> Result<Self, String> {
        let originals_dir = config.cache_dir.join("originals");
        let originals = DiskCache::open(&originals_dir, config.cache_max_bytes)
            .await
            .map_err(|e| format!("originals cache {}: {e}", originals_dir.display()))?;
        let fetcher = Fetcher::new(&config, originals).map_err(|e| format!("HTTP client: {e}"))?;
        let imaging = Imaging::configured(&config, config.workers.div_ceil(2))?;
        let pool = Arc::new(Pool::new(config.workers, config.queue, imaging));
        let storage = match &config.result_storage {
            Some((bucket, prefix)) => Some(ResultStorage::new(
                &config.s3,
                bucket,
                prefix,
                config.fetch_timeout,
            )?),
            None => None,
        };
        let renderer = config.chromium.exists().then(|| {
            Arc::new(Renderer::new(screenshot::Settings {
                executable: config.chromium.clone(),
                tabs: config.browser_tabs,
                queue: config.queue,
                deadline: config.render_timeout,
                policy: fetcher.policy(),
                max_pixels: config.max_source_pixels,
                max_bytes: config.max_source_bytes,
                pool: pool.clone(),
            }))
        });
        if renderer.is_none() {
            tracing::warn!(chromium = %config.chromium.display(), "browser not found: /screenshot answers 503");
        }
        let gallery = config
            .demo
            .then(|| Bytes::from(crate::demo::gallery::page(&config)));
        Ok(Self {
            renderer,
            gallery,
            results: Results::new(config.result_cache_bytes).with_storage(storage),
            metrics: telemetry::recorder(),
            pool,
            fetcher,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Closes the browser, waiting for its processes.
    pub async fn shutdown(&self) {
        if let Some(r) = &self.renderer {
            r.shutdown().await;
        }
    }
}
