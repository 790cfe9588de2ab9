//! Originals in S3 or an S3-compatible store (API.md §9): one `object_store` client per
//! bucket, made on first use, credentials from the standard `AWS_*` variables and the
//! container/instance role chain. The crate retries for minutes by default; here retries
//! and timeouts fit inside the fetch deadline, so a store that does not answer (or an
//! instance metadata address that is not there) costs one deadline, never more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, ObjectStore, RetryConfig};

use super::Error;

/// How buckets are reached (`FERROTYPE_S3_*`).
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// An S3-compatible endpoint; AWS when `None`.
    pub endpoint: Option<String>,
    pub region: String,
    pub path_style: bool,
}

/// The clients, one per bucket.
pub(super) struct S3 {
    settings: S3Settings,
    deadline: Duration,
    clients: Mutex<HashMap<String, Arc<AmazonS3>>>,
}

impl S3 {
    pub fn new(settings: S3Settings, deadline: Duration) -> Self {
        Self {
            settings,
            deadline,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, bucket: &str) -> Result<Arc<AmazonS3>, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(bucket) {
            return Ok(c.clone());
        }
        let client = Arc::new(client(&self.settings, bucket, self.deadline).map_err(|e| {
            // The builder's message names what is missing, never a secret.
            tracing::warn!(error = %e, bucket, "S3 client not configured");
            Error::Origin("S3 is not configured for this bucket".into())
        })?);
        clients.insert(bucket.to_owned(), client.clone());
        Ok(client)
    }

    /// Streams `key` of `bucket` into `file`: its size is checked against `max_bytes` from
    /// the response's headers, before any of the body is read.
    pub async fn download(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
        mut file: tokio::fs::File,
    ) -> Result<tokio::fs::File, Error> {
        let path = Path::parse(key).map_err(|_| Error::NotFound)?;
        let client = self.client(bucket)?;
        metrics::counter!("ferrotype_origin_requests_total").increment(1);
        let got = client
            .get_opts(&path, GetOptions::default())
            .await
            .map_err(failed)?;
        if got.meta.size > max_bytes {
            return Err(Error::TooLarge(max_bytes));
        }
        let mut written = 0u64;
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(failed)?;
            super::append(&mut file, &mut written, &chunk, max_bytes).await?;
        }
        Ok(file)
    }
}

/// A client of `bucket` whose every request, retries included, ends within `deadline`.
pub fn client(
    settings: &S3Settings,
    bucket: &str,
    deadline: Duration,
) -> Result<AmazonS3, object_store::Error> {
    let options = ClientOptions::new()
        .with_timeout(deadline)
        .with_connect_timeout(deadline.min(Duration::from_secs(2)))
        .with_user_agent(http::HeaderValue::from_static(super::USER_AGENT))
        .with_allow_http(true);
    let retry = RetryConfig {
        max_retries: 2,
        retry_timeout: deadline,
        ..RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_region(&settings.region)
        .with_virtual_hosted_style_request(!settings.path_style)
        .with_client_options(options)
        .with_retry(retry);
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    builder.build()
}

/// A failed S3 request as a source error: a missing key is 404; the rest (denied, failing,
/// unreachable) 502, with the details in the log only.
fn failed(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound,
        other => {
            tracing::warn!(error = %other, "S3 request failed");
            Error::Origin("the S3 request failed".into())
        }
    }
}
