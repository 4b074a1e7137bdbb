//! The dispatcher emulator restores are posted into: served on an ephemeral port, faulted
//! through its own fault rules, and asked what it holds.

use std::collections::{BTreeMap, BTreeSet};

#[allow(unused_imports)] // not every restore test compares deletes
pub use super::common::emulator::deletes_without_keys;
use azul_backup::avro::Model;
use azul_dispatcher_emulator::faults::FaultRule;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig, Running};

/// Route patterns of the fault rules.
pub const POST_EVENTS: &str = "/api/v2/event";
pub const POST_STREAM: &str = "/api/v3/stream/*";

pub async fn serve(emulator: &Emulator) -> Running {
    emulator
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve the emulator")
}

/// A fresh destination dispatcher for `sources`, served.
pub async fn destination(sources: &[&str]) -> (Emulator, Running) {
    let emulator = Emulator::new(EmulatorConfig::new(sources.iter().copied()));
    let running = serve(&emulator).await;
    (emulator, running)
}

/// Answer `status` to the next `count` POSTs matching `path` (every one when `None`).
pub fn failing_posts(path: &str, status: u16, count: Option<u32>) -> FaultRule {
    FaultRule {
        method: Some("POST".into()),
        path: path.into(),
        status: Some(status),
        count,
        ..FaultRule::default()
    }
}

/// Hold every POST matching `path` for `delay_ms` before handling it (a slow dispatcher).
pub fn slow_posts(path: &str, delay_ms: u64) -> FaultRule {
    FaultRule {
        method: Some("POST".into()),
        path: path.into(),
        delay_ms,
        ..FaultRule::default()
    }
}

/// A rule that lets the next `count` POSTs matching `path` through unharmed (a delay of
/// 1 ms): rules apply in the order they were added, so this one placed before a failing rule
/// makes the failures start after `count` good requests.
pub fn passing_posts(path: &str, count: u32) -> FaultRule {
    FaultRule {
        count: Some(count),
        ..slow_posts(path, 1)
    }
}

/// Sorted `kafka_key`s the emulator holds for `model` (duplicates kept).
pub fn keys(emulator: &Emulator, model: Model) -> Vec<String> {
    let mut keys: Vec<String> = emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect();
    keys.sort();
    keys
}

pub fn distinct_keys(emulator: &Emulator, model: Model) -> BTreeSet<String> {
    emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect()
}

/// `<source>/<label>/<sha256>` of every stream held.
pub fn stream_keys(emulator: &Emulator) -> BTreeSet<String> {
    emulator
        .stream_keys()
        .into_iter()
        .map(|(source, label, sha256)| format!("{source}/{label}/{sha256}"))
        .collect()
}

/// Binary events held per `(source, action)`: their keys in publish order.
pub fn binary_keys_by_type(emulator: &Emulator) -> BTreeMap<(String, String), Vec<String>> {
    let mut by_type: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for event in emulator.events(Model::Binary) {
        let source = event.source.clone().unwrap_or_default();
        let action = event.action.clone().unwrap_or_default();
        by_type
            .entry((source, action))
            .or_default()
            .push(event.kafka_key);
    }
    by_type
}

/// Each key once, at its first occurrence.
pub fn first_occurrences(keys: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    keys.iter()
        .filter(|k| seen.insert((*k).clone()))
        .cloned()
        .collect()
}
