//! The synthetic corpus: Azul's datastream rules, real stream contents, sharing, determinism.

use std::collections::{BTreeSet, HashMap, HashSet};

use azul_backup::avro::Model;
use azul_dispatcher_emulator::{
    Emulator, EmulatorConfig,
    corpus::{CorpusSpec, seed},
};
use sha2::{Digest, Sha256};

fn spec() -> CorpusSpec {
    CorpusSpec {
        sources: vec!["samples".into(), "testing".into()],
        events_per_action: 6,
        insert_events: 3,
        delete_events: 2,
        seed: 42,
        max_stream_size: 512,
    }
}

fn seeded() -> (Emulator, azul_dispatcher_emulator::corpus::CorpusSummary) {
    let emulator = Emulator::new(EmulatorConfig::new(["samples", "testing"]));
    let summary = seed(&emulator, &spec()).expect("seed");
    (emulator, summary)
}

#[test]
fn counts_match_the_spec() {
    let (emulator, summary) = seeded();
    assert_eq!(summary.count(Model::Binary), 2 * 5 * 6);
    assert_eq!(summary.count(Model::Insert), 3);
    assert_eq!(summary.count(Model::Delete), 2);
    assert_eq!(emulator.events(Model::Binary).len(), 60);
    assert_eq!(emulator.events(Model::Insert).len(), 3);
    assert_eq!(emulator.events(Model::Delete).len(), 2);
}

#[test]
fn binary_events_obey_the_datastream_rules() {
    let (emulator, _) = seeded();
    let mut per_topic: HashMap<(String, String), usize> = HashMap::new();
    for event in emulator.events(Model::Binary) {
        assert!(event.is_valid(), "{:?}", event.invalid);
        let action = event.action.clone().unwrap();
        let labels: BTreeSet<&str> = event.streams.iter().map(|s| s.label.as_str()).collect();
        let want: BTreeSet<&str> = match action.as_str() {
            "sourced" | "extracted" => ["content"].into(),
            "augmented" => ["content", "safe_png"].into(),
            "mapped" => ["report"].into(),
            "enriched" => [].into(),
            other => panic!("unexpected action {other}"),
        };
        assert_eq!(labels, want, "{action}");
        *per_topic
            .entry((event.source.unwrap(), action))
            .or_default() += 1;
    }
    assert_eq!(per_topic.len(), 10);
    assert!(per_topic.values().all(|n| *n == 6));
}

#[test]
fn streams_are_real_and_some_are_shared() {
    let (emulator, summary) = seeded();
    let mut references = 0;
    let mut referenced = BTreeSet::new();
    for event in emulator.events(Model::Binary) {
        for stream in event.streams {
            references += 1;
            let data = emulator
                .stream(&stream.source, &stream.label, &stream.sha256)
                .expect("every referenced stream is stored");
            assert_eq!(hex::encode(Sha256::digest(&data)), stream.sha256);
            assert!((1..=512).contains(&data.len()));
            referenced.insert(stream);
        }
    }
    assert_eq!(referenced, summary.streams);
    assert!(references > summary.streams.len(), "no stream is shared");
    let stored: BTreeSet<_> = emulator.stream_keys().into_iter().collect();
    assert_eq!(stored.len(), summary.streams.len());
    let bytes: u64 = summary
        .streams
        .iter()
        .map(|s| {
            emulator
                .stream(&s.source, &s.label, &s.sha256)
                .unwrap()
                .len() as u64
        })
        .sum();
    assert_eq!(bytes, summary.stream_bytes);
}

#[test]
fn keys_are_unique_and_timestamps_increase() {
    let (emulator, _) = seeded();
    let mut keys = HashSet::new();
    let mut last = i64::MIN;
    for model in [Model::Binary, Model::Insert, Model::Delete] {
        for event in emulator.events(model) {
            assert_eq!(event.kafka_key.len(), 32);
            assert!(event.kafka_key.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(keys.insert(event.kafka_key.clone()), "duplicate key");
            assert!(event.timestamp_micros > last, "timestamps must increase");
            last = event.timestamp_micros;
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_corpus() {
    let (a, summary_a) = seeded();
    let (b, summary_b) = seeded();
    assert_eq!(summary_a, summary_b);
    assert_eq!(a.events(Model::Binary), b.events(Model::Binary));
    let other = Emulator::new(EmulatorConfig::new(["samples", "testing"]));
    let summary_other = seed(&other, &CorpusSpec { seed: 7, ..spec() }).unwrap();
    assert_ne!(summary_a.streams, summary_other.streams);
}
