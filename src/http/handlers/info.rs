//! `/info`: the typed request, `info::lookup`, the JSON.

use bytes::Bytes;
use http::{Request, Response};

use super::{answer, stored, App};
use crate::http::response::{ImageMeta, MediaType, Rendered};
use crate::http::results::Job;
use crate::http::Body;
use crate::{info, options, Error};

pub(super) async fn handle<B>(app: &App, req: &Request<B>) -> Result<Response<Body>, Error> {
    let uri = req.uri();
    let request = options::parse_info(uri.path(), uri.query().unwrap_or(""))?;
    let (rendered, outcome) = app
        .results
        .get_or_make(Job::Info(&request), stored(uri), async {
            let described = info::lookup(&app.fetcher, &app.pool, &request).await?;
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
    Ok(answer(app, &rendered, &meta, req, outcome))
}
