//! The in-memory cache of finished responses, and the one place where what a response
//! depends on becomes its key. Identical requests in flight wait for one computation;
//! errors are not cached.

use std::future::Future;
use std::sync::Arc;

use moka::future::Cache;
use moka::notification::RemovalCause;

use sha2::{Digest, Sha256};

use super::response::{MediaType, Rendered};
use crate::cache::{evicted, Outcome};
use crate::options::{Accepts, InfoRequest, ScreenshotSpec, TransformRequest, TransformSpec};
use crate::storage::ResultStorage;
use crate::Error;

/// What a finished response is made from: everything that changes its bytes, nothing that
/// only changes its headers (`filename`, `dl`) or the URL's lifetime (`exp`, `s`).
pub enum Job<'a> {
    /// `accepts` is what `Accept` allows when the format is negotiated (`fm=auto`), else
    /// the default.
    Transform(&'a TransformRequest, Accepts),
    Info(&'a InfoRequest),
    Screenshot(&'a ScreenshotSpec),
}

impl Job<'_> {
    fn key(&self) -> String {
        match self {
            Job::Transform(request, accepts) => {
                let spec = TransformSpec {
                    filename: None,
                    download: false,
                    ..request.spec.clone()
                };
                format!(
                    "transform|{:?}|{spec:?}|{:?}|{accepts:?}",
                    request.source, request.version
                )
            }
            Job::Info(request) => format!("info|{:?}|{:?}", request.source, request.version),
            Job::Screenshot(spec) => {
                let spec = ScreenshotSpec {
                    filename: None,
                    ..(*spec).clone()
                };
                format!("screenshot|{spec:?}")
            }
        }
    }
}

/// The name of a response in the shared result storage (API.md §9): what it depends on,
/// hashed — never the key or the signature, which differ between nodes and URLs for the
/// same response. `target` is the request target as the dialect canonicalises it (see
/// [`native_target`], [`imgproxy_target`]); `accepts` the negotiated formats, if any.
pub fn stored_name(target: &str, accepts: Option<Accepts>) -> String {
    let mut hash = Sha256::new();
    // A version, so that a change in what names mean never reads old objects.
    hash.update(b"ferrotype-results-1\n");
    hash.update(target.as_bytes());
    if let Some(a) = accepts {
        hash.update(format!("\naccept avif={} webp={}", a.avif, a.webp).as_bytes());
    }
    hex::encode(hash.finalize())
}

/// A native request target without what does not change the body: `s`, `exp`,
/// `filename`, `dl`; the rest sorted, as in the signature's canonical form.
pub fn native_target(path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pieces: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(n, _)| n);
            !matches!(name, "s" | "exp" | "filename" | "dl")
        })
        .collect();
    pieces.sort_unstable();
    format!("{path}?{}", pieces.join("&"))
}

/// An imgproxy path (after its signature) without the options that do not change the
/// body: expiry, file name, attachment.
pub fn imgproxy_target(signed_path: &str) -> String {
    let kept: Vec<&str> = signed_path
        .split('/')
        .filter(|segment| {
            let name = segment.split(':').next().unwrap_or("");
            !segment.contains(':')
                || !matches!(
                    name,
                    "exp" | "expires" | "fn" | "filename" | "att" | "return_attachment"
                )
        })
        .collect();
    format!("imgproxy:{}", kept.join("/"))
}

/// Finished responses in memory, at most `max_bytes` of them (bodies and keys), and in
/// the shared result storage when one is configured.
pub struct Results {
    cache: Cache<String, Arc<Rendered>>,
    /// `FERROTYPE_RESULT_CACHE_BYTES=0`: nothing is kept (identical requests in flight still
    /// share one computation). moka evicts in the background, so it is told at once.
    keep: bool,
    storage: Option<ResultStorage>,
}

