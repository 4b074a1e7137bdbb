use async_trait::async_trait;

use super::{GetBody, ObjectInfo, ObjectStore, PutBody, StoreError, validate_key, validate_prefix};

/// Shared-bucket ("folder") mode: every key lives under `<folder>/` in the inner store, and
/// listed keys come back with the folder stripped, so callers never see it.
pub struct Prefixed<S> {
    inner: S,
    /// With the trailing `/`.
    folder_prefix: String,
}

impl<S: ObjectStore> Prefixed<S> {
    /// `folder` may be nested (`a/b`); a trailing `/` is ignored.
    pub fn new(inner: S, folder: &str) -> Result<Self, StoreError> {
        let folder = folder.strip_suffix('/').unwrap_or(folder);
        validate_key(folder).map_err(|err| match err {
            StoreError::InvalidKey { key, reason } => StoreError::InvalidKey {
                key,
                reason: format!("invalid folder: {reason}"),
            },
            other => other,
        })?;
        Ok(Prefixed {
            inner,
            folder_prefix: format!("{folder}/"),
        })
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn full_key(&self, key: &str) -> Result<String, StoreError> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.folder_prefix))
    }
}

#[async_trait]
impl<S: ObjectStore> ObjectStore for Prefixed<S> {
    async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError> {
        let full = self.full_key(key)?;
        self.inner
            .put(&full, body)
            .await
            .map_err(|e| e.with_key(key))
    }

    async fn get(&self, key: &str) -> Result<GetBody, StoreError> {
        let full = self.full_key(key)?;
        self.inner.get(&full).await.map_err(|e| e.with_key(key))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        validate_prefix(prefix)?;
        let full_prefix = format!("{}{prefix}", self.folder_prefix);
        // An empty start_after means "from the beginning", not "after the folder itself".
        let full_start = start_after
            .filter(|s| !s.is_empty())
            .map(|s| format!("{}{s}", self.folder_prefix));
        let listed = self
            .inner
            .list(&full_prefix, full_start.as_deref(), limit)
            .await
            .map_err(|e| e.with_key(prefix))?;
        listed
            .into_iter()
            .map(|info| match info.key.strip_prefix(&self.folder_prefix) {
                Some(key) => Ok(ObjectInfo {
                    key: key.to_owned(),
                    size: info.size,
                }),
                None => Err(StoreError::Other {
                    key: info.key.clone(),
                    message: format!("listed key is outside folder {:?}", self.folder_prefix),
                }),
            })
            .collect()
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let full = self.full_key(key)?;
        self.inner.exists(&full).await.map_err(|e| e.with_key(key))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let full = self.full_key(key)?;
        self.inner.delete(&full).await.map_err(|e| e.with_key(key))
    }

    fn describe(&self) -> String {
        let folder = self.folder_prefix.trim_end_matches('/');
        format!("{}/{folder}", self.inner.describe())
    }
}
