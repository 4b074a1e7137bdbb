//! `store`: the backup buckets. Bodies are encoded into a temp file first (bounded memory,
//! re-sendable on retry), then uploaded. Bundles and stream objects can also be checked in
//! place (see `check`): decoded and summarised, or hashed, without their bytes reaching a
//! guest.

use std::sync::Arc;

use wasmtime::component::Resource;

use super::body::{Body, TransferError, spool_download, spool_reader};
use super::check::{BundleError, hash_object, read_bundle, summarise};
use super::statedir::Spool;
use super::{HostState, wit_error};
use crate::avro::encode_bulk;
use crate::crashpoint::{self, Point};
use crate::objectstore::{GetBody, ObjectStore, PutBody, StoreError};
use crate::runtime::bindings::{
    store::{self, Bucket, BundleContent, ObjectCheck, ObjectInfo},
    types::{Encoding, Error as WitError, ErrorKind},
};

pub(crate) fn store_error(e: StoreError) -> WitError {
    let kind = match &e {
        StoreError::NotFound { .. } => ErrorKind::NotFound,
        StoreError::PermissionDenied { .. } => ErrorKind::Rejected,
        StoreError::InvalidKey { .. } => ErrorKind::InvalidInput,
        StoreError::Transient { .. } => ErrorKind::Transient,
        StoreError::Io { .. } => ErrorKind::Io,
        _ => ErrorKind::Rejected,
    };
    wit_error(kind, e.to_string(), e.retryable())
}

pub(super) fn transfer_error(e: TransferError) -> WitError {
    match e {
        TransferError::Download(m) => wit_error(ErrorKind::Transient, m, true),
        e @ TransferError::HashMismatch { .. } => {
            wit_error(ErrorKind::Corrupt, e.to_string(), true)
        }
        e @ TransferError::BadGzip(_) => wit_error(ErrorKind::Corrupt, e.to_string(), false),
        TransferError::Io(e) => wit_error(ErrorKind::Io, e.to_string(), false),
    }
}

/// Objects the original wrote with its AES setting: `<id>.aesc1`, a 24-byte header (salt, IV),
/// then the payload — which the original never actually encrypted (its defect B13).
pub(super) const LEGACY_AES_SUFFIX: &str = ".aesc1";
pub(super) const LEGACY_AES_HEADER: usize = 24;

async fn skip_legacy_aes_header(
    reader: &mut std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    key: &str,
) -> Result<(), WitError> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; LEGACY_AES_HEADER];
    reader.read_exact(&mut header).await.map_err(|e| {
        wit_error(
            ErrorKind::Corrupt,
            format!("{key}: shorter than the {LEGACY_AES_HEADER}-byte legacy AES header: {e}"),
            false,
        )
    })?;
    Ok(())
}

/// Open an object for reading, past the legacy AES header when it has one.
pub(super) async fn get_object(store: &dyn ObjectStore, key: &str) -> Result<GetBody, WitError> {
    let mut got = store.get(key).await.map_err(store_error)?;
    if key.ends_with(LEGACY_AES_SUFFIX) {
        skip_legacy_aes_header(&mut got.reader, key).await?;
    }
    Ok(got)
}

impl HostState {
    fn bucket(&self, bucket: Bucket) -> Arc<dyn ObjectStore> {
        match bucket {
            Bucket::Events => self.run.events_store.clone(),
            Bucket::Streams => self.run.streams_store.clone(),
        }
    }

    async fn put_body(
        &mut self,
        bucket: Bucket,
        key: String,
        content: Resource<Body>,
        encoding: Encoding,
    ) -> Result<u64, WitError> {
        let body = self
            .table
            .delete(content)
            .map_err(|e| wit_error(ErrorKind::InvalidInput, e.to_string(), false))?;
        let gzip = encoding == Encoding::Gzip;
        let tmp = self.run.statedir.tmp_dir();
        let (path, len) = match body {
            Body::Download { response, sha256 } => {
                spool_download(response, &sha256, gzip, self.run.verify_stream_sha256, &tmp).await
            }
            Body::File { path, .. } => match tokio::fs::File::open(&path).await {
                Ok(file) => spool_reader(Box::pin(file), false, &tmp).await,
                Err(e) => Err(e.into()),
            },
        }
        .map_err(transfer_error)?;
        let store = self.bucket(bucket);
        let put = store
            .put(
                &key,
                PutBody::File {
                    path: path.to_path_buf(),
                    len,
                },
            )
            .await;
        crashpoint::after_ok(put.map_err(store_error), Point::StreamStored)
    }

