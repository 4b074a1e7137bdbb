use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{GetBody, ObjectInfo, ObjectStore, PutBody, StoreError, validate_key, validate_prefix};

/// Marks in-progress uploads. It contains a backslash, which [`validate_key`] refuses, so a
/// temporary file can never collide with an object or be listed as one.
const TEMP_MARKER: &str = "\\partial-";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Objects as plain files `<root>/<bucket>/<key>`, for tests and single-machine setups.
/// A key cannot be both an object and a folder of other objects (`a` and `a/b`).
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// Creates `<root_dir>/<bucket>` if needed.
    pub fn new(root_dir: impl Into<PathBuf>, bucket: &str) -> Result<Self, StoreError> {
        if bucket.contains('/') {
            return Err(StoreError::InvalidKey {
                key: bucket.to_owned(),
                reason: "bucket name contains '/'".to_owned(),
            });
        }
        validate_key(bucket)?;
        let dir = std::path::absolute(root_dir.into().join(bucket))
            .map_err(|e| StoreError::io(bucket, e))?;
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::from_io(bucket, e))?;
        Ok(LocalStore { dir })
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, body: PutBody) -> Result<u64, StoreError> {
        validate_key(key)?;
        let path = self.path_of(key);
        let dir = path
            .parent()
            .expect("a key path has the bucket dir as ancestor");
        // Not `local_error`: a file in the way (`a` when putting `a/b`) is a conflict, not a
        // missing object.
        fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::from_io(key, e))?;
        let temp = temp_path_for(&path);
        let written = write_durably(key, &temp, &path, dir, body).await;
        if written.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        written
    }

    async fn get(&self, key: &str) -> Result<GetBody, StoreError> {
        validate_key(key)?;
        let file = File::open(self.path_of(key))
            .await
            .map_err(|e| local_error(key, e))?;
        let meta = file.metadata().await.map_err(|e| local_error(key, e))?;
        if !meta.is_file() {
            return Err(not_found(key, "a folder of objects, not an object"));
        }
        Ok(GetBody {
            reader: Box::pin(file),
            len: Some(meta.len()),
        })
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ObjectInfo>, StoreError> {
        validate_prefix(prefix)?;
        let dir = self.dir.clone();
        let (prefix_owned, after) = (prefix.to_owned(), start_after.map(str::to_owned));
        let walk = tokio::task::spawn_blocking(move || {
            let mut listing = Listing {
                prefix: &prefix_owned,
                start_after: after.as_deref(),
                limit: limit as usize,
                found: Vec::new(),
            };
            listing.walk(&dir, "")?;
            Ok::<_, io::Error>(listing.found)
        });
        match walk.await {
            Ok(result) => result.map_err(|e| StoreError::io(prefix, e)),
            Err(join) => Err(StoreError::Other {
                key: prefix.to_owned(),
                message: format!("listing task failed: {join}"),
            }),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        validate_key(key)?;
        match fs::metadata(self.path_of(key)).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if is_absent(&e) => Ok(false),
            Err(e) => Err(local_error(key, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        match fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            // Like S3: deleting what is not an object is a no-op.
            Err(e) if is_absent(&e) || e.kind() == io::ErrorKind::IsADirectory => Ok(()),
            Err(e) => Err(local_error(key, e)),
        }
    }

    fn describe(&self) -> String {
        format!("file://{}", self.dir.display())
    }
}

/// Writes to `temp`, fsyncs, renames over `path` and fsyncs the folder, so a crash leaves
/// either the old object or the new one, never a torn file.
async fn write_durably(
    key: &str,
    temp: &Path,
    path: &Path,
    dir: &Path,
    body: PutBody,
) -> Result<u64, StoreError> {
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .await
        .map_err(|e| local_error(key, e))?;
    let written = match body {
        PutBody::Bytes(bytes) => {
            out.write_all(&bytes)
                .await
                .map_err(|e| StoreError::io(key, e))?;
            bytes.len() as u64
        }
        PutBody::File { path: source, len } => copy_exactly(key, &source, len, &mut out).await?,
    };
    out.sync_all().await.map_err(|e| StoreError::io(key, e))?;
    drop(out);
    fs::rename(temp, path)
        .await
        .map_err(|e| local_error(key, e))?;
    let dir_handle = File::open(dir).await.map_err(|e| StoreError::io(key, e))?;
    dir_handle
        .sync_all()
        .await
        .map_err(|e| StoreError::io(key, e))?;
    Ok(written)
}

/// Copies the first `len` bytes of `source`; a shorter file is an error, not a short object.
async fn copy_exactly(
    key: &str,
    source: &Path,
    len: u64,
    out: &mut File,
) -> Result<u64, StoreError> {
    let source_error = |e: io::Error| {
        StoreError::io(
            key,
            io::Error::new(e.kind(), format!("reading {}: {e}", source.display())),
        )
    };
    let input = File::open(source).await.map_err(source_error)?;
    let copied = tokio::io::copy(&mut input.take(len), out)
        .await
        .map_err(source_error)?;
    if copied != len {
        return Err(source_error(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file has {copied} bytes, expected {len}"),
        )));
    }
    Ok(copied)
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .expect("a key path ends with a name")
        .to_string_lossy();
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(
        "{name}{TEMP_MARKER}{}-{unique}",
        std::process::id()
    ))
}

/// A missing file, or a key path running through a file (`a/b` when `a` is an object).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

