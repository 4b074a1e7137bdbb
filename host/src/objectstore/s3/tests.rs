//! Runs against a real S3-compatible server named by `S3_ENDPOINT` (see scripts/start-s3.sh).
//! All tests of one run share one bucket, each under its own key prefix: creating a bucket
//! costs SeaweedFS about 0.2 s.

use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::objectstore::conformance::{self, LARGE_FILE_LEN};

static TEST_BUCKET: LazyLock<String> = LazyLock::new(|| {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "azul-objectstore-test-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
});

/// Small enough that [`LARGE_FILE_LEN`] goes multipart in three parts.
const TEST_MULTIPART: MultipartConfig = MultipartConfig {
    threshold: 6 * 1024 * 1024,
    part_size: 5 * 1024 * 1024,
    concurrency: 2,
};

fn server_config() -> Option<S3Config> {
    let Ok(endpoint) = std::env::var("S3_ENDPOINT") else {
        if std::env::var_os("CI").is_some() {
            panic!("S3_ENDPOINT is not set but CI is: source scripts/start-s3.sh before the tests");
        }
        eprintln!(
            "SKIPPED: S3_ENDPOINT not set, S3 object store test did not run \
             (run `. scripts/start-s3.sh` first)"
        );
        return None;
    };
    Some(S3Config {
        endpoint,
        secure: false,
        access_key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
        secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        region: std::env::var("AWS_REGION").unwrap_or_default(),
        response_timeout: None,
    })
}

/// The shared test bucket, waiting briefly for a server that has just started.
async fn test_store() -> Option<S3Store> {
    let config = server_config()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match S3Store::connect(&config, &TEST_BUCKET, true).await {
            Ok(store) => return Some(store.with_multipart(TEST_MULTIPART)),
            Err(err) if err.retryable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(err) => panic!("cannot reach the test S3 server: {err}"),
        }
    }
}

/// A store whose endpoint refuses connections: anything that reaches the network fails.
async fn unreachable_store() -> S3Store {
    let config = S3Config {
        endpoint: "127.0.0.1:1".to_owned(),
        access_key: "key".to_owned(),
        secret_key: "secret".to_owned(),
        ..S3Config::default()
    };
    S3Store::without_bucket_check(&config, "bucket")
        .await
        .unwrap()
}

#[tokio::test]
async fn conformance_suite() {
    let Some(store) = test_store().await else {
        return;
    };
    // A tiny page size makes the 30-key listing span several requests.
    let store = S3Store {
        list_page_size: 4,
        ..store
    };
    conformance::run(&store, "conformance").await;
    assert_eq!(store.describe(), format!("s3://{}", *TEST_BUCKET));
}

#[tokio::test]
async fn prefixed_conformance_suite() {
    let Some(store) = test_store().await else {
        return;
    };
    conformance::run_prefixed(store, "prefixed/folder").await;
}

#[tokio::test]
async fn large_files_go_multipart_with_the_original_content_type() {
    let Some(store) = test_store().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large");
    std::fs::write(&path, conformance::pattern(LARGE_FILE_LEN as usize, 11)).unwrap();
    let key = "multipart/large";
    store
        .put(
            key,
            PutBody::File {
                path,
                len: LARGE_FILE_LEN,
            },
        )
        .await
        .unwrap();
    store
        .put("multipart/small", PutBody::from(b"small".to_vec()))
        .await
        .unwrap();

    let head = |key: &'static str| {
        store
            .client
            .head_object()
            .bucket(store.bucket())
            .key(key)
            .send()
    };
    let large = head(key).await.unwrap();
    assert!(
        large.e_tag().unwrap().ends_with("-3\""),
        "etag {:?}",
        large.e_tag()
    );
    assert_eq!(large.content_length(), Some(LARGE_FILE_LEN as i64));
    let small = head("multipart/small").await.unwrap();
    for object in [large.content_type(), small.content_type()] {
        assert_eq!(object, Some(CONTENT_TYPE));
    }
    // With default SDK checksums SeaweedFS would store "aws-chunked" here.
    assert_eq!(large.content_encoding(), None);
    assert_eq!(small.content_encoding(), None);
    store.delete(key).await.unwrap();
    store.delete("multipart/small").await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_permission_denied() {
    let Some(mut config) = server_config() else {
        return;
    };
    config.secret_key = "not-the-secret".to_owned();
    let err = S3Store::connect(&config, &TEST_BUCKET, true)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn missing_bucket_is_created_only_when_allowed() {
    let Some(config) = server_config() else {
        return;
    };
    let bucket = format!("{}-missing", *TEST_BUCKET);
    let err = S3Store::connect(&config, &bucket, false).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&bucket) && message.contains(&config.endpoint),
        "{message}"
    );

    let created = S3Store::connect(&config, &bucket, true).await.unwrap();
    S3Store::connect(&config, &bucket, false).await.unwrap();
    created
        .client
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unreachable_endpoint_is_transient() {
    let err = unreachable_store().await.head_bucket().await.unwrap_err();
    assert!(matches!(err, StoreError::Transient { .. }), "{err:?}");
    assert!(err.retryable());
}

#[tokio::test]
async fn invalid_keys_fail_before_any_request() {
    // Against an unreachable endpoint, any request would fail as Transient instead.
    let store = unreachable_store().await;
    for key in ["", "a//b", "/a", "a/", "a/../b", "a\\b", "a\tb"] {
        let err = store.put(key, PutBody::from(vec![1])).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{key:?}: {err:?}"
        );
        let err = store.get(key).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{key:?}: {err:?}"
        );
    }
    let err = store.list("a//", None, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidKey { .. }), "{err:?}");
}

#[test]
fn endpoint_accepts_host_port_or_url() {
    let config = |endpoint: &str, secure| S3Config {
        endpoint: endpoint.to_owned(),
        secure,
        ..S3Config::default()
    };
    assert_eq!(
        config("minio:9000", false).endpoint_url().unwrap(),
        "http://minio:9000"
    );
    assert_eq!(
        config("s3.example.com", true).endpoint_url().unwrap(),
        "https://s3.example.com"
    );
    assert_eq!(
        config("http://127.0.0.1:8333/", true)
            .endpoint_url()
            .unwrap(),
        "http://127.0.0.1:8333"
    );
    assert_eq!(config("", true).endpoint_url(), None);
    assert_eq!(config("", true).region(), "us-east-1");
}
