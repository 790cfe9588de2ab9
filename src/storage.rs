//! The result storage shared by every node (API.md §9): finished responses kept in an S3
//! bucket under names that depend only on what the response depends on. Looked up before
//! anything is fetched or computed; written once after computing, in the background, with a
//! conditional create (a concurrent writer's object wins, nothing is overwritten). A
//! storage that fails or does not answer costs a lookup's short deadline, never a request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, PutMode, PutOptions, PutPayload,
};

use crate::source::{s3_client, S3Settings};

/// How long a lookup may take before the node computes the response itself.
const LOOKUP_DEADLINE: Duration = Duration::from_secs(2);

/// Where finished responses are shared.
#[derive(Clone)]
pub struct ResultStorage {
    store: Arc<AmazonS3>,
    prefix: String,
}

/// A stored response: its body and its content type.
pub struct Stored {
    pub bytes: Bytes,
    pub content_type: String,
}

impl ResultStorage {
    /// `s3://bucket/prefix/` through the S3 settings; writes get `deadline`.
    pub fn new(
        settings: &S3Settings,
        bucket: &str,
        prefix: &str,
        deadline: Duration,
    ) -> Result<Self, String> {
        let store = s3_client(settings, bucket, deadline)
            .map_err(|e| format!("result storage s3://{bucket}/: {e}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: prefix.to_owned(),
        })
    }

    fn path(&self, name: &str) -> Option<Path> {
        Path::parse(format!(
            "{}{}/{name}",
            self.prefix,
            &name[..2.min(name.len())]
        ))
        .ok()
    }

    /// The response stored as `name`, if any; a failing storage is a miss (counted as an
    /// error).
    pub async fn get(&self, name: &str) -> Option<Stored> {
        let path = self.path(name)?;
        let lookup = async {
            let got = self.store.get_opts(&path, GetOptions::default()).await?;
            let content_type = got
                .attributes
                .get(&Attribute::ContentType)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let bytes = got.bytes().await?;
            Ok::<_, object_store::Error>(Stored {
                bytes,
                content_type,
            })
        };
        let outcome = match tokio::time::timeout(LOOKUP_DEADLINE, lookup).await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(object_store::Error::NotFound { .. })) => Err("miss"),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "result storage lookup failed");
                Err("error")
            }
            Err(_) => {
                tracing::warn!("result storage lookup timed out");
                Err("error")
            }
        };
        let label = outcome.as_ref().map_or_else(|l| *l, |_| "hit");
        metrics::counter!("ferrotype_result_storage_total", "outcome" => label).increment(1);
        outcome.ok()
    }

    /// Stores `bytes` as `name` in the background, unless an object is there already.
    pub fn put(&self, name: &str, bytes: Bytes, content_type: &'static str) {
        let Some(path) = self.path(name) else {
            return;
        };
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.into());
            let options = PutOptions {
                mode: PutMode::Create,
                attributes,
                ..PutOptions::default()
            };
            match store
                .put_opts(&path, PutPayload::from(bytes), options)
                .await
            {
                Ok(_) => {}
                // Another node stored it first: its object stands.
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "result storage write failed");
                    metrics::counter!("ferrotype_result_storage_total", "outcome" => "error")
                        .increment(1);
                }
            }
        });
    }
}
