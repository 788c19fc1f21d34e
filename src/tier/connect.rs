//! A tier's `object_store` client from its `TierSpec`: credentials from
//! `RINGSTORE_TIER_<NAME>_*` when set, else each cloud's usual chain (the builders' `from_env`:
//! `AWS_*` variables, web identity, instance roles; `AZURE_*`, managed identity; `GOOGLE_*`,
//! service-account files). Never logged: the builders keep them private.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::multipart::MultipartStore;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use super::spec::{TierLocation, TierSpec};
use crate::limits::{TIER_READ_STALL_MS_MAX, TIER_RETRY_BACKOFF_MS_MAX, TIER_RETRY_COUNT_MAX};

/// The environment variable `RINGSTORE_TIER_<NAME>_<FIELD>`, if set and not empty.
fn tier_variable(spec: &TierSpec, field: &str) -> Option<String> {
    std::env::var(format!("RINGSTORE_TIER_{}_{field}", spec.name))
        .ok()
        .filter(|value| !value.is_empty())
}

/// Retries with backoff on the cloud's transient errors (object_store's own policy, bounded).
fn retry() -> RetryConfig {
    RetryConfig {
        max_retries: TIER_RETRY_COUNT_MAX,
        retry_timeout: std::time::Duration::from_millis(TIER_RETRY_BACKOFF_MS_MAX),
        ..RetryConfig::default()
    }
}

/// No limit on a whole request (object_store's default, 30 s, would cut a remote GET a slow
/// client takes longer than that to read, after its 200 went out), but one on each stall.
fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_timeout_disabled()
        .with_read_timeout(std::time::Duration::from_millis(TIER_READ_STALL_MS_MAX))
}

/// A tier's client, seen two ways: as a store, and as the store's own multipart uploads (whose
/// ids the mover journals; `ObjectStore::put_multipart` hides them).
pub struct Connected {
    /// Gets, puts, lists, deletes.
    pub store: Arc<dyn ObjectStore>,
    /// Multipart (S3, GCS) or block (Azure) uploads by id.
    pub multipart: Arc<dyn MultipartStore>,
}

impl Connected {
    fn of<S: ObjectStore + MultipartStore>(client: S) -> Self {
        let client = Arc::new(client);
        Connected {
            store: client.clone(),
            multipart: client,
        }
    }
}

/// Builds the client (no request is made: an unreachable tier is found by the first use).
pub fn connect(spec: &TierSpec) -> Result<Connected, object_store::Error> {
    Ok(match &spec.location {
        TierLocation::S3 {
            bucket,
            endpoint,
            region,
            path_style,
            ..
        } => {
            // Bodies are not hashed for the signature (SHA-256 of every part would halve the
            // mover's rate on a core); each part carries a CRC64NVME checksum the store verifies
            // instead, as the AWS SDKs do by default since 2025.
            let mut builder = AmazonS3Builder::from_env()
                .with_unsigned_payload(true)
                .with_checksum_algorithm(object_store::aws::Checksum::CRC64NVME)
                .with_bucket_name(bucket)
                .with_virtual_hosted_style_request(!path_style)
                .with_client_options(client_options())
                .with_retry(retry());
            if let Some(endpoint) = endpoint {
                builder = builder
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_endpoint(endpoint);
            }
            builder = builder.with_region(region.clone().unwrap_or_else(|| {
                std::env::var("AWS_REGION")
                    .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|_| "us-east-1".to_string())
            }));
            if let Some(key) = tier_variable(spec, "ACCESS_KEY_ID") {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = tier_variable(spec, "SECRET_ACCESS_KEY") {
                builder = builder.with_secret_access_key(secret);
            }
            if let Some(token) = tier_variable(spec, "SESSION_TOKEN") {
                builder = builder.with_token(token);
            }
            Connected::of(builder.build()?)
        }
        TierLocation::Azure {
            account,
            container,
            endpoint,
            ..
        } => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_account(account)
                .with_container_name(container)
                .with_client_options(client_options())
                .with_retry(retry());
            if let Some(endpoint) = endpoint {
                builder = builder
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_endpoint(endpoint.clone());
            }
            if let Some(key) = tier_variable(spec, "ACCOUNT_KEY") {
                builder = builder.with_access_key(key);
            }
            Connected::of(builder.build()?)
        }
        TierLocation::Gcs { bucket, .. } => {
            let mut builder = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(client_options())
                .with_retry(retry());
            if let Some(path) = tier_variable(spec, "SERVICE_ACCOUNT_PATH") {
                builder = builder.with_service_account_path(path);
            }
            Connected::of(builder.build()?)
        }
    })
}
