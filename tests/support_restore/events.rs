//! Synthetic events (valid, or failing Azul's validity rules on purpose), bundles of them and
//! the names the original gives bundles, and the `kafka_key` a dispatcher gives an event.

use azul_backup::avro::synthetic::{
    SyntheticBinary, SyntheticStream, binary_event, delete_event, insert_event,
};
use azul_backup::avro::{Model, describe_raw, encode_bulk_from_raw, rfc3339_nano};
use azul_dispatcher_emulator::canonical_key;

use super::buckets::sha256_hex;

/// 2025-08-05T00:00:00Z, the day of the original's samples.
pub const BASE_MICROS: i64 = 1_754_352_000_000_000;
pub const MINUTE_MICROS: i64 = 60_000_000;
pub const DAY_MICROS: i64 = 86_400_000_000;

/// The content of a synthetic stream: distinct per `(source, n)`.
pub fn stream_content(source: &str, n: u32) -> Vec<u8> {
    format!("content of synthetic stream {n} of source {source}\n").into_bytes()
}

/// A valid binary `sourced` event whose `content` stream is `content`, at `micros`.
pub fn binary_sourced(source: &str, content: &[u8], micros: i64) -> Vec<u8> {
    binary_with_author(source, "test-uploader", content, micros)
}

/// A binary event the dispatcher refuses: its author has no name (`CheckValid`: "event is
/// missing 'author' field").
pub fn binary_without_author(source: &str, content: &[u8], micros: i64) -> Vec<u8> {
    binary_with_author(source, "", content, micros)
}

fn binary_with_author(source: &str, author: &str, content: &[u8], micros: i64) -> Vec<u8> {
    let sha256 = sha256_hex(content);
    binary_event(&SyntheticBinary {
        source: source.into(),
        action: "sourced".into(),
        author: author.into(),
        kafka_key: format!("backed-up-key-{}", &sha256[..16]),
        timestamp_micros: micros,
        sha256: sha256.clone(),
        streams: vec![SyntheticStream {
            label: "content".into(),
            sha256,
            size: content.len() as u64,
        }],
    })
    .expect("a synthetic binary event encodes")
}

pub fn insert(n: u32, micros: i64) -> Vec<u8> {
    let parent = sha256_hex(format!("parent {n}").as_bytes());
    let child = sha256_hex(format!("child {n}").as_bytes());
    insert_event(&format!("backed-up-insert-{n}"), micros, &parent, &child)
        .expect("a synthetic insert event encodes")
}

pub fn delete(n: u32, micros: i64) -> Vec<u8> {
    delete_event(
        &format!("backed-up-delete-{n}"),
        micros,
        &format!("nowhere.{n:032x}"),
    )
    .expect("a synthetic delete event encodes")
}

/// The avro bulk (v6) of `events`, as a bundle holds it before gzip.
pub fn bulk(events: &[Vec<u8>]) -> Vec<u8> {
    encode_bulk_from_raw(events.iter().map(Vec::as_slice))
}

/// The original's bundle key `<source>/<model>/<action>/<T>-<N>-<K>`: T and K of the last
/// event of the bundle, N the number of events.
pub fn bundle_key(source: &str, model: Model, action: &str, events: &[Vec<u8>]) -> String {
    let last = describe_raw(model, events.last().expect("a bundle holds events"))
        .expect("a synthetic event decodes");
    format!(
        "{source}/{model}/{action}/{}-{}-{}",
        rfc3339_nano(last.timestamp_micros),
        events.len(),
        last.kafka_key
    )
}

/// The `kafka_key` the dispatcher gives `raw` when it is posted (deterministic for binary
/// and insert events).
pub fn dispatcher_key(model: Model, raw: &[u8]) -> String {
    canonical_key(model, raw).expect("the event has a canonical key")
}
