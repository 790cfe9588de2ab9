//! `/info`'s work from request to description: the original fetched (through the same
//! originals cache and rules as a transform), a web page swapped for the picture it names,
//! and the bytes analysed on the image pool.

use url::Url;

use crate::imaging::sniff::{looks_like_html, HTML_SNIFF};
use crate::imaging::{self, pool::Pool};
use crate::options::{InfoRequest, SourceRef};
use crate::source::{self, Fetcher, Original};

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
    if let Some(page) = original.url.clone() {
        if let Some(image) = og_image(&original, &page)? {
            original = fetcher.fetch(&SourceRef::Url(image), version).await?;
        }
    }
    let final_url = original.url.as_ref().map(url::Url::to_string);
    let info = pool
        .run(move |imaging| {
            let bytes = original.read()?;
            let analysis = imaging.analyse(&bytes)?;
            Ok::<_, Error>(describe(&bytes, &analysis, final_url))
        })
        .await??;
    Ok(info)
}

/// The picture a web page names, when `original` is one (its first [`HTML_SNIFF`] bytes
/// say so) and names another URL than its own. The reads block, briefly: a kibibyte, then
/// a page, which the originals cache keeps only up to its first MiB.
fn og_image(original: &Original, page: &Url) -> Result<Option<Url>, Error> {
    if !looks_like_html(&original.read_up_to(HTML_SNIFF as u64)?) {
        return Ok(None);
    }
    let html = original.read()?;
    Ok(og::image_url(&html, page).filter(|image| image != page))
}
