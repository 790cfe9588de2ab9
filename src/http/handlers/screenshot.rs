//! `/screenshot`: the typed request, `Renderer::capture`, the image.

use bytes::Bytes;
use http::{Request, Response};

use super::{answer, stored, App};
use crate::http::response::{ImageMeta, Rendered};
use crate::http::results::Job;
use crate::http::Body;
use crate::{options, screenshot, Error};

pub(super) async fn handle<B>(app: &App, req: &Request<B>) -> Result<Response<Body>, Error> {
    let spec = options::parse_screenshot(req.uri().query().unwrap_or(""))?;
    let renderer = app
        .renderer
        .as_ref()
        .ok_or_else(|| screenshot::Error::Unavailable("no browser configured".into()))?;
    let (rendered, outcome) = app
        .results
        .get_or_make(Job::Screenshot(&spec), stored(req.uri()), async {
            let bytes = renderer.capture(&spec).await?;
            Ok(Rendered::new(Bytes::from(bytes), spec.kind.format()))
        })
        .await?;
    let meta = ImageMeta {
        varies: false,
        file_stem: spec.filename.as_deref().unwrap_or("screenshot"),
        download: false,
    };
    Ok(answer(app, &rendered, &meta, req, outcome))
}