    async fn open_object(
        &mut self,
        bucket: Bucket,
        key: String,
        encoding: Encoding,
    ) -> Result<Body, WitError> {
        let got = get_object(self.bucket(bucket).as_ref(), &key).await?;
        let tmp = self.run.statedir.tmp_dir();
        let (path, len) = spool_reader(got.reader, encoding == Encoding::Gzip, &tmp)
            .await
            .map_err(transfer_error)?;
        Ok(Body::File { path, len })
    }
}

impl store::Host for HostState {
    async fn put(
        &mut self,
        bucket: Bucket,
        key: String,
        content: Resource<Body>,
        encoding: Encoding,
    ) -> wasmtime::Result<Result<u64, WitError>> {
        let started = std::time::Instant::now();
        let put = self.put_body(bucket, key, content, encoding).await;
        if bucket == Bucket::Streams {
            self.time_stage("stream-copy", started);
        }
        Ok(put)
    }

    async fn put_spool(
        &mut self,
        key: String,
        events: Resource<Spool>,
    ) -> wasmtime::Result<Result<u64, WitError>> {
        let started = std::time::Instant::now();
        let bulk = encode_bulk(self.table.get(&events)?.events());
        let gz = {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(bulk.len() / 4),
                flate2::Compression::fast(),
            );
            enc.write_all(&bulk).and_then(|_| enc.finish())
        };
        let gz = match gz {
            Ok(gz) => gz,
            Err(e) => return Ok(Err(wit_error(ErrorKind::Io, e.to_string(), false))),
        };
        self.time_stage("encode", started);
        crashpoint::reached(Point::BundlePut);
        let started = std::time::Instant::now();
        let put = self
            .run
            .events_store
            .put(&key, PutBody::Bytes(gz.into()))
            .await
            .map_err(store_error);
        self.time_stage("put", started);
        Ok(crashpoint::after_ok(put, Point::BundleStored))
    }

    async fn open(
        &mut self,
        bucket: Bucket,
        key: String,
        encoding: Encoding,
    ) -> wasmtime::Result<Result<Resource<Body>, WitError>> {
        let started = std::time::Instant::now();
        let opened = self.open_object(bucket, key, encoding).await;
        self.time_stage("read", started);
        Ok(match opened {
            Ok(body) => Ok(self.table.push(body)?),
            Err(e) => Err(e),
        })
    }

    async fn list(
        &mut self,
        bucket: Bucket,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<ObjectInfo>, WitError>> {
        let listed = self
            .bucket(bucket)
            .list(&prefix, start_after.as_deref(), limit)
            .await;
        Ok(listed
            .map(|objects| {
                objects
                    .into_iter()
                    .map(|o| ObjectInfo {
                        key: o.key,
                        size: o.size,
                    })
                    .collect()
            })
            .map_err(store_error))
    }

    async fn exists(
        &mut self,
        bucket: Bucket,
        key: String,
    ) -> wasmtime::Result<Result<bool, WitError>> {
        Ok(self.bucket(bucket).exists(&key).await.map_err(store_error))
    }

    async fn inspect_bundle(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<BundleContent, WitError>> {
        let tmp = self.run.statedir.tmp_dir();
        Ok(
            match read_bundle(self.run.events_store.as_ref(), &key, &tmp).await {
                Ok((_, events)) => Ok(BundleContent::Decoded(summarise(&events))),
                Err(e @ BundleError::Undecodable(_)) => {
                    Ok(BundleContent::Undecodable(e.to_string()))
                }
                Err(e @ BundleError::NotABundleKey(_)) => {
                    Err(wit_error(ErrorKind::InvalidInput, e.to_string(), false))
                }
                Err(BundleError::Unreadable(e)) => Err(e),
            },
        )
    }

    async fn check_object(
        &mut self,
        bucket: Bucket,
        key: String,
        encoding: Encoding,
    ) -> wasmtime::Result<Result<ObjectCheck, WitError>> {
        let store = self.bucket(bucket);
        Ok(hash_object(store.as_ref(), &key, encoding == Encoding::Gzip).await)
    }
}
