//! S3 backend (AWS or any S3-compatible server such as SeaweedFS).

mod errors;
mod lifecycle;
mod multipart;
#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::{GetBody, ObjectInfo, ObjectStore, PutBody, StoreError, validate_key, validate_prefix};
use errors::sdk_error;
pub use lifecycle::{ExpiryRule, LifecycleChanges};
pub use multipart::MultipartConfig;

/// Same as the original service, so objects look alike to other tools.
const CONTENT_TYPE: &str = "binary/octet-stream";
const DEFAULT_REGION: &str = "us-east-1";
const MAX_LIST_PAGE: u32 = 1000;

/// Where and how to reach S3.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    /// `host:port` (the scheme comes from `secure`) or a full `http(s)://` URL; empty for AWS.
    pub endpoint: String,
    pub secure: bool,
    /// Empty: use the default credential chain (env, profile, web identity, instance role).
    pub access_key: String,
    pub secret_key: String,
    /// Empty means `us-east-1`.
    pub region: String,
    /// Longest wait from sending a request to the first byte of its answer (a stalled
    /// server); `None` means [`DEFAULT_RESPONSE_TIMEOUT`].
    pub response_timeout: Option<Duration>,
}

/// Enough to upload a whole single PUT (up to the 128 MiB multipart threshold) or a 64 MiB
/// part at about 1.1 MB/s before the answer starts; raise it for slower links.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// As the original's transport (`dial_timeout_seconds`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

impl S3Config {
    fn endpoint_url(&self) -> Option<String> {
        let endpoint = self.endpoint.trim().trim_end_matches('/');
        if endpoint.is_empty() {
            None
        } else if endpoint.contains("://") {
            Some(endpoint.to_owned())
        } else {
            let scheme = if self.secure { "https" } else { "http" };
            Some(format!("{scheme}://{endpoint}"))
        }
    }

    fn region(&self) -> &str {
        match self.region.trim() {
            "" => DEFAULT_REGION,
            region => region,
        }
    }
}

/// A bucket on S3. The SDK itself retries throttling, 5xx and connection failures a few times
/// with backoff (bodies are bytes or re-opened files, so they can be sent again); what still
/// fails is classified by [`StoreError::retryable`] for the caller's own policy.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// For messages only.
    endpoint: String,
    region: String,
    multipart: MultipartConfig,
    list_page_size: u32,
}

impl S3Store {
    /// Connects and checks that `bucket` exists; creates it when missing and allowed (the
    /// original creates its buckets when a backup starts).
    pub async fn connect(
        config: &S3Config,
        bucket: &str,
        create_if_missing: bool,
    ) -> Result<S3Store, StoreError> {
        let store = S3Store::without_bucket_check(config, bucket).await?;
        store.ensure_bucket(create_if_missing).await?;
        Ok(store)
    }

    pub fn with_multipart(mut self, multipart: MultipartConfig) -> Self {
        self.multipart = multipart;
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    async fn without_bucket_check(config: &S3Config, bucket: &str) -> Result<S3Store, StoreError> {
        if bucket.is_empty() || bucket.contains('/') {
            return Err(StoreError::InvalidKey {
                key: bucket.to_owned(),
                reason: "bucket name is empty or contains '/'".to_owned(),
            });
        }
        // rustls with ring: the one TLS stack the rest of the host uses as well.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let region = config.region().to_owned();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.clone()))
            .http_client(http_client);
        if !config.access_key.is_empty() {
            let credentials = Credentials::new(
                &config.access_key,
                &config.secret_key,
                None,
                None,
                "azul-backup-config",
            );
            loader = loader.credentials_provider(credentials);
        }
        let endpoint_url = config.endpoint_url();
        if let Some(url) = &endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk_config = loader.load().await;
        // Path style: S3-compatible servers on an IP or plain host have no per-bucket DNS.
        // WhenRequired: default checksums make streamed uploads aws-chunked, which several
        // S3-compatible servers store wrongly or reject.
        // Without a response timeout a stalled server would hold a worker forever.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(config.response_timeout.unwrap_or(DEFAULT_RESPONSE_TIMEOUT))
            .build();
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .timeout_config(timeouts)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Ok(S3Store {
            client: Client::from_conf(s3_config),
            bucket: bucket.to_owned(),
            endpoint: endpoint_url.unwrap_or_else(|| "the default AWS endpoint".to_owned()),
            region,
            multipart: MultipartConfig::default(),
            list_page_size: MAX_LIST_PAGE,
        })
    }

    async fn ensure_bucket(&self, create_if_missing: bool) -> Result<(), StoreError> {
        let (bucket, endpoint, region) = (&self.bucket, &self.endpoint, &self.region);
        let missing = match self.head_bucket().await {
            Ok(()) => {
                tracing::info!("bucket {bucket:?} exists at endpoint {endpoint}");
                return Ok(());
            }
            Err(StoreError::NotFound { message, .. }) => message,
            Err(other) => return Err(other),
        };
        if !create_if_missing {
            return Err(StoreError::NotFound {
                key: bucket.clone(),
                message: format!(
                    "bucket {bucket:?} does not exist at endpoint {endpoint} (region {region}) \
                     and may not be created here ({missing})"
                ),
            });
        }
        tracing::warn!(
            "bucket {bucket:?} did not exist at endpoint {endpoint} (region {region}); \
             creating an empty bucket"
        );
        let mut create = self.client.create_bucket().bucket(bucket);
        if region != DEFAULT_REGION {
            let location = BucketLocationConstraint::from(region.as_str());
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(location)
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                let err = sdk_error("CreateBucket", bucket, bucket, err);
                // Someone else may have created it meanwhile (another test, another instance).
                self.head_bucket().await.map_err(|_| err)
            }
        }
    }

