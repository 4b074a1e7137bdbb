//! What the backup holds, read straight from its buckets: the events a restore with these
//! settings posts (system insert and delete, then each configured source's binary events)
//! and the streams of the configured sources.

use std::path::Path;

use anyhow::{Context, Result};

use super::compare::{Expected, Multiset};
use super::deletes::Deletions;
use crate::avro::{DecodedEvent, Model, to_json};
use crate::capabilities::check::read_bundle;
use crate::objectstore::ObjectStore;

use crate::avro::BINARY_ACTIONS;
const PAGE: u32 = 1000;

/// Every key under `prefix`.
async fn keys(store: &dyn ObjectStore, prefix: &str) -> Result<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    loop {
        let page = store
            .list(prefix, keys.last().map(String::as_str), PAGE)
            .await
            .with_context(|| format!("listing {prefix:?} of {}", store.describe()))?;
        if page.is_empty() {
            return Ok(keys);
        }
        keys.extend(page.into_iter().map(|o| o.key));
    }
}

/// A delete event as the drill compares it: its JSON without the (random) kafka_key.
pub fn delete_content(raw: &[u8]) -> String {
    match to_json(Model::Delete, raw) {
        Ok(mut json) => {
            if let Some(object) = json.as_object_mut() {
                object.remove("kafka_key");
            }
            json.to_string()
        }
        Err(e) => format!("<unrenderable delete event: {e}>"),
    }
}

fn add(set: &mut Multiset, key: String) {
    *set.entry(key).or_default() += 1;
}

/// `<source>/<label>/<sha256>` of a stream object, without the legacy `.aesc1` suffix.
pub fn stream_key(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let [source, label, id] = parts[..] else {
        return None;
    };
    let sha256 = id.split('.').next().unwrap_or_default();
    (!source.is_empty() && !label.is_empty() && !sha256.is_empty())
        .then(|| format!("{source}/{label}/{sha256}"))
}

impl Expected {
    fn event(&mut self, model: Model, event: DecodedEvent, deletions: &mut Deletions) {
        if !event.is_valid() {
            self.invalid += 1;
            return;
        }
        let holds = &mut self.holds;
        match model {
            Model::Binary => {
                let buried = !deletions.is_empty()
                    && to_json(Model::Binary, &event.raw).is_ok_and(|j| deletions.buries(&j));
                match buried {
                    true => self.buried += 1,
                    false => add(&mut holds.binary, event.kafka_key),
                }
            }
            Model::Insert => add(&mut holds.inserts, event.kafka_key),
            Model::Delete => {
                if let Ok(json) = to_json(Model::Delete, &event.raw) {
                    deletions.register(&json);
                }
                add(&mut holds.deletes, delete_content(&event.raw));
            }
            _ => {}
        }
    }
}

pub async fn read(
    events: &dyn ObjectStore,
    streams: &dyn ObjectStore,
    sources: &[String],
    tmp: &Path,
) -> Result<Expected> {
    let mut expected = Expected::default();
    let mut deletions = Deletions::default();
    // Deletes first, as restore posts them: they decide which binary events are dropped.
    let mut prefixes: Vec<String> = vec![
        "system/delete/default/".into(),
        "system/insert/default/".into(),
    ];
    for source in sources {
        prefixes.extend(BINARY_ACTIONS.map(|a| format!("{source}/binary/{a}/")));
    }
    let mut in_scope = 0;
    for prefix in &prefixes {
        for key in keys(events, prefix).await? {
            // Restore posts `<prefix><name>` only.
            if key[prefix.len()..].contains('/') {
                continue;
            }
            in_scope += 1;
            match read_bundle(events, &key, tmp).await {
                Ok((model, bundle)) => {
                    expected.bundles += 1;
                    for event in bundle {
                        expected.event(model, event, &mut deletions);
                    }
                }
                Err(e) => expected.unreadable.push((key, e.to_string())),
            }
        }
    }
    expected.outside = keys(events, "").await?.len().saturating_sub(in_scope);
    for source in sources {
        for key in keys(streams, &format!("{source}/")).await? {
            expected.holds.streams.extend(stream_key(&key));
        }
    }
    Ok(expected)
}

#[cfg(test)]
mod tests {
    use super::stream_key;

    #[test]
    fn stream_objects_are_keyed_without_the_legacy_suffix() {
        assert_eq!(stream_key("s/content/ab").as_deref(), Some("s/content/ab"));
        assert_eq!(
            stream_key("s/content/ab.aesc1").as_deref(),
            Some("s/content/ab")
        );
        assert_eq!(stream_key("s/ab"), None);
        assert_eq!(stream_key("s/x/content/ab"), None);
    }
}
