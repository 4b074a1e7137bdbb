//! The backup's buckets seen directly through the S3 API (aws-sdk-s3, not the product's store):
//! creating and inspecting buckets, and writing backup objects where and how the original
//! writes them — bundles `gzip(avro bulk v6)` at `<source>/<model>/<action>/<T>-<N>-<K>` in
//! `<prefix><id>-events`, streams `gzip(content)` at `<source>/<label>/<sha256>` in
//! `<prefix><id>-streams`.

use std::io::{Read, Write};

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use sha2::{Digest, Sha256};

use super::{S3, events_bucket, streams_bucket};

/// A client of the test S3 server.
#[derive(Clone)]
pub struct S3Admin {
    client: Client,
}

impl S3Admin {
    pub async fn connect(s3: &S3) -> Self {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let sdk_config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(http_client)
            .credentials_provider(Credentials::new(
                &s3.access_key,
                &s3.secret_key,
                None,
                None,
                "restore-tests",
            ))
            .endpoint_url(&s3.endpoint)
            .load()
            .await;
        let config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        S3Admin {
            client: Client::from_conf(config),
        }
    }

    pub async fn create_bucket(&self, bucket: &str) {
        self.client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    }

    pub async fn bucket_exists(&self, bucket: &str) -> bool {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => panic!("head bucket {bucket}: {e:?}"),
        }
    }

    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("binary/octet-stream")
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
        object
            .body
            .collect()
            .await
            .unwrap_or_else(|e| panic!("read {bucket}/{key}: {e:?}"))
            .to_vec()
    }

    pub async fn delete(&self, bucket: &str, key: &str) {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {bucket}/{key}: {e:?}"));
    }

    /// Remove a bucket and everything in it (a missing bucket is fine). Tests remove their
    /// buckets once they pass: each bucket holds volumes on the S3 server.
    pub async fn remove_bucket(&self, bucket: &str) {
        if !self.bucket_exists(bucket).await {
            return;
        }
        for key in self.keys(bucket, "").await {
            self.delete(bucket, &key).await;
        }
        self.client
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete bucket {bucket}: {e:?}"));
    }

    /// Every key under `prefix`, in listing order.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .unwrap_or_else(|e| panic!("list {bucket}/{prefix}: {e:?}"));
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(String::from)),
            );
            match page.next_continuation_token() {
                Some(next) => token = Some(next.to_string()),
                None => return keys,
            }
        }
    }
}

pub fn gzip(plain: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(plain).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .expect("a stored object is gzip");
    plain
}

pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// The original's AES setting wrote `<key>.aesc1` objects: an 8-byte salt and a 16-byte IV,
/// then the payload, which it never actually encrypted (its defect B13).
pub const LEGACY_AES_SUFFIX: &str = ".aesc1";

pub fn legacy_aes_wrapped(payload: &[u8]) -> Vec<u8> {
    let mut object: Vec<u8> = (0u8..24).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
    object.extend_from_slice(payload);
    object
}

/// The two buckets of one backup id, written as the original writes them.
#[derive(Clone)]
pub struct BackupWriter {
    pub s3: S3Admin,
    pub events_bucket: String,
    pub streams_bucket: String,
}

impl BackupWriter {
    /// Creates both (empty) buckets of `backup_id`.
    pub async fn create(s3: &S3, backup_id: &str) -> Self {
        let writer = BackupWriter::existing(s3, backup_id).await;
        writer.s3.create_bucket(&writer.events_bucket).await;
        writer.s3.create_bucket(&writer.streams_bucket).await;
        writer
    }

    /// The buckets of `backup_id`, whether or not they exist.
    pub async fn existing(s3: &S3, backup_id: &str) -> Self {
        BackupWriter {
            s3: S3Admin::connect(s3).await,
            events_bucket: events_bucket(backup_id),
            streams_bucket: streams_bucket(backup_id),
        }
    }

    /// Remove both buckets and their objects.
    pub async fn remove(&self) {
        self.s3.remove_bucket(&self.events_bucket).await;
        self.s3.remove_bucket(&self.streams_bucket).await;
    }

    /// A bundle object: `gzip(bulk)` at `key`.
    pub async fn put_bundle(&self, key: &str, bulk: &[u8]) {
        self.s3.put(&self.events_bucket, key, gzip(bulk)).await;
    }

    /// Any bytes at an events-bucket key (corrupt bundles).
    pub async fn put_event_object(&self, key: &str, bytes: Vec<u8>) {
        self.s3.put(&self.events_bucket, key, bytes).await;
    }

    /// A stream object `gzip(content)` at `<source>/<label>/<sha256>`; returns that key.
    pub async fn put_stream(&self, source: &str, label: &str, content: &[u8]) -> String {
        let key = format!("{source}/{label}/{}", sha256_hex(content));
        self.s3.put(&self.streams_bucket, &key, gzip(content)).await;
        key
    }

    /// Any bytes at a streams-bucket key (corrupt or legacy streams).
    pub async fn put_stream_object(&self, key: &str, bytes: Vec<u8>) {
        self.s3.put(&self.streams_bucket, key, bytes).await;
    }

    /// Remove one bundle (as an age-off rule or an operator would).
    pub async fn delete_event_object(&self, key: &str) {
        self.s3.delete(&self.events_bucket, key).await;
    }

    pub async fn event_keys(&self) -> Vec<String> {
        self.s3.keys(&self.events_bucket, "").await
    }

    pub async fn stream_keys(&self) -> Vec<String> {
        self.s3.keys(&self.streams_bucket, "").await
    }

    /// The plain (gunzipped) bulk of a bundle.
    pub async fn bundle(&self, key: &str) -> Vec<u8> {
        gunzip(&self.s3.get(&self.events_bucket, key).await)
    }
}
