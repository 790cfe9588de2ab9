//! Where originals come from: configured sources (http(s) base URLs, local directories)
//! and, for `?url=`, any URL the [`guard::Policy`] allows.
//!
//! Every fetch is bounded in bytes (checked while streaming, whatever `Content-Length`
//! says) and in time (one deadline for the whole download, redirects included). Remote
//! originals are downloaded once into the [`DiskCache`]; local directories are read as is.

pub mod guard;
mod s3;

pub use s3::{client as s3_client, S3Settings};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::cache::{self, Blob, DiskCache};
use crate::config::{Config, SourceBase};
use crate::imaging::sniff::{looks_like_html, HTML_SNIFF};
use crate::options::SourceRef;
use guard::{GuardedResolver, Policy, Refusal};

const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("no source named {0:?}")]
    UnknownSource(String),
    #[error("source not found")]
    NotFound,
    #[error("source is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("origin failed: {0}")]
    Origin(String),
    #[error("origin did not answer within {0:?}")]
    Deadline(Duration),
    #[error("local cache unavailable: {0}")]
    Cache(String),
}

#[derive(Clone)]
pub struct Fetcher {
    sources: Arc<[crate::config::Source]>,
    policy: Arc<Policy>,
    /// For configured sources: the operator trusts them, redirects are followed.
    trusted: reqwest::Client,
    /// For `?url=`: resolves through the guard, follows no redirect by itself.
    guarded: reqwest::Client,
    max_bytes: u64,
    deadline: Duration,
    originals: DiskCache,
    /// imgproxy's `local://` root.
    local_root: Option<PathBuf>,
    s3: Arc<s3::S3>,
    /// Buckets imgproxy's `s3://` sources may read.
    s3_buckets: Arc<[String]>,
}

/// An original, opened but not read (an image worker reads it: a request waiting for one
/// holds no image bytes), and, for a `?url=` source, the URL it came from (after
/// redirects).
pub struct Original {
    pub blob: Blob,
    pub url: Option<Url>,
}

impl Original {
    /// The bytes, blocking: on an image worker.
    pub fn read(&self) -> Result<Vec<u8>, Error> {
        self.read_up_to(u64::MAX)
    }

    /// The first `max` bytes at most, blocking: on an image worker, or for a small `max`.
    pub fn read_up_to(&self, max: u64) -> Result<Vec<u8>, Error> {
        self.blob
            .read_up_to(max)
            .map_err(|e| Error::Cache(e.to_string()))
    }
}

