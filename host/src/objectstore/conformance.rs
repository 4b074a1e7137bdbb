//! The behaviour every [`ObjectStore`] backend must share, run by each backend's tests.

use std::path::Path;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::{ObjectInfo, ObjectStore, Prefixed, PutBody, StoreError};

/// Above the S3 tests' multipart threshold (6 MiB, 5 MiB parts): three parts, the last short.
pub const LARGE_FILE_LEN: u64 = 11 * 1024 * 1024 + 4321;

/// Runs every check with keys under `scope/`, which must hold no objects yet; leaves it empty.
pub async fn run(store: &dyn ObjectStore, scope: &str) {
    rejects_invalid_keys(store).await;
    round_trips_bytes(store, scope).await;
    round_trips_files(store, scope).await;
    lists_in_order_with_paging(store, scope).await;
    exists_and_delete(store, scope).await;
    assert_eq!(
        list_keys(store, &format!("{scope}/"), None, 1000).await,
        Vec::<String>::new()
    );
}

/// The suite through a [`Prefixed`] wrapper, plus checks that the folder is applied and hidden.
pub async fn run_prefixed<S: ObjectStore>(inner: S, folder: &str) {
    assert!(matches!(
        Prefixed::new(&inner, "bad//folder"),
        Err(StoreError::InvalidKey { .. })
    ));
    let store = Prefixed::new(&inner, &format!("{folder}/")).unwrap();
    assert_eq!(store.describe(), format!("{}/{folder}", inner.describe()));
    run(&store, "suite").await;

    store
        .put("src/label/id", pattern(10, 1).into())
        .await
        .unwrap();
    inner
        .put(&format!("{folder}-outside/src/x"), pattern(3, 2).into())
        .await
        .unwrap();
    assert!(
        inner
            .exists(&format!("{folder}/src/label/id"))
            .await
            .unwrap()
    );
    assert_eq!(list_keys(&store, "", None, 100).await, ["src/label/id"]);
    assert_eq!(list_keys(&store, "", Some(""), 100).await, ["src/label/id"]);
    assert_eq!(
        list_keys(&store, "src/", Some("src/a"), 100).await,
        ["src/label/id"]
    );
    assert!(
        list_keys(&store, "", Some("src/label/id"), 100)
            .await
            .is_empty()
    );
    let err = store.get("missing/key").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(err.key(), "missing/key");
    store.delete("src/label/id").await.unwrap();
    inner
        .delete(&format!("{folder}-outside/src/x"))
        .await
        .unwrap();
}

async fn rejects_invalid_keys(store: &dyn ObjectStore) {
    for key in [
        "", "a//b", "/a", "a/", "a/./b", "a/../b", "..", "a\\b", "a\nb",
    ] {
        let put = store.put(key, pattern(1, 0).into()).await;
        assert!(
            matches!(put, Err(StoreError::InvalidKey { .. })),
            "put {key:?}: {put:?}"
        );
        let get = store.get(key).await;
        assert!(
            matches!(get, Err(StoreError::InvalidKey { .. })),
            "get {key:?}"
        );
        let exists = store.exists(key).await;
        assert!(
            matches!(exists, Err(StoreError::InvalidKey { .. })),
            "exists {key:?}"
        );
        let delete = store.delete(key).await;
        assert!(
            matches!(delete, Err(StoreError::InvalidKey { .. })),
            "delete {key:?}"
        );
        assert!(!put.unwrap_err().retryable());
    }
    let list = store.list("a//", None, 10).await;
    assert!(
        matches!(list, Err(StoreError::InvalidKey { .. })),
        "{list:?}"
    );
}

async fn round_trips_bytes(store: &dyn ObjectStore, scope: &str) {
    let key = format!("{scope}/bytes/one");
    let data = pattern(100_003, 7);
    assert_eq!(store.put(&key, data.clone().into()).await.unwrap(), 100_003);
    assert_eq!(read(store, &key).await, data);

    let replacement = pattern(17, 8);
    store.put(&key, replacement.clone().into()).await.unwrap();
    assert_eq!(read(store, &key).await, replacement, "put replaces");

    let empty = format!("{scope}/bytes/empty");
    assert_eq!(store.put(&empty, Bytes::new().into()).await.unwrap(), 0);
    assert_eq!(read(store, &empty).await, Bytes::new());

    let odd = format!("{scope}/bytes/sp ace+ünï%&'()");
    store.put(&odd, pattern(5, 9).into()).await.unwrap();
    assert_eq!(read(store, &odd).await, pattern(5, 9));

    for key in [key, empty, odd] {
        store.delete(&key).await.unwrap();
    }
}

async fn round_trips_files(store: &dyn ObjectStore, scope: &str) {
    let dir = tempfile::tempdir().unwrap();
    for (name, len, seed) in [("small", 300_001, 3), ("large", LARGE_FILE_LEN, 4)] {
        let data = pattern(len as usize, seed);
        let path = dir.path().join(name);
        std::fs::write(&path, &data).unwrap();
        let key = format!("{scope}/files/{name}");
        let body = PutBody::File {
            path: path.clone(),
            len,
        };
        assert_eq!(store.put(&key, body).await.unwrap(), len);
        let got = store.get(&key).await.unwrap();
        assert_eq!(got.len, Some(len));
        assert!(
            read_body(got).await == data,
            "{name}: downloaded bytes differ"
        );

        // Only the first `len` bytes are the object, even when the file is longer.
        let partial = PutBody::File {
            path,
            len: len - 1000,
        };
        assert_eq!(store.put(&key, partial).await.unwrap(), len - 1000);
        assert!(read(store, &key).await == data.slice(..(len - 1000) as usize));
        store.delete(&key).await.unwrap();
    }

    let missing = PutBody::File {
        path: dir.path().join("missing"),
        len: 3,
    };
    let err = store
        .put(&format!("{scope}/files/x"), missing)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let short = short_file(dir.path());
    let err = store
        .put(&format!("{scope}/files/x"), short)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(!store.exists(&format!("{scope}/files/x")).await.unwrap());
}

