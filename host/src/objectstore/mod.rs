//! Object storage for backups: one small trait with an S3 backend and a local-directory backend.
//!
//! Keys are `/`-separated paths checked by [`validate_key`] before any backend does I/O, so a
//! key that one store would silently rewrite (SeaweedFS collapses `//`) is refused everywhere.
//! Bodies are bytes or a local file so that a retry can send them again and large objects never
//! have to sit in memory.

mod error;
mod key;
mod local;
mod prefixed;
mod s3;

#[cfg(test)]
mod conformance;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};

pub use error::StoreError;
pub use key::{validate_key, validate_prefix};
pub use local::LocalStore;
pub use prefixed::Prefixed;
pub use s3::{ExpiryRule, LifecycleChanges, MultipartConfig, S3Config, S3Store};

/// What to upload. Both forms can be sent again when a request is retried.
#[derive(Debug, Clone)]
pub enum PutBody {
    Bytes(Bytes),
    /// The first `len` bytes of a local file, streamed from disk (multipart when large).
    File {
        path: PathBuf,
        len: u64,
    },
}

impl PutBody {
    pub fn len(&self) -> u64 {
        match self {
            PutBody::Bytes(bytes) => bytes.len() as u64,
            PutBody::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Bytes> for PutBody {
    fn from(bytes: Bytes) -> Self {
        PutBody::Bytes(bytes)
    }
}

impl From<Vec<u8>> for PutBody {
    fn from(bytes: Vec<u8>) -> Self {
        PutBody::Bytes(bytes.into())
    }
}

/// A downloaded object, streamed: nothing is buffered beyond the reader's own buffer.
pub struct GetBody {
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
    /// Object size when the backend reports it.
    pub len: Option<u64>,
}

impl GetBody {
    /// Reads the whole object into memory; meant for small objects such as manifests.
    pub async fn into_bytes(mut self) -> std::io::Result<Bytes> {
        let mut buf = Vec::with_capacity(self.len.unwrap_or(0).min(1 << 20) as usize);
        self.reader.read_to_end(&mut buf).await?;
        Ok(buf.into())
    }
}

impl std::fmt::Debug for GetBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetBody")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores `body` under `key`, replacing any existing object; returns the bytes written.
    async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError>;

    /// Opens `key` for streaming; [`StoreError::NotFound`] when it does not exist.
    async fn get(&self, key: &str) -> Result<GetBody, StoreError>;

    /// Up to `limit` objects whose keys start with `prefix` and sort strictly after
    /// `start_after`, in lexicographic (byte) order.
    ///
    /// Passing the last key of one call as `start_after` of the next visits every key once on
    /// every backend. One server quirk: SeaweedFS lists a folder's contents right after the
    /// folder's name, so `a/c` comes before `a-b` there (S3 and [`LocalStore`] put `a-b`
    /// first); keys within one folder are always in byte order.
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, StoreError>;

    async fn exists(&self, key: &str) -> Result<bool, StoreError>;

    /// Removes `key`; removing a missing object succeeds, as on S3.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Where the objects live, for logs: `s3://bucket/folder`, `file:///dir/bucket`.
    fn describe(&self) -> String;
}

/// Lets a shared (`Arc`) or borrowed store stand wherever a store is expected.
macro_rules! forward_object_store {
    ($($wrapper:ty),*) => {$(
        #[async_trait]
        impl<S: ObjectStore + ?Sized> ObjectStore for $wrapper {
            async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError> {
                (**self).put(key, body).await
            }
            async fn get(&self, key: &str) -> Result<GetBody, StoreError> {
                (**self).get(key).await
            }
            async fn list(
                &self,
                prefix: &str,
                start_after: Option<&str>,
                limit: u32,
            ) -> Result<Vec<ObjectInfo>, StoreError> {
                (**self).list(prefix, start_after, limit).await
            }
            async fn exists(&self, key: &str) -> Result<bool, StoreError> {
                (**self).exists(key).await
            }
            async fn delete(&self, key: &str) -> Result<(), StoreError> {
                (**self).delete(key).await
            }
            fn describe(&self) -> String {
                (**self).describe()
            }
        }
    )*};
}

forward_object_store!(Arc<S>, Box<S>, &S);
