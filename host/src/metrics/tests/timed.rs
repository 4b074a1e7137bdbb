use bytes::Bytes;

use super::{families, labels};
use crate::metrics::{OP_DURATION_BUCKETS, RunMetrics, Timed};
use crate::objectstore::{LocalStore, ObjectStore, StoreError};

#[tokio::test]
async fn every_call_is_timed_with_method_and_result() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = RunMetrics::new().unwrap();
    let store = Timed::new(LocalStore::new(dir.path(), "bucket").unwrap(), &metrics);

    store
        .put("a/b", Bytes::from_static(b"hi").into())
        .await
        .unwrap();
    let body = store.get("a/b").await.unwrap().into_bytes().await.unwrap();
    assert_eq!(&body[..], b"hi");
    assert!(store.exists("a/b").await.unwrap());
    assert!(!store.exists("a/c").await.unwrap());
    assert!(matches!(
        store.get("a/c").await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list("a/", None, 10).await.unwrap().len(), 1);
    store.delete("a/b").await.unwrap();
    assert!(store.describe().contains("bucket"));

    let found = families(&metrics);
    let (kind, series) = &found["recovery_streams_op_duration"];
    assert_eq!(*kind, prometheus::proto::MetricType::HISTOGRAM);
    let count = |method, result| series[&labels(&[("method", method), ("result", result)])];
    assert_eq!(count("put", "ok"), 1.0);
    assert_eq!(count("fetch", "ok"), 1.0);
    assert_eq!(count("fetch", "error"), 1.0);
    assert_eq!(count("exists", "ok"), 2.0);
    assert_eq!(count("list", "ok"), 1.0);
    assert_eq!(count("delete", "ok"), 1.0);
    assert_eq!(series.len(), 6);

    let family = metrics.registry().gather();
    let histogram = family
        .iter()
        .find(|f| f.name() == "recovery_streams_op_duration")
        .unwrap()
        .get_metric()[0]
        .get_histogram();
    let bounds: Vec<f64> = histogram
        .get_bucket()
        .iter()
        .map(|b| b.upper_bound())
        .collect();
    assert_eq!(bounds, OP_DURATION_BUCKETS);
}