fn short_file(dir: &Path) -> PutBody {
    let path = dir.join("short");
    std::fs::write(&path, b"abc").unwrap();
    PutBody::File { path, len: 4 }
}

async fn lists_in_order_with_paging(store: &dyn ObjectStore, scope: &str) {
    let base = format!("{scope}/list/");
    // Nested folders, and names with '-' and '.', which sort before '/'. No folder name is
    // followed by a sibling that extends it with such a character (`a/` next to `a-b`):
    // SeaweedFS lists a folder's contents right after its name, unlike S3's byte order.
    let mut names: Vec<String> = (0..24).map(|i| format!("k{i:02}")).collect();
    names.extend(["a-b", "a.b", "a0", "ab/c", "ab/d/e", "z/ü"].map(String::from));
    for (i, name) in names.iter().enumerate() {
        store
            .put(&format!("{base}{name}"), pattern(i, i as u64).into())
            .await
            .unwrap();
    }
    for outside in [format!("{scope}/lis"), format!("{scope}/listing/x")] {
        store.put(&outside, pattern(1, 0).into()).await.unwrap();
    }
    let mut expected: Vec<String> = names.iter().map(|n| format!("{base}{n}")).collect();
    expected.sort();

    let all = store.list(&base, None, 1000).await.unwrap();
    assert_eq!(
        all.iter().map(|o| o.key.clone()).collect::<Vec<_>>(),
        expected
    );
    for info in &all {
        let index = names
            .iter()
            .position(|n| info.key == format!("{base}{n}"))
            .unwrap();
        assert_eq!(info.size, index as u64, "size of {}", info.key);
    }

    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = list_keys(store, &base, after.as_deref(), 7).await;
        assert!(page.len() <= 7);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        paged.extend(page);
    }
    assert_eq!(paged, expected);

    let after_k10 = list_keys(store, &base, Some(&format!("{base}k10")), 3).await;
    assert_eq!(after_k10, [11, 12, 13].map(|i| format!("{base}k{i}")));
    // start_after need not be an existing key.
    let after_gap = list_keys(store, &base, Some(&format!("{base}k10x")), 1).await;
    assert_eq!(after_gap, [format!("{base}k11")]);
    let teens = list_keys(store, &format!("{base}k1"), None, 100).await;
    assert_eq!(
        teens,
        (10..20).map(|i| format!("{base}k{i}")).collect::<Vec<_>>()
    );
    assert!(list_keys(store, &base, None, 0).await.is_empty());
    assert!(
        list_keys(store, &format!("{base}nothing"), None, 10)
            .await
            .is_empty()
    );
    assert!(
        list_keys(store, &base, Some(&format!("{base}zz")), 10)
            .await
            .is_empty()
    );
    // The wider prefix also sees the neighbours, still in order.
    let wide = list_keys(store, &format!("{scope}/lis"), None, 1000).await;
    assert_eq!(wide.len(), expected.len() + 2);
    assert!(wide.is_sorted());

    for key in expected
        .iter()
        .chain(&[format!("{scope}/lis"), format!("{scope}/listing/x")])
    {
        store.delete(key).await.unwrap();
    }
}

async fn exists_and_delete(store: &dyn ObjectStore, scope: &str) {
    let key = format!("{scope}/exists/src/label/id");
    assert!(!store.exists(&key).await.unwrap());
    store.put(&key, pattern(42, 5).into()).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    // A "folder" of objects is not an object itself.
    assert!(!store.exists(&format!("{scope}/exists/src")).await.unwrap());
    let folder_get = store.get(&format!("{scope}/exists/src")).await;
    assert!(
        matches!(folder_get, Err(StoreError::NotFound { .. })),
        "{folder_get:?}"
    );
    // A path running through an object is simply absent.
    assert!(!store.exists(&format!("{key}/below")).await.unwrap());

    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    store.delete(&key).await.unwrap(); // deleting twice is fine

    let err = store.get(&key).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(err.key(), key);
    assert!(!err.retryable());
}

async fn list_keys(
    store: &dyn ObjectStore,
    prefix: &str,
    start_after: Option<&str>,
    limit: u32,
) -> Vec<String> {
    let listed: Vec<ObjectInfo> = store.list(prefix, start_after, limit).await.unwrap();
    listed.into_iter().map(|o| o.key).collect()
}

async fn read(store: &dyn ObjectStore, key: &str) -> Bytes {
    read_body(store.get(key).await.unwrap()).await
}

async fn read_body(mut body: super::GetBody) -> Bytes {
    let mut buf = Vec::new();
    body.reader.read_to_end(&mut buf).await.unwrap();
    buf.into()
}

/// Deterministic bytes that differ per seed and position, so misplaced parts are caught.
pub fn pattern(len: usize, seed: u64) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}