    async fn head_bucket(&self) -> Result<(), StoreError> {
        let bucket = &self.bucket;
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(sdk_error("HeadBucket", bucket, bucket, err)),
        }
    }

    fn error<E>(&self, op: &str, key: &str, err: aws_sdk_s3::error::SdkError<E>) -> StoreError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        sdk_error(op, &self.bucket, key, err)
    }

    async fn put_stream(&self, key: &str, body: ByteStream, len: u64) -> Result<u64, StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .content_length(len as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| self.error("PutObject", key, e))?;
        Ok(len)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError> {
        validate_key(key)?;
        match body {
            PutBody::Bytes(bytes) => {
                let len = bytes.len() as u64;
                self.put_stream(key, ByteStream::from(bytes), len).await
            }
            PutBody::File { path, len } => {
                check_source_len(key, &path, len).await?;
                if len > self.multipart.threshold {
                    self.put_multipart(key, &path, len).await
                } else {
                    let body = file_stream(key, &path, 0, len).await?;
                    self.put_stream(key, body, len).await
                }
            }
        }
    }

    async fn get(&self, key: &str) -> Result<GetBody, StoreError> {
        validate_key(key)?;
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("GetObject", key, e))?;
        let len = object
            .content_length()
            .and_then(|len| u64::try_from(len).ok());
        Ok(GetBody {
            reader: Box::pin(object.body.into_async_read()),
            len,
        })
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        validate_prefix(prefix)?;
        let start_after = start_after.filter(|s| !s.is_empty());
        let mut found = Vec::new();
        let mut continuation = None;
        while found.len() < limit as usize {
            let page_size = (limit - found.len() as u32).min(self.list_page_size);
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_start_after(start_after.map(str::to_owned))
                .set_continuation_token(continuation.take())
                .max_keys(page_size as i32)
                .send()
                .await
                .map_err(|e| self.error("ListObjectsV2", prefix, e))?;
            found.extend(page.contents().iter().map(|object| {
                ObjectInfo {
                    key: object.key().unwrap_or_default().to_owned(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                }
            }));
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_owned())
                }
                _ => break,
            }
        }
        found.truncate(limit as usize);
        Ok(found)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        validate_key(key)?;
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match head.map_err(|e| self.error("HeadObject", key, e)) {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let deleted = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match deleted.map_err(|e| self.error("DeleteObject", key, e)) {
            Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }

    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}

/// Fails early, with the file's name, when it cannot supply `len` bytes: better than a
/// request that dies halfway.
async fn check_source_len(key: &str, path: &Path, len: u64) -> Result<(), StoreError> {
    let source_error = |e: io::Error| {
        let message = format!("reading {}: {e}", path.display());
        StoreError::io(key, io::Error::new(e.kind(), message))
    };
    let actual = tokio::fs::metadata(path).await.map_err(source_error)?.len();
    if actual < len {
        let short = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file has {actual} bytes, expected {len}"),
        );
        return Err(source_error(short));
    }
    Ok(())
}

/// A body that re-opens the file on every attempt, so the SDK can retry it.
async fn file_stream(
    key: &str,
    path: &Path,
    offset: u64,
    len: u64,
) -> Result<ByteStream, StoreError> {
    ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(Length::Exact(len))
        .build()
        .await
        .map_err(|e| {
            StoreError::io(
                key,
                io::Error::other(format!("reading {}: {e}", path.display())),
            )
        })
}