impl Fetcher {
    pub fn new(config: &Config, originals: DiskCache) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(Policy {
            allowed_hosts: config.allowed_hosts.clone(),
            allowed_networks: config.allowed_networks.clone(),
        });
        let base = || {
            reqwest::Client::builder()
                .user_agent(USER_AGENT)
                // A proxy from the environment would connect on our behalf, past the guard.
                .no_proxy()
                .connect_timeout(config.fetch_timeout)
        };
        let trusted = base()
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()?;
        let guarded = base()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .build()?;
        Ok(Self {
            sources: config.sources.clone().into(),
            policy,
            trusted,
            guarded,
            max_bytes: config.max_source_bytes,
            deadline: config.fetch_timeout,
            originals,
            local_root: config.imgproxy.as_ref().and_then(|i| i.local_root.clone()),
            s3: Arc::new(s3::S3::new(config.s3.clone(), config.fetch_timeout)),
            s3_buckets: config.s3_buckets.clone().into(),
        })
    }

    /// The `?url=` network policy, shared with the screenshot renderer.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.clone()
    }

    /// Fetches an original within the deadline and the byte limit. `version` is the `v`
    /// option: originals are immutable, so a new `v` is the way to a new download.
    pub async fn fetch(
        &self,
        source: &SourceRef,
        version: Option<&str>,
    ) -> Result<Original, Error> {
        match tokio::time::timeout(self.deadline, self.fetch_unbounded(source, version)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Deadline(self.deadline)),
        }
    }

    async fn fetch_unbounded(
        &self,
        source: &SourceRef,
        version: Option<&str>,
    ) -> Result<Original, Error> {
        let (url, guarded) = match source {
            SourceRef::Named {
                name,
                raw_path,
                segments,
            } => {
                let src = self
                    .sources
                    .iter()
                    .find(|s| s.name == *name)
                    .ok_or_else(|| Error::UnknownSource(name.clone()))?;
                match &src.base {
                    SourceBase::Dir(dir) => {
                        let blob = open_file(dir, segments, self.max_bytes).await?;
                        return Ok(Original { blob, url: None });
                    }
                    SourceBase::Http(base) => (
                        base.join(raw_path)
                            .map_err(|_| Error::Origin("bad source URL".into()))?,
                        false,
                    ),
                    SourceBase::S3 { bucket, prefix } => {
                        let key = format!("{prefix}{}", segments.join("/"));
                        return self.fetch_s3(bucket, &key, version).await;
                    }
                }
            }
            SourceRef::Local { segments } => {
                let root = self.local_root.as_deref().ok_or(Error::NotFound)?;
                let blob = open_file(root, segments, self.max_bytes).await?;
                return Ok(Original { blob, url: None });
            }
            // Only the buckets the operator listed (API.md §8).
            SourceRef::S3 { bucket, key } => {
                if !self.s3_buckets.iter().any(|b| b == bucket) {
                    return Err(Refusal::Bucket(bucket.clone()).into());
                }
                return self.fetch_s3(bucket, key, version).await;
            }
            SourceRef::Url(url) => {
                // Refused before the cache is consulted: a URL the policy forbids today must
                // not be served from a download that an older policy allowed.
                self.policy.check_url(url)?;
                (url.clone(), true)
            }
        };
        let key = DiskCache::key(&format!("{url}\n{}", version.unwrap_or("")));
        let fill = |file| async {
            let _fetch = crate::telemetry::Stage::start("fetch");
            let resp = if guarded {
                let resp = self.follow_guarded(url.clone()).await?;
                // Where the bytes really come from, kept with them (`/info`'s `final_url`).
                let redirected = (*resp.url() != url).then(|| resp.url().as_str());
                self.originals
                    .set_note(&key, redirected)
                    .await
                    .map_err(|e| Error::Cache(e.to_string()))?;
                resp
            } else {
                send(&self.trusted, &url).await?
            };
            self.download(resp, file).await
        };
        let blob = self.cached(&key, fill).await?;
        let url = match guarded {
            true => Some(
                self.originals
                    .note(&key)
                    .await
                    .and_then(|n| Url::parse(&n).ok())
                    .unwrap_or(url),
            ),
            false => None,
        };
        Ok(Original { blob, url })
    }

    /// An S3 object, through the originals cache like an HTTP original.
    async fn fetch_s3(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<Original, Error> {
        let cache_key = DiskCache::key(&format!("s3://{bucket}/{key}\n{}", version.unwrap_or("")));
        let fill = |file| async {
            let _fetch = crate::telemetry::Stage::start("fetch");
            self.s3.download(bucket, key, self.max_bytes, file).await
        };
        let blob = self.cached(&cache_key, fill).await?;
        Ok(Original { blob, url: None })
    }

    /// The original under `key` in the disk cache, downloaded by `fill` on a miss (once for
    /// every request in flight), counted in `ferrotype_originals_total`.
    async fn cached<F, Fut>(&self, key: &str, fill: F) -> Result<Blob, Error>
    where
        F: FnOnce(tokio::fs::File) -> Fut,
        Fut: std::future::Future<Output = Result<tokio::fs::File, Error>>,
    {
        let (blob, outcome) =
            self.originals
                .get_or_fill(key, fill)
                .await
                .map_err(|e| match &*e {
                    cache::Error::Fill(e) => e.clone(),
                    cache::Error::Io(e) => Error::Cache(e.to_string()),
                })?;
        metrics::counter!("ferrotype_originals_total", "cache" => outcome.label()).increment(1);
        Ok(blob)
    }

    /// Follows redirects by hand so that every hop passes the policy again.
    async fn follow_guarded(&self, mut url: Url) -> Result<reqwest::Response, Error> {
        for _ in 0..=MAX_REDIRECTS {
            self.policy.check_url(&url)?;
            let resp = send(&self.guarded, &url).await?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            url = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| Error::Origin("redirect without a usable Location".into()))?;
        }
        Err(Error::Origin(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Streams a successful response's body into `file`, refusing it as soon as it passes
    /// the byte limit, whatever `Content-Length` said. A web page is not an image: only its
    /// first [`MAX_HTML_BYTES`] are kept (what `/info` reads for `og:image`), the rest is
    /// never downloaded.
    async fn download(
        &self,
        resp: reqwest::Response,
        mut file: tokio::fs::File,
    ) -> Result<tokio::fs::File, Error> {
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(Error::NotFound);
        }
        if !status.is_success() {
            return Err(Error::Origin(format!(
                "origin answered {}",
                status.as_u16()
            )));
        }
        // The type only spares the early refusal; what the body is, its bytes decide.
        let maybe_page = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        if !maybe_page && resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(Error::TooLarge(self.max_bytes));
        }
        let page_cap = MAX_HTML_BYTES.min(self.max_bytes);
        let mut written = 0u64;
        let mut head = Vec::new();
        let mut page = None;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::Origin(reason(&e)))?;
            if page.is_none() {
                head.extend_from_slice(&chunk[..chunk.len().min(HTML_SNIFF - head.len())]);
                if head.len() == HTML_SNIFF {
                    page = Some(looks_like_html(&head));
                }
            }
            let mut chunk = &chunk[..];
            let full = page == Some(true) && written + chunk.len() as u64 >= page_cap;
            if full {
                chunk = &chunk[..(page_cap - written) as usize];
            }
            append(&mut file, &mut written, chunk, self.max_bytes).await?;
            if full {
                break;
            }
        }
        Ok(file)
    }
}