impl Results {
    pub fn new(max_bytes: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, r: &Arc<Rendered>| {
                u32::try_from(r.bytes.len() + k.len()).unwrap_or(u32::MAX)
            })
            .eviction_listener(|_, _, cause| {
                if cause == RemovalCause::Size {
                    evicted("results");
                }
            })
            .build();
        Self {
            cache,
            keep: max_bytes > 0,
            storage: None,
        }
    }

    /// The same, sharing responses through `storage`.
    pub fn with_storage(self, storage: Option<ResultStorage>) -> Self {
        Self { storage, ..self }
    }

    /// The response `job` makes: from the cache, else from the result storage under
    /// `stored` (see [`stored_name`]), else made by `make` (and stored) — once for all the
    /// identical requests in flight. Counted in `ferrotype_results_total`.
    pub async fn get_or_make(
        &self,
        job: Job<'_>,
        stored: Option<String>,
        make: impl Future<Output = Result<Rendered, Error>>,
    ) -> Result<(Arc<Rendered>, Outcome), Error> {
        let mut outcome = Outcome::Hit;
        let key = job.key();
        let rendered = self
            .cache
            .try_get_with(key.clone(), async {
                outcome = Outcome::Miss;
                let storage = self.storage.as_ref().zip(stored.as_deref());
                if let Some((storage, name)) = storage {
                    let found = storage.get(name).await.and_then(|s| {
                        MediaType::from_content_type(&s.content_type)
                            .map(|media| Rendered::new(s.bytes, media))
                    });
                    if let Some(rendered) = found {
                        return Ok::<_, Error>(Arc::new(rendered));
                    }
                }
                let rendered: Rendered = make.await?;
                if let Some((storage, name)) = storage {
                    storage.put(name, rendered.bytes.clone(), rendered.media.content_type);
                }
                Ok(Arc::new(rendered))
            })
            .await
            .map_err(|e| (*e).clone())?;
        if !self.keep {
            self.cache.invalidate(&key).await;
        }
        if outcome == Outcome::Miss {
            metrics::gauge!("ferrotype_cache_bytes", "cache" => "results")
                .set(self.cache.weighted_size() as f64);
        }
        metrics::counter!("ferrotype_results_total", "cache" => outcome.label()).increment(1);
        Ok((rendered, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_ignore_what_does_not_change_the_body() {
        let name = |t: &str| stored_name(&native_target(t), None);
        let base = name("/transform/s/a.jpg?w=100&h=50&s=aaaa");
        for same in [
            "/transform/s/a.jpg?h=50&w=100&s=bbbb&exp=99",
            "/transform/s/a.jpg?w=100&filename=x&h=50&dl=1",
        ] {
            assert_eq!(name(same), base, "{same}");
        }
        assert_ne!(name("/transform/s/a.jpg?w=101&h=50"), base);
        assert_ne!(name("/transform/s/b.jpg?w=100&h=50"), base);
        let auto = |a: bool| {
            stored_name(
                &native_target("/transform/s/a.jpg?fm=auto"),
                Some(Accepts {
                    avif: a,
                    webp: true,
                }),
            )
        };
        assert_ne!(auto(true), auto(false));
        let img = |p: &str| stored_name(&imgproxy_target(p), None);
        assert_eq!(
            img("/rs:fit:10:10/exp:99/fn:x/att:1/plain/http://h/a.jpg"),
            img("/rs:fit:10:10/plain/http://h/a.jpg")
        );
        assert_ne!(
            img("/rs:fit:10:11/plain/http://h/a.jpg"),
            img("/rs:fit:10:10/plain/http://h/a.jpg")
        );
        assert_eq!(base.len(), 64);
    }
    use crate::options::{parse_screenshot, parse_transform};

    #[test]
    fn keys_ignore_header_only_options() {
        let key = |q: &str| {
            let request = parse_transform("/transform/src/a.jpg", q).unwrap();
            Job::Transform(&request, Accepts::default()).key()
        };
        assert_eq!(key("w=5&exp=1"), key("w=5&filename=x&dl=1"));
        assert_ne!(key("w=5"), key("w=6"));
        assert_ne!(key("w=5"), key("w=5&v=2"));

        let request = parse_transform("/transform/src/a.jpg", "fm=auto").unwrap();
        let webp = Accepts {
            avif: false,
            webp: true,
        };
        assert_ne!(
            Job::Transform(&request, webp).key(),
            Job::Transform(&request, Accepts::default()).key()
        );

        let shot = |q: &str| Job::Screenshot(&parse_screenshot(q).unwrap()).key();
        assert_ne!(
            shot("url=http%3A%2F%2Fa%2F"),
            shot("url=http%3A%2F%2Fa%2F&v=2")
        );
        assert_eq!(
            shot("url=http%3A%2F%2Fa%2F"),
            shot("url=http%3A%2F%2Fa%2F&filename=x&exp=9")
        );
    }
}
