//! The HTTP side: the tower stack, the route table, the handlers, the status table, and
//! serving it all with hyper 1 (HTTP/1.1 and h2c).
//!
//! ```text
//! route (decided once) → request id → access log → trace span → propagate id
//!   → catch panic → no-store default → verify signature → dispatch within the deadline
//! ```
//! [`service`] builds that stack as a `Service + Clone`, which tests call in process with
//! `tower::ServiceExt::oneshot`; [`serve`] only accepts connections and hands them to it.

pub mod access;
mod app;
mod handlers;
pub mod negotiate;
mod request_id;
pub mod response;
mod results;
pub mod route;
mod serve;
pub mod verify;

pub use app::App;
pub use response::{MediaType, Rendered};
pub use serve::serve;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tower::{BoxError, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use access::AccessLogLayer;
use request_id::Ids;
use route::Routes;

/// Every response body a handler makes: whole, in memory (images are small; originals are
/// capped).
pub type Body = Full<Bytes>;

/// The body of the finished stack's responses (the layers wrap [`Body`]).
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// How long a whole request may take beyond the origin deadline, for queueing and processing.
const PROCESSING_BUDGET: Duration = Duration::from_secs(30);

/// A whole HTTP service: what [`service`] returns and [`serve`] accepts connections for.
pub trait HttpService<B>:
    Service<Request<B>, Response = Response<ResponseBody>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<B, S> HttpService<B> for S where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// The whole service of the main listener, every layer included, ready to be called in
/// process or served.
pub fn service<B: http_body::Body + Send + Sync + 'static>(app: Arc<App>) -> impl HttpService<B> {
    let metrics_here = app.config.metrics_bind.is_none();
    let gallery = app.gallery.is_some();
    let imgproxy = app.config.imgproxy.as_ref().map(|i| i.prefix.clone());
    stack(
        app,
        Routes::main(metrics_here)
            .with_gallery(gallery)
            .with_imgproxy(imgproxy.as_deref()),
    )
}

fn stack<B: http_body::Body + Send + Sync + 'static>(
    app: Arc<App>,
    routes: Routes,
) -> impl HttpService<B> {
    let signer = app.config.signer.clone();
    let imgproxy = app
        .config
        .imgproxy
        .as_ref()
        .map(|i| (i.signer.clone(), i.prefix.as_str()));
    let deadline = app.config.fetch_timeout + PROCESSING_BUDGET;
    ServiceBuilder::new()
        .map_response(boxed)
        .map_request(move |req: Request<B>| routes.route(req))
        .layer(SetRequestIdLayer::x_request_id(Ids::new()))
        .layer(AccessLogLayer)
        .layer(
            // A span for what handlers log; the access log writes the line per request.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<B>| {
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
        .layer(CatchPanicLayer::custom(response::panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(verify::with_imgproxy(signer, imgproxy))
        .service_fn(move |req: Request<B>| {
            let app = app.clone();
            async move {
                // Origin and render deadlines are shorter and answer for themselves; this
                // one bounds what is left (queueing, processing) with the same 504.
                let answered = tokio::time::timeout(deadline, handlers::dispatch(&app, req)).await;
                Ok::<_, Infallible>(answered.unwrap_or_else(|_| response::deadline_response()))
            }
        })
}

/// One body type for whatever the layers wrapped around [`Body`].
fn boxed<B>(resp: Response<B>) -> Response<ResponseBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    resp.map(|body| body.map_err(Into::into).boxed_unsync())
}
