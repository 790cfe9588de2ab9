//! imgproxy's URL dialect (API.md §8): the signature was checked by `http::verify`; here
//! the expiry, then the options, then the same path as `/transform`.

use std::time::{SystemTime, UNIX_EPOCH};

use http::{Request, Response};

use super::{transform, App};
use crate::http::results;
use crate::http::Body;
use crate::options::imgproxy::Dialect;
use crate::signature::{self, split_signature};
use crate::Error;

pub(super) async fn handle<B>(app: &App, req: &Request<B>) -> Result<Response<Body>, Error> {
    let imgproxy = app.config.imgproxy.as_ref().ok_or(Error::NoRoute)?;
    let signed = signed_path(&imgproxy.prefix, req.uri().path()).ok_or(Error::NoRoute)?;
    if let Some(expires) = Dialect::expiry(signed) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now > expires {
            return Err(signature::Error::Expired.into());
        }
    }
    let parsed = imgproxy.dialect.parse(signed)?;
    transform::run(app, req, parsed.request, &results::imgproxy_target(signed)).await
}

fn signed_path<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    split_signature(prefix, path).map(|(_, signed)| signed)
}