/// What ferrotype's requests to origins and stores call themselves.
pub(crate) const USER_AGENT: &str = concat!("ferrotype/", env!("CARGO_PKG_VERSION"));

/// Appends `chunk` to an original being downloaded, `written` bytes so far: refused as soon
/// as the whole passes `max_bytes`, whatever the headers said.
async fn append(
    file: &mut tokio::fs::File,
    written: &mut u64,
    chunk: &[u8],
    max_bytes: u64,
) -> Result<(), Error> {
    *written += chunk.len() as u64;
    if *written > max_bytes {
        return Err(Error::TooLarge(max_bytes));
    }
    file.write_all(chunk)
        .await
        .map_err(|e| Error::Cache(e.to_string()))
}

/// How much of a web page is kept: its `<head>`, where `og:image` lives, and then some.
pub const MAX_HTML_BYTES: u64 = 1 << 20;

async fn send(client: &reqwest::Client, url: &Url) -> Result<reqwest::Response, Error> {
    metrics::counter!("ferrotype_origin_requests_total").increment(1);
    client.get(url.clone()).send().await.map_err(|e| {
        // The guarded resolver's refusal travels inside reqwest's connect error.
        match find_refusal(&e) {
            Some(r) => Error::Refused(r),
            None => Error::Origin(reason(&e)),
        }
    })
}

fn find_refusal(e: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// An error and its causes on one line, without the URL (which may carry a signature).
fn reason(e: &reqwest::Error) -> String {
    let mut out = if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        out.push_str(": ");
        out.push_str(&err.to_string());
        cur = err.source();
    }
    crate::text::one_line(&out)
}

async fn open_file(dir: &Path, segments: &[String], max_bytes: u64) -> Result<Blob, Error> {
    let path: PathBuf = segments.iter().fold(dir.to_path_buf(), |p, s| p.join(s));
    // Segments were checked by the parser; canonicalising also stops symlinks out of the dir.
    let (Ok(real), Ok(root)) = (
        tokio::fs::canonicalize(&path).await,
        tokio::fs::canonicalize(dir).await,
    ) else {
        return Err(Error::NotFound);
    };
    if !real.starts_with(&root) {
        return Err(Error::NotFound);
    }
    // Not a regular file (a directory, a device) is not found either.
    let blob = Blob::open(&real).await.map_err(|_| Error::NotFound)?;
    if blob.len() > max_bytes {
        return Err(Error::TooLarge(max_bytes));
    }
    Ok(blob)
}
