//! The HTTP server: hyper 1 (HTTP/1.1 and h2c), the tower stack, and the routes.
//!
//! ```text
//! request-id → access log → trace span → propagate id → catch panic → no-store default
//!   → VerifySignature → routes
//! ```
//! `/metrics` is served on the main listener, or only on `FERROTYPE_METRICS_BIND`'s.

pub mod access;
pub mod response;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::cache::{self, DiskCache, MediaType, Outcome, Rendered};
use crate::config::Config;
use crate::imaging::pool::Pool;
use crate::imaging::{Accepts, Imaging, Limits};
use crate::info;
use crate::options::{self, FormatChoice, ShotType, SourceRef};
use crate::screenshot::{self, Renderer};
use crate::signature::VerifySignatureLayer;
use crate::source::Fetcher;
use crate::telemetry::{self, Stage};
use crate::Error;
use access::AccessLogLayer;
use response::{error_response, text, ImageMeta};

/// Every response body: whole, in memory (images are small; originals are capped).
pub type Body = Full<Bytes>;

/// How long a whole request may take beyond the origin deadline, for queueing and processing.
const PROCESSING_BUDGET: Duration = Duration::from_secs(30);

/// What the handlers share.
pub struct App {
    config: Config,
    fetcher: Fetcher,
    imaging: Arc<Imaging>,
    pool: Pool,
    results: moka::future::Cache<String, Arc<Rendered>>,
    metrics: Option<&'static PrometheusHandle>,
    /// None when the configured browser executable does not exist.
    renderer: Option<Arc<Renderer>>,
}

