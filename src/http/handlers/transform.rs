//! `/transform`: the typed request, the original, the pool, the image.

use bytes::Bytes;
use http::{Request, Response};

use super::{answer, App};
use crate::http::negotiate;
use crate::http::response::{ImageMeta, Rendered};
use crate::http::results::{self, Job};
use crate::http::Body;
use crate::options::{Accepts, TransformRequest};
use crate::Error;

pub(super) async fn handle<B>(app: &App, req: &Request<B>) -> Result<Response<Body>, Error> {
    let uri = req.uri();
    let request = app
        .config
        .catalog
        .parse_transform(uri.path(), uri.query().unwrap_or(""))?;
    let target = results::native_target(uri.path_and_query().map_or("/", |pq| pq.as_str()));
    run(app, req, request, &target).await
}

/// A parsed transform, from any dialect: the result cache and storage, the original, the
/// pool, the answer. `target` is the request as the dialect canonicalises it, for the
/// result storage's name.
pub(super) async fn run<B>(
    app: &App,
    req: &Request<B>,
    request: TransformRequest,
    target: &str,
) -> Result<Response<Body>, Error> {
    let negotiated = request.spec.format.negotiates();
    let accepts = if negotiated {
        negotiate::accepts(req.headers())
    } else {
        Accepts::default()
    };
    let (rendered, outcome) = app
        .results
        .get_or_make(
            Job::Transform(&request, accepts),
            Some(results::stored_name(target, negotiated.then_some(accepts))),
            async {
                let original = app
                    .fetcher
                    .fetch(&request.source, request.version.as_deref())
                    .await?;
                let spec = request.spec.clone();
                // The original is read by the worker, not while the request waits for one.
                let output = app
                    .pool
                    .run(move |imaging| {
                        let bytes = original.read()?;
                        Ok::<_, Error>(imaging.transform(&bytes, &spec, accepts)?)
                    })
                    .await??;
                metrics::counter!("ferrotype_transforms_total").increment(1);
                Ok(Rendered::new(Bytes::from(output.bytes), output.format))
            },
        )
        .await?;
    let stem = request
        .spec
        .filename
        .clone()
        .or_else(|| request.source.file_name())
        .unwrap_or_default();
    let meta = ImageMeta {
        varies: negotiated,
        file_stem: &stem,
        download: request.spec.download,
    };
    Ok(answer(app, &rendered, &meta, req, outcome))
}
