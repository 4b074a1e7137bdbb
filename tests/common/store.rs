//! Reading back what a backup wrote to S3: object keys, gunzipped bodies, and event bundles
//! decoded with the project's own avro codec.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use azul_backup::avro::{DecodedEvent, Model, decode_bulk};
use azul_backup::objectstore::{ObjectInfo, ObjectStore, S3Store};

use super::{BackupEnv, S3};

/// The two buckets of one backup id.
pub struct Buckets {
    pub events: S3Store,
    pub streams: S3Store,
}

impl Buckets {
    /// Connects to both buckets, creating them if the backup has not yet (so a test can poll
    /// them from the moment a run starts).
    pub async fn connect(s3: &S3, env: &BackupEnv) -> Self {
        let open = async |bucket: String| {
            S3Store::connect(&s3.config(), &bucket, true)
                .await
                .unwrap_or_else(|e| panic!("bucket {bucket}: {e}"))
        };
        Buckets {
            events: open(env.events_bucket()).await,
            streams: open(env.streams_bucket()).await,
        }
    }

    /// Every event bundle, decoded.
    pub async fn bundles(&self) -> Vec<Bundle> {
        let mut bundles = Vec::new();
        for key in keys(&self.events, "").await {
            let name = BundleName::parse(&key);
            let bulk = gunzip(&read(&self.events, &key).await);
            let events = decode_bulk(name.model, &bulk)
                .unwrap_or_else(|e| panic!("bundle {key} does not decode: {e}"));
            bundles.push(Bundle { name, events });
        }
        bundles
    }

    /// Keys of the stream objects (`<source>/<label>/<sha256>`).
    pub async fn stream_keys(&self) -> BTreeSet<String> {
        keys(&self.streams, "").await.into_iter().collect()
    }
}

/// Every object under `prefix`, paging through the listing.
pub async fn objects(store: &S3Store, prefix: &str) -> Vec<ObjectInfo> {
    let mut all: Vec<ObjectInfo> = Vec::new();
    loop {
        let after = all.last().map(|o| o.key.clone());
        let page = store
            .list(prefix, after.as_deref(), 1000)
            .await
            .unwrap_or_else(|e| panic!("listing {}: {e}", store.describe()));
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

pub async fn keys(store: &S3Store, prefix: &str) -> Vec<String> {
    objects(store, prefix)
        .await
        .into_iter()
        .map(|o| o.key)
        .collect()
}

/// The stored bytes of `key` (still gzipped).
pub async fn read(store: &S3Store, key: &str) -> Vec<u8> {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"))
        .into_bytes()
        .await
        .unwrap_or_else(|e| panic!("read {key}: {e}"))
        .to_vec()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .expect("a stored object is gzip");
    plain
}

/// `<source>/<model>/<action>/<T>-<N>-<K>`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleName {
    pub key: String,
    pub source: String,
    pub model: Model,
    pub action: String,
    /// RFC3339Nano timestamp of the bundle's last valid event.
    pub timestamp: String,
    pub count: usize,
    /// kafka_key of that same event.
    pub kafka_key: String,
}

impl BundleName {
    pub fn parse(key: &str) -> Self {
        let bad = || panic!("{key:?} is not <source>/<model>/<action>/<T>-<N>-<K>");
        let parts: Vec<&str> = key.split('/').collect();
        let [source, model, action, name] = parts[..] else {
            bad()
        };
        // The timestamp holds dashes itself: take N and K from the right.
        let mut tail = name.rsplitn(3, '-');
        let (Some(kafka_key), Some(count), Some(timestamp)) =
            (tail.next(), tail.next(), tail.next())
        else {
            bad()
        };
        BundleName {
            key: key.to_string(),
            source: source.to_string(),
            model: model.parse().unwrap_or_else(|_| bad()),
            action: action.to_string(),
            timestamp: timestamp.to_string(),
            count: count.parse().unwrap_or_else(|_| bad()),
            kafka_key: kafka_key.to_string(),
        }
    }

    /// `<source>/<model>/<action>`: which consumer wrote it.
    pub fn consumer(&self) -> String {
        format!("{}/{}/{}", self.source, self.model, self.action)
    }
}

/// One stored event bundle.
#[derive(Debug)]
pub struct Bundle {
    pub name: BundleName,
    pub events: Vec<DecodedEvent>,
}

/// How many times each kafka_key occurs across `bundles`.
pub fn key_counts(bundles: &[Bundle]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in bundles.iter().flat_map(|b| &b.events) {
        *counts.entry(event.kafka_key.clone()).or_default() += 1;
    }
    counts
}

/// `<source>/<label>/<sha256>` of every stream the bundles' binary events reference.
pub fn referenced_streams(bundles: &[Bundle]) -> BTreeSet<String> {
    bundles
        .iter()
        .flat_map(|b| &b.events)
        .flat_map(|e| &e.streams)
        .map(|s| format!("{}/{}/{}", s.source, s.label, s.sha256))
        .collect()
}

/// The `<source>/<label>/<sha256>` part of a state-file line `<event id>/<source>/<label>/<sha256>`.
pub fn stream_of_line(line: &str) -> String {
    let (_, stream) = line
        .split_once('/')
        .unwrap_or_else(|| panic!("{line:?} is not <event>/<source>/<label>/<sha256>"));
    assert_eq!(stream.split('/').count(), 3, "{line:?}");
    stream.to_string()
}