fn not_found(key: &str, message: &str) -> StoreError {
    StoreError::NotFound {
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

fn local_error(key: &str, e: io::Error) -> StoreError {
    if is_absent(&e) {
        return not_found(key, &e.to_string());
    }
    StoreError::from_io(key, e)
}

/// A depth-first walk that yields keys in byte order, as S3 lists them. A folder `d` sorts
/// as `d/`: every key below it starts with that, so visiting children sorted this way gives
/// sorted keys, and whole folders before `start_after` or outside `prefix` are skipped.
struct Listing<'a> {
    prefix: &'a str,
    start_after: Option<&'a str>,
    limit: usize,
    found: Vec<ObjectInfo>,
}

struct Child {
    key: String,
    name: std::ffi::OsString,
    folder: bool,
    size: u64,
}

impl Listing<'_> {
    fn walk(&mut self, dir: &Path, dir_key: &str) -> io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut children = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not written by this store
            };
            if name.contains(TEMP_MARKER) {
                continue;
            }
            let file_type = entry.file_type()?;
            let (key, size) = if file_type.is_dir() {
                (format!("{dir_key}{name}/"), 0)
            } else if file_type.is_file() {
                (format!("{dir_key}{name}"), entry.metadata()?.len())
            } else {
                continue;
            };
            let folder = file_type.is_dir();
            children.push(Child {
                key,
                name: entry.file_name(),
                folder,
                size,
            });
        }
        children.sort_by(|a, b| a.key.cmp(&b.key));
        for child in children {
            if self.found.len() >= self.limit {
                break;
            }
            if child.folder {
                if self.may_contain_matches(&child.key) {
                    self.walk(&dir.join(&child.name), &child.key)?;
                }
            } else if self.matches(&child.key) {
                self.found.push(ObjectInfo {
                    key: child.key,
                    size: child.size,
                });
            }
        }
        Ok(())
    }

    fn matches(&self, key: &str) -> bool {
        key.starts_with(self.prefix) && self.start_after.is_none_or(|after| key > after)
    }

    /// Whether any key starting with `folder_key` can match.
    fn may_contain_matches(&self, folder_key: &str) -> bool {
        let overlaps_prefix =
            folder_key.starts_with(self.prefix) || self.prefix.starts_with(folder_key);
        let all_before_start = self
            .start_after
            .is_some_and(|after| folder_key < after && !after.starts_with(folder_key));
        overlaps_prefix && !all_before_start
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectstore::conformance;

    #[tokio::test]
    async fn conformance_suite() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "bucket").unwrap();
        conformance::run(&store, "suite").await;
        assert!(store.describe().starts_with("file:///"));
        assert!(store.describe().ends_with("/bucket"));
    }

    #[tokio::test]
    async fn prefixed_conformance_suite() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "bucket").unwrap();
        conformance::run_prefixed(store, "shared").await;
    }

    #[tokio::test]
    async fn leaves_no_temp_files_and_lists_none() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "b").unwrap();
        store
            .put("a/x", PutBody::from(b"1".to_vec()))
            .await
            .unwrap();
        let folder = root.path().join("b/a");
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["x"]);
        // A crash mid-upload leaves a temp file behind; it must not show up as an object.
        std::fs::write(folder.join(format!("y{TEMP_MARKER}1-1")), b"torn").unwrap();
        let listed = store.list("", None, 100).await.unwrap();
        let keys: Vec<_> = listed.into_iter().map(|o| o.key).collect();
        assert_eq!(keys, ["a/x"]);
    }

    #[tokio::test]
    async fn a_short_source_file_fails_and_keeps_the_old_object() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "b").unwrap();
        store
            .put("k", PutBody::from(b"old".to_vec()))
            .await
            .unwrap();
        let source = root.path().join("source");
        std::fs::write(&source, b"12345").unwrap();
        let err = store
            .put(
                "k",
                PutBody::File {
                    path: source,
                    len: 10,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        let body = store.get("k").await.unwrap().into_bytes().await.unwrap();
        assert_eq!(&body[..], b"old");
        assert_eq!(std::fs::read_dir(root.path().join("b")).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn a_key_cannot_be_both_object_and_folder() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "b").unwrap();
        store.put("a", PutBody::from(b"1".to_vec())).await.unwrap();
        let err = store
            .put("a/b", PutBody::from(b"2".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        store
            .put("c/d", PutBody::from(b"3".to_vec()))
            .await
            .unwrap();
        let err = store
            .put("c", PutBody::from(b"4".to_vec()))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        let listed = store.list("", None, 10).await.unwrap();
        let keys: Vec<_> = listed.into_iter().map(|o| o.key).collect();
        assert_eq!(keys, ["a", "c/d"]);
    }

    #[tokio::test]
    async fn folder_ordering_matches_byte_order() {
        let root = tempfile::tempdir().unwrap();
        let store = LocalStore::new(root.path(), "b").unwrap();
        // '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' after it.
        for key in ["a/c", "a-b", "a.b", "a0", "ab/c"] {
            store.put(key, PutBody::from(b"x".to_vec())).await.unwrap();
        }
        let keys: Vec<_> = store
            .list("", None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a-b", "a.b", "a/c", "a0", "ab/c"]);
        let after: Vec<_> = store
            .list("", Some("a/"), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(after, ["a/c", "a0", "ab/c"]);
    }
}
