//! The endpoints: each handler parses its request, calls the module that does the work,
//! and answers. [`dispatch`] follows the route the route layer decided.

mod gallery;
mod imgproxy;
mod info;
mod probes;
mod screenshot;
mod transform;

use http::{Method, Request, Response, StatusCode};

use super::app::App;
use super::response::{self, error_response, text, ImageMeta, Rendered};
use super::results;
use super::route::Route;
use super::Body;
use crate::cache::Outcome;
use crate::Error;

/// Answers `req` on its route. Errors become responses here, through the status table.
pub async fn dispatch<B>(app: &App, req: Request<B>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return error_response(&Error::Method);
    }
    let answered = match Route::of(&req) {
        Route::Transform => transform::handle(app, &req).await,
        Route::Imgproxy => imgproxy::handle(app, &req).await,
        Route::Info => info::handle(app, &req).await,
        Route::Screenshot => screenshot::handle(app, &req).await,
        Route::Health => Ok(text(StatusCode::OK, "ok")),
        Route::Ready => Ok(probes::ready(app).await),
        Route::Metrics => Ok(probes::metrics(app)),
        Route::Gallery => gallery::page(app),
        Route::NotFound => Err(Error::NoRoute),
    };
    answered.unwrap_or_else(|e| {
        tracing::info!(status = response::status_of(&e).as_u16(), error = %e, "request refused");
        error_response(&e)
    })
}

/// The result storage's name for a native request (API.md §9).
fn stored(uri: &http::Uri) -> Option<String> {
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    Some(results::stored_name(&results::native_target(target), None))
}

/// The response for a finished body, with its cache outcome attached for the access log.
fn answer<B>(
    app: &App,
    rendered: &Rendered,
    meta: &ImageMeta,
    req: &Request<B>,
    outcome: Outcome,
) -> Response<Body> {
    let mut resp = response::image(rendered, meta, &app.config.cache_control, req.headers());
    resp.extensions_mut().insert(outcome);
    resp
}