impl App {
    /// Opens the originals cache under `config.cache_dir` (rebuilding its index).
    pub async fn new(config: Config) -> Result<Self, String> {
        let originals_dir = config.cache_dir.join("originals");
        let originals = DiskCache::open(&originals_dir, config.cache_max_bytes)
            .await
            .map_err(|e| format!("originals cache {}: {e}", originals_dir.display()))?;
        let fetcher = Fetcher::new(&config, originals).map_err(|e| format!("HTTP client: {e}"))?;
        let imaging = Imaging::new(
            Limits {
                max_source_pixels: config.max_source_pixels,
                max_frames: config.max_frames,
            },
            config.workers.div_ceil(2),
        );
        let renderer = config.chromium.exists().then(|| {
            Arc::new(Renderer::new(screenshot::Settings {
                executable: config.chromium.clone(),
                tabs: config.browser_tabs,
                queue: config.queue,
                deadline: config.render_timeout,
                policy: fetcher.policy(),
                max_pixels: config.max_source_pixels,
            }))
        });
        if renderer.is_none() {
            tracing::warn!(chromium = %config.chromium.display(), "browser not found: /screenshot answers 503");
        }
        Ok(Self {
            renderer,
            results: cache::results(config.result_cache_bytes),
            metrics: telemetry::recorder(),
            pool: Pool::new(config.workers, config.queue),
            imaging: Arc::new(imaging),
            fetcher,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<Body> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return error_response(&Error::Method);
        }
        let deadline = self.config.fetch_timeout + PROCESSING_BUDGET;
        let route = async {
            match req.uri().path() {
                "/health" => Ok(text(StatusCode::OK, "ok")),
                "/ready" => Ok(self.ready().await),
                "/metrics" if self.config.metrics_bind.is_none() => Ok(self.metrics()),
                p if p == "/transform" || p.starts_with("/transform/") => {
                    self.transform(&req).await
                }
                "/screenshot" => self.screenshot(&req).await,
                p if p == "/info" || p.starts_with("/info/") => self.info(&req).await,
                _ => Err(Error::NoRoute),
            }
        };
        match tokio::time::timeout(deadline, route).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                tracing::info!(status = response::status_of(&e).as_u16(), error = %e, "request refused");
                error_response(&e)
            }
            Err(_) => response::deadline_response(),
        }
    }

    /// Ready when libvips can process an image on the pool, the cache directory takes a
    /// file and, when screenshots are configured, the browser answers.
    async fn ready(&self) -> Response<Body> {
        let dir = self.config.cache_dir.clone();
        let writable = tokio::task::spawn_blocking(move || tempfile::tempfile_in(&dir).map(drop))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        let probe = self
            .pool
            .run(|| {
                rs_vips::VipsImage::black(1, 1)
                    .and_then(|i| i.pngsave_buffer())
                    .is_ok()
            })
            .await;
        let browser = match &self.renderer {
            Some(r) => r.ready().await.map_err(|e| e.to_string()),
            None => Ok(()),
        };
        let mut resp = match (probe, browser) {
            _ if writable.is_err() => text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "cache directory {} is not writable\n",
                    self.config.cache_dir.display()
                ),
            ),
            (Ok(true), Ok(())) => text(StatusCode::OK, "ready\n"),
            (Ok(false), _) => text(StatusCode::SERVICE_UNAVAILABLE, "libvips is not usable\n"),
            (Err(e), _) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
            (_, Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("{e}\n")),
        };
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }

    fn metrics(&self) -> Response<Body> {
        let mut resp = match self.metrics {
            Some(handle) => text(StatusCode::OK, &handle.render()),
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "metrics recorder unavailable\n",
            ),
        };
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }

    /// Closes the browser, waiting for its processes.
    pub async fn shutdown(&self) {
        if let Some(r) = &self.renderer {
            r.shutdown().await;
        }
    }

    async fn screenshot<B>(&self, req: &Request<B>) -> Result<Response<Body>, Error> {
        let spec = options::parse_screenshot(req.uri().query().unwrap_or(""))?;
        let renderer = self
            .renderer
            .as_ref()
            .ok_or_else(|| screenshot::Error::Unavailable("no browser configured".into()))?;
        let (rendered, outcome) = self
            .cached(spec.result_key(), async {
                let mut bytes = {
                    let _rendering = Stage::start("rendering");
                    renderer.render(&spec).await?
                };
                if spec.kind == ShotType::Png {
                    let imaging = self.imaging.clone();
                    bytes = self.pool.run(move || imaging.compact_png(&bytes)).await??;
                }
                let limit = self.config.max_source_bytes;
                if bytes.len() as u64 > limit {
                    return Err(screenshot::Error::TooLarge(limit).into());
                }
                metrics::counter!("ferrotype_screenshots_total").increment(1);
                Ok(Rendered::new(Bytes::from(bytes), spec.kind.format()))
            })
            .await?;
        let meta = ImageMeta {
            varies: false,
            file_stem: spec.filename.as_deref().unwrap_or("screenshot"),
            download: false,
        };
        Ok(self.answer(&rendered, &meta, req, outcome))
    }

    async fn info<B>(&self, req: &Request<B>) -> Result<Response<Body>, Error> {
        let uri = req.uri();
        let request = options::parse_info(uri.path(), uri.query().unwrap_or(""))?;
        let (rendered, outcome) = self
            .cached(request.result_key(), async {
                let version = request.version.as_deref();
                let mut original = self.fetcher.fetch(&request.source, version).await?;
                // Only a `?url=` source has a URL, the last of its redirects.
                if let Some(page) = &original.url {
                    // A page, not an image: describe the picture it names for itself, once,
                    // under the same allow-list and network rules as the page.
                    if let Some(image) = info::og::image_url(&original.bytes, page) {
                        if image != *page {
                            original = self.fetcher.fetch(&SourceRef::Url(image), version).await?;
                        }
                    }
                }
                let final_url = original.url.as_ref().map(url::Url::to_string);
                let original = original.bytes;
                let imaging = self.imaging.clone();
                let described = self
                    .pool
                    .run(move || {
                        let analysis = imaging.analyse(&original)?;
                        Ok::<_, crate::imaging::Error>(info::describe(
                            &original, &analysis, final_url,
                        ))
                    })
                    .await??;
                // Infallible for this type: string keys, and numbers checked finite.
                let json = serde_json::to_vec(&described).unwrap_or_default();
                Ok(Rendered::new(Bytes::from(json), MediaType::JSON))
            })
            .await?;
        let meta = ImageMeta {
            varies: false,
            file_stem: "info",
            download: false,
        };
        Ok(self.answer(&rendered, &meta, req, outcome))
    }

    async fn transform<B>(&self, req: &Request<B>) -> Result<Response<Body>, Error> {
        let uri = req.uri();
        let request = options::parse_transform(uri.path(), uri.query().unwrap_or(""))?;
        let accepts = if request.spec.format == FormatChoice::Auto {
            req.headers()
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(Accepts::from_header)
                .unwrap_or_default()
        } else {
            Accepts::default()
        };
        let key = format!("{}|{accepts:?}", request.result_key());
        let (rendered, outcome) = self
            .cached(key, async {
                let original = self
                    .fetcher
                    .fetch(&request.source, request.version.as_deref())
                    .await?
                    .bytes;
                let imaging = self.imaging.clone();
                let spec = request.spec.clone();
                let output = self
                    .pool
                    .run(move || imaging.transform(&original, &spec, accepts))
                    .await??;
                metrics::counter!("ferrotype_transforms_total").increment(1);
                Ok(Rendered::new(Bytes::from(output.bytes), output.format))
            })
            .await?;
        let stem = request
            .spec
            .filename
            .clone()
            .or_else(|| request.source.file_name())
            .unwrap_or_default();
        let meta = ImageMeta {
            varies: request.spec.format == FormatChoice::Auto,
            file_stem: &stem,
            download: request.spec.download,
        };
        Ok(self.answer(&rendered, &meta, req, outcome))
    }

    /// The result under `key`: from the result cache, or made by `make`, once for all the
    /// identical requests in flight. Errors are not cached.
    async fn cached(
        &self,
        key: String,
        make: impl Future<Output = Result<Rendered, Error>>,
    ) -> Result<(Arc<Rendered>, Outcome), Error> {
        let mut outcome = Outcome::Hit;
        let rendered = self
            .results
            .try_get_with(key, async {
                outcome = Outcome::Miss;
                make.await.map(Arc::new)
            })
            .await
            .map_err(|e| (*e).clone())?;
        Ok((rendered, outcome))
    }

    /// The response for a finished image, with its cache outcome counted and attached for
    /// the access log.
    fn answer<B>(
        &self,
        rendered: &Rendered,
        meta: &ImageMeta,
        req: &Request<B>,
        outcome: Outcome,
    ) -> Response<Body> {
        if outcome == Outcome::Miss {
            metrics::gauge!("ferrotype_cache_bytes", "cache" => "results")
                .set(self.results.weighted_size() as f64);
        }
        metrics::counter!("ferrotype_results_total", "cache" => outcome.label()).increment(1);
        let mut resp = response::image(rendered, meta, &self.config.cache_control, req.headers());
        resp.extensions_mut().insert(outcome);
        resp
    }
}

