//! Large file uploads: parts streamed from disk, several in flight, aborted on failure.

use std::path::Path;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::{StreamExt, TryStreamExt};

use super::{CONTENT_TYPE, S3Store, file_stream};
use crate::crashpoint::{self, Point};
use crate::objectstore::StoreError;

/// S3 refuses parts below 5 MiB (except the last) and uploads of more than 10,000 parts.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;

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
            threshold: 128 * 1024 * 1024,
            part_size: 64 * 1024 * 1024,
            concurrency: 4,
        }
    }
}

impl S3Store {
    /// Uploads the file in parts read straight from disk; a failed upload is aborted so no
    /// half-finished parts keep costing storage. A put cancelled by dropping its future leaves
    /// its parts behind; an `AbortIncompleteMultipartUpload` lifecycle rule removes those.
    pub(super) async fn put_multipart(
        &self,
        key: &str,
        path: &Path,
        len: u64,
    ) -> Result<u64, StoreError> {
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
            async move {
                let part = self
                    .upload_part(key, path, upload_id, index as i32 + 1, offset, part_len)
                    .await;
                crashpoint::after_ok(part, Point::MultipartPart)
            }
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
