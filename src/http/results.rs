//! The in-memory cache of finished responses, and the one place where what a response
//! depends on becomes its key. Identical requests in flight wait for one computation;
//! errors are not cached.

use std::future::Future;
use std::sync::Arc;

use moka::future::Cache;
use moka::notification::RemovalCause;

use super::response::Rendered;
use crate::cache::{evicted, Outcome};
use crate::options::{Accepts, InfoRequest, ScreenshotSpec, TransformRequest, TransformSpec};
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

/// Finished responses in memory, at most `max_bytes` of them (bodies and keys).
pub struct Results {
    cache: Cache<String, Arc<Rendered>>,
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
        Self { cache }
    }

    /// The response `job` makes: from the cache, or made by `make`, once for all the
    /// identical requests in flight. Counted in `ferrotype_results_total`.
    pub async fn get_or_make(
        &self,
        job: Job<'_>,
        make: impl Future<Output = Result<Rendered, Error>>,
    ) -> Result<(Arc<Rendered>, Outcome), Error> {
        let mut outcome = Outcome::Hit;
        let rendered = self
            .cache
            .try_get_with(job.key(), async {
                outcome = Outcome::Miss;
                make.await.map(Arc::new)
            })
            .await
            .map_err(|e| (*e).clone())?;
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
