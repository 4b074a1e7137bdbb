//! `recovery_streams_op_duration` for any object store, as bedrock's S3 store measured it.

use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use prometheus::HistogramVec;

use super::RunMetrics;
use crate::objectstore::{GetBody, ObjectInfo, ObjectStore, PutBody, StoreError};

/// The original's `method` label values; `get` was called `fetch` there. `list` is ours
/// (bedrock did not time listings); `copy` has no counterpart in [`ObjectStore`].
pub mod method {
    pub const PUT: &str = "put";
    pub const FETCH: &str = "fetch";
    pub const EXISTS: &str = "exists";
    pub const DELETE: &str = "delete";
    pub const LIST: &str = "list";
}

/// An object store whose every call is timed, labelled `result` `ok` or `error`.
///
/// `fetch` measures opening the object (until the body starts streaming), not reading it:
/// the body is consumed later, at the reader's pace.
pub struct Timed<S> {
    inner: S,
    durations: HistogramVec,
    /// `azul_backup_bytes_total`: what `put` stored and `get` opened.
    bytes: prometheus::IntCounterVec,
}

impl<S: ObjectStore> Timed<S> {
    pub fn new(inner: S, metrics: &RunMetrics) -> Self {
        Timed {
            inner,
            durations: metrics.store_op_duration.clone(),
            bytes: metrics.ops.bytes.clone(),
        }
    }

    async fn timed<T>(
        &self,
        method: &str,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = op.await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.durations
            .with_label_values(&[method, outcome])
            .observe(started.elapsed().as_secs_f64());
        result
    }
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for Timed<S> {
    async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError> {
        let stored = self.timed(method::PUT, self.inner.put(key, body)).await?;
        self.bytes.with_label_values(&["stored"]).inc_by(stored);
        Ok(stored)
    }

    async fn get(&self, key: &str) -> Result<GetBody, StoreError> {
        let body = self.timed(method::FETCH, self.inner.get(key)).await?;
        let len = body.len.unwrap_or(0);
        self.bytes.with_label_values(&["read"]).inc_by(len);
        Ok(body)
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        let listing = self.inner.list(prefix, start_after, limit);
        self.timed(method::LIST, listing).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.timed(method::EXISTS, self.inner.exists(key)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.timed(method::DELETE, self.inner.delete(key)).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