/// Request ids: a per-process random prefix and a counter, cheap and unique enough to grep.
#[derive(Clone)]
struct Ids {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Ids {
    fn new() -> Self {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        Self {
            prefix: hex::encode(b).into(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send>) -> Response<Body> {
    // No detail: a panic message may contain anything, including parts of the URL.
    let mut resp = text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Serves `app` on `listener` (and `/metrics` alone on `metrics`, when given) until
/// `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let signer = app.config.signer.clone();
    let app_for_shutdown = app.clone();
    let metrics_task = metrics.map(|l| tokio::spawn(serve_metrics(l, app.clone())));
    let service = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(Ids::new()))
        .layer(AccessLogLayer)
        .layer(
            // A span for what handlers log; the access log writes the line per request.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    // The path only: the query carries the signature.
                    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(())
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(VerifySignatureLayer::new(signer))
        .service_fn(move |req: Request<hyper::body::Incoming>| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(req).await) }
        });

    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer): (_, SocketAddr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; exiting anyway");
    }
    if let Some(task) = metrics_task {
        task.abort();
    }
    app_for_shutdown.shutdown().await;
    Ok(())
}

/// `/metrics` on its own listener, for a scraper on a private network.
async fn serve_metrics(listener: TcpListener, app: Arc<App>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let resp = match req.uri().path() {
                    "/metrics" => app.metrics(),
                    _ => error_response(&Error::NoRoute),
                };
                async move { Ok::<_, Infallible>(resp) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
