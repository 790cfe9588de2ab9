//! `/` in demo mode: the gallery page (`demo::gallery`), made at start. Never signed, never
//! cached: its signatures change with the key generated at each start.

use http::Response;

use super::App;
use crate::http::response;
use crate::http::Body;
use crate::Error;

pub(super) fn page(app: &App) -> Result<Response<Body>, Error> {
    // The route exists only when the page does; without one, `/` is no endpoint.
    app.gallery
        .clone()
        .map(response::html)
        .ok_or(Error::NoRoute)
}
