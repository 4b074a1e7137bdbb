//! The dispatcher emulator as the tests use it: served on an ephemeral port, and asked which
//! events it holds and how far each backup consumer has been handed them (the dispatcher
//! commits a consumer's offset when it answers a fetch).

use std::collections::BTreeMap;

use azul_backup::avro::{DecodedEvent, Model};
use azul_dispatcher_emulator::{Emulator, Running};

/// The dispatcher identity version backup consumers use (`RECOVERY_VERSION`).
pub const CONSUMER_VERSION: &str = "3.0.0";

pub async fn serve(emulator: &Emulator) -> Running {
    emulator
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve the emulator")
}

/// `backup-events-<source>-<action|model>-<backup id>`, the original's consumer names.
pub fn consumer_name(source: &str, kind: &str, backup_id: &str) -> String {
    format!("backup-events-{source}-{kind}-{backup_id}")
}

/// Consumer groups as `(consumer name, version, rest)`. The emulator names a group
/// `azul-<name>-<version>-<model>[-<sources>-<actions>]-<flow>-<subscription>`.
pub fn consumer_groups(emulator: &Emulator) -> Vec<(String, String, String)> {
    let version = format!("-{CONSUMER_VERSION}-");
    emulator
        .stats()
        .consumer_groups
        .keys()
        .filter_map(|group| {
            let (name, rest) = group.strip_prefix("azul-")?.split_once(&version)?;
            Some((
                name.to_string(),
                CONSUMER_VERSION.to_string(),
                rest.to_string(),
            ))
        })
        .collect()
}

/// Offsets committed for the consumers of `backup_id`: consumer name → topic → next offset.
pub fn committed(
    emulator: &Emulator,
    backup_id: &str,
) -> BTreeMap<String, BTreeMap<String, usize>> {
    let suffix = format!("-{backup_id}-{CONSUMER_VERSION}-");
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (group, topics) in emulator.stats().consumer_groups {
        let Some(at) = group.find(&suffix) else {
            continue;
        };
        let consumer = group["azul-".len()..at + 1 + backup_id.len()].to_string();
        out.entry(consumer).or_default().extend(topics);
    }
    out
}

/// An event the emulator holds for one of the backup's consumers, with where it sits.
#[derive(Debug, Clone)]
pub struct HeldEvent {
    pub model: Model,
    pub consumer: String,
    pub topic: String,
    /// Offset within the topic (events are published in topic order).
    pub position: usize,
    pub event: DecodedEvent,
}

/// Every event the consumers of `backup_id` read: binary events of `sources`, and every
/// system insert and delete.
pub fn held_events(emulator: &Emulator, backup_id: &str, sources: &[&str]) -> Vec<HeldEvent> {
    let prefix = &emulator.config().topic_prefix;
    let mut next_position: BTreeMap<String, usize> = BTreeMap::new();
    let mut held = Vec::new();
    for model in [Model::Binary, Model::Insert, Model::Delete] {
        for event in emulator.events(model) {
            let (consumer, topic) = match model {
                Model::Binary => {
                    let source = event.source.clone().unwrap_or_default();
                    let action = event.action.clone().unwrap_or_default();
                    if !sources.contains(&source.as_str()) {
                        continue;
                    }
                    (
                        consumer_name(&source, &action, backup_id),
                        format!("azul.{prefix}.{source}.binary.{action}"),
                    )
                }
                system => (
                    consumer_name("system", system.as_str(), backup_id),
                    format!("azul.{prefix}.system.{system}"),
                ),
            };
            let position = next_position.entry(topic.clone()).or_default();
            held.push(HeldEvent {
                model,
                consumer,
                topic,
                position: *position,
                event,
            });
            *position += 1;
        }
    }
    held
}

/// kafka_keys of `held` events that are in no bundle (`counts`: key → bundles holding it).
pub fn unbundled<'a>(held: &'a [HeldEvent], counts: &BTreeMap<String, usize>) -> Vec<&'a str> {
    held.iter()
        .map(|h| h.event.kafka_key.as_str())
        .filter(|k| !counts.contains_key(*k))
        .collect()
}

/// Whether the emulator has handed every held event out to its consumer.
pub fn all_handed_out(emulator: &Emulator, backup_id: &str, sources: &[&str]) -> bool {
    let committed = committed(emulator, backup_id);
    held_events(emulator, backup_id, sources).iter().all(|h| {
        committed
            .get(&h.consumer)
            .and_then(|topics| topics.get(&h.topic))
            .is_some_and(|offset| *offset > h.position)
    })
}

/// Delete events get a random key on every publish: their content without the key, sorted.
pub fn deletes_without_keys(emulator: &Emulator) -> Vec<String> {
    let mut events: Vec<String> = emulator
        .raw_events(Model::Delete)
        .iter()
        .map(|raw| {
            let mut json = azul_backup::avro::to_json(Model::Delete, raw)
                .expect("delete event renders as JSON");
            json.as_object_mut()
                .expect("an event is an object")
                .remove("kafka_key");
            json.to_string()
        })
        .collect();
    events.sort();
    events
}
