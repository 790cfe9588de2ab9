//! `AccessLogLayer`: one log line and the request metrics per request.
//!
//! The line carries the method, the route's label (never the path or the query, which
//! holds the signature), the status, the body bytes, the duration, the cache outcome and the
//! request id. A request whose client went away before the answer is logged with status
//! 499, as nginx does, so every request leaves exactly one line. Handlers with a result cache attach its
//! [`Outcome`] to the response as an extension.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderValue, Method, Request, Response};
use tower::{Layer, Service};

use super::route::Route;
use crate::cache::Outcome;

#[derive(Clone, Copy, Default)]
pub struct AccessLogLayer;

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AccessLog { inner }
    }
}

#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    R: http_body::Body,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut entry = Entry {
            method: req.method().clone(),
            route: Route::of(&req).label(),
            id: req.headers().get("x-request-id").cloned(),
            started: Instant::now(),
            done: false,
        };
        metrics::gauge!("ferrotype_http_requests_in_flight").increment(1.0);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let bytes = resp.body().size_hint().exact().unwrap_or(0);
            let cache = resp.extensions().get::<Outcome>().copied();
            entry.finish(resp.status().as_u16(), bytes, cache);
            Ok(resp)
        })
    }
}

/// One request's line, written when it is answered or, failing that, when it is dropped.
struct Entry {
    method: Method,
    route: &'static str,
    id: Option<HeaderValue>,
    started: Instant,
    done: bool,
}

impl Entry {
    fn finish(&mut self, status: u16, bytes: u64, cache: Option<Outcome>) {
        self.done = true;
        let elapsed = self.started.elapsed();
        metrics::gauge!("ferrotype_http_requests_in_flight").decrement(1.0);
        metrics::counter!("ferrotype_http_requests_total", "route" => self.route, "status" => status.to_string())
            .increment(1);
        metrics::histogram!("ferrotype_http_request_duration_seconds", "route" => self.route)
            .record(elapsed.as_secs_f64());
        let cache = cache.map_or("-", Outcome::label);
        tracing::info!(
            method = %self.method,
            route = self.route,
            status,
            bytes,
            ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            cache,
            id = self.id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
            "request"
        );
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if !self.done {
            self.finish(499, 0, None);
        }
    }
}
