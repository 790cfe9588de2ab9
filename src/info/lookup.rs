//! `/info`'s work from request to description: the original fetched (through the same
//! originals cache and rules as a transform), a web page swapped for the picture it names,
//! and the bytes analysed on the image pool.

use crate::imaging::{self, pool::Pool};
use crate::options::{InfoRequest, SourceRef};
use crate::source::{self, Fetcher};

use super::{describe, og, Info};

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] source::Error),
    #[error(transparent)]
    Pool(#[from] imaging::pool::Error),
    #[error(transparent)]
    Imaging(#[from] imaging::Error),
}

/// Describes the original `request` names; for a `?url=` that is a web page, the picture
/// of its `og:image` (fetched once, under the same allow-list and network rules as the
/// page).
pub async fn lookup(fetcher: &Fetcher, pool: &Pool, request: &InfoRequest) -> Result<Info, Error> {
    let version = request.version.as_deref();
    let mut original = fetcher.fetch(&request.source, version).await?;
    // Only a `?url=` source has a URL, the last of its redirects.
    if let Some(page) = &original.url {
        if let Some(image) = og::image_url(&original.bytes, page) {
            if image != *page {
                original = fetcher.fetch(&SourceRef::Url(image), version).await?;
            }
        }
    }
    let final_url = original.url.as_ref().map(url::Url::to_string);
    let bytes = original.bytes;
    let info = pool
        .run(move |imaging| {
            let analysis = imaging.analyse(&bytes)?;
            Ok::<_, imaging::Error>(describe(&bytes, &analysis, final_url))
        })
        .await??;
    Ok(info)
}
