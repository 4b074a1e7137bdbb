//! S3 backend (AWS or any S3-compatible server such as SeaweedFS).

mod errors;
#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use futures::{StreamExt, TryStreamExt};

use super::{GetBody, ObjectInfo, ObjectStore, PutBody, StoreError, validate_key, validate_prefix};
use errors::sdk_error;

/// Same as the original service, so objects look alike to other tools.
const CONTENT_TYPE: &str = "binary/octet-stream";
const DEFAULT_REGION: &str = "us-east-1";
/// S3 refuses parts below 5 MiB (except the last) and uploads of more than 10,000 parts.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
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
}

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

/// When a file upload switches to multipart, and how it is cut.
#[derive(Debug, Clone, Copy)]
pub struct MultipartConfig {
    /// Files larger than this go multipart.
    pub threshold: u64,
    /// Raised to 5 MiB, and further when a file would need more than 10,000 parts.
    pub part_size: u64,
    /// Parts in flight at once; each streams from the file with a small buffer.
    pub concurrency: usize,
}

impl Default for MultipartConfig {
    fn default() -> Self {
        MultipartConfig {
            threshold: 64 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            concurrency: 4,
        }
    }
}

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
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
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
            "bucket {bucket:?} did not exist at endpoint {endpoint} (region {region}); creating an empty bucket"
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

    /// Uploads the file in parts read straight from disk; a failed upload is aborted so no
    /// half-finished parts keep costing storage.
    async fn put_multipart(&self, key: &str, path: &Path, len: u64) -> Result<u64, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CONTENT_TYPE)
            .send()
            .await
            .map_err(|e| self.error("CreateMultipartUpload", key, e))?;
        let Some(upload_id) = created.upload_id() else {
            return Err(StoreError::Other {
                key: key.to_owned(),
                message: "CreateMultipartUpload returned no upload id".to_owned(),
            });
        };
        let uploaded = self
            .upload_parts_and_complete(key, path, len, upload_id)
            .await;
        if uploaded.is_err() {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(err) = abort {
                let err = self.error("AbortMultipartUpload", key, err);
                tracing::warn!("could not abort failed multipart upload: {err}");
            }
        }
        uploaded
    }

    async fn upload_parts_and_complete(
        &self,
        key: &str,
        path: &Path,
        len: u64,
        upload_id: &str,
    ) -> Result<u64, StoreError> {
        let part_size = self
            .multipart
            .part_size
            .max(MIN_PART_SIZE)
            .max(len.div_ceil(MAX_PARTS));
        let part_count = len.div_ceil(part_size);
        let parts = (0..part_count).map(|index| {
            let offset = index * part_size;
            let part_len = part_size.min(len - offset);
            self.upload_part(key, path, upload_id, index as i32 + 1, offset, part_len)
        });
        let completed: Vec<CompletedPart> = futures::stream::iter(parts)
            .buffered(self.multipart.concurrency.max(1))
            .try_collect()
            .await?;
        let manifest = CompletedMultipartUpload::builder()
            .set_parts(Some(completed))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(manifest)
            .send()
            .await
            .map_err(|e| self.error("CompleteMultipartUpload", key, e))?;
        Ok(len)
    }

    async fn upload_part(
        &self,
        key: &str,
        path: &Path,
        upload_id: &str,
        part_number: i32,
        offset: u64,
        part_len: u64,
    ) -> Result<CompletedPart, StoreError> {
        let body = file_stream(key, path, offset, part_len).await?;
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .content_length(part_len as i64)
            .body(body)
            .send()
            .await
            .map_err(|e| self.error("UploadPart", key, e))?;
        Ok(CompletedPart::builder()
            .part_number(part_number)
            .set_e_tag(uploaded.e_tag().map(str::to_owned))
            .build())
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
