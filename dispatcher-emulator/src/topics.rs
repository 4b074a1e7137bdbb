//! Append-only topic logs standing in for Kafka: one partition per topic, topics created up
//! front for every configured source (as the dispatcher does at startup).

use std::{collections::BTreeMap, sync::Arc};

use azul_backup::avro::{CodecError, Model};

use crate::{
    facts::EventFacts,
    produce::{Prepared, Route},
};

/// Binary actions, in the dispatcher's order.
pub const ACTIONS: [&str; 5] = ["sourced", "extracted", "augmented", "mapped", "enriched"];

/// `system.*` topics created at startup (`settings/default_topics.go`).
const SYSTEM_TOPICS: [&str; 10] = [
    "insert",
    "delete",
    "expedite",
    "error",
    "plugin",
    "status",
    "download",
    "retrohunt",
    "report",
    "scrape",
];

/// Why an event could not be appended to a topic.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The dispatcher's `BadPartitionSelection`.
    #[error("missing mandatory source or event fields")]
    MissingSourceOrAction,
    /// The in-memory provider's answer for a topic it was not configured with.
    #[error("bad push with unregistered topic '{0}' partition '0'")]
    UnregisteredTopic(String),
    /// Kafka's `message_max_bytes`, checked after the produce pipeline.
    #[error("message too large for kafka: {size} vs {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// One event held in a topic; `seq` orders events across topics by publish time.
#[derive(Debug)]
pub struct StoredEvent {
    pub seq: u64,
    pub model: Model,
    /// The v6 datum as published (key and tracking ids rewritten).
    pub raw: Vec<u8>,
    pub facts: EventFacts,
}

#[derive(Debug)]
pub struct TopicLogs {
    prefix: String,
    sources: Vec<String>,
    logs: BTreeMap<String, Vec<Arc<StoredEvent>>>,
    next_seq: u64,
}

impl TopicLogs {
    pub fn new(prefix: &str, sources: &[String]) -> Self {
        let mut topics = TopicLogs {
            prefix: prefix.to_string(),
            sources: sources.to_vec(),
            logs: BTreeMap::new(),
            next_seq: 0,
        };
        for source in sources {
            for action in ACTIONS {
                let name = topics.binary_topic(source, action);
                topics.logs.insert(name, Vec::new());
            }
        }
        for name in SYSTEM_TOPICS {
            let name = topics.system_topic(name);
            topics.logs.insert(name, Vec::new());
        }
        topics
    }

    pub fn binary_topic(&self, source: &str, action: &str) -> String {
        format!("azul.{}.{source}.binary.{action}", self.prefix)
    }

    pub fn system_topic(&self, name: &str) -> String {
        format!("azul.{}.system.{name}", self.prefix)
    }

    fn topic_of(&self, route: &Route) -> String {
        match route {
            Route::System(name) => self.system_topic(name),
            Route::Binary { source, action } => self.binary_topic(source, action),
        }
    }

    /// Append one prepared event to its topic; the in-memory provider refuses topics that
    /// were not created at startup.
    pub fn append(&mut self, model: Model, event: Prepared) -> Result<(), PublishError> {
        let topic = self.topic_of(&event.route);
        let log = self
            .logs
            .get_mut(&topic)
            .ok_or(PublishError::UnregisteredTopic(topic))?;
        log.push(Arc::new(StoredEvent {
            seq: self.next_seq,
            model,
            raw: event.raw,
            facts: event.facts,
        }));
        self.next_seq += 1;
        Ok(())
    }

    pub fn len(&self, topic: &str) -> usize {
        self.logs.get(topic).map_or(0, Vec::len)
    }

    pub fn get(&self, topic: &str, offset: usize) -> Option<&Arc<StoredEvent>> {
        self.logs.get(topic)?.get(offset)
    }

    /// Binary topics matching a consumer's source and action selections (empty = all).
    pub fn binary_topics(&self, sources: &[String], actions: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for source in &self.sources {
            if !sources.is_empty() && !sources.contains(source) {
                continue;
            }
            for action in ACTIONS {
                if actions.is_empty() || actions.iter().any(|a| a == action) {
                    out.push(self.binary_topic(source, action));
                }
            }
        }
        out
    }

    /// Every event of `model`, across all topics, in publish order.
    pub fn events(&self, model: Model) -> Vec<Arc<StoredEvent>> {
        let mut held: Vec<&Arc<StoredEvent>> = self
            .logs
            .values()
            .flatten()
            .filter(|e| e.model == model)
            .collect();
        held.sort_by_key(|e| e.seq);
        held.into_iter().cloned().collect()
    }

    /// Events held per topic, every topic included.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.logs
            .iter()
            .map(|(name, log)| (name.clone(), log.len()))
            .collect()
    }
}
