//! The emulator's shared state, and the seeding and inspection API tests use (GETs are in
//! `fetch`, statistics in `inspect`).

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use azul_backup::avro::{CodecError, DecodedEvent, Model, describe_raw, to_json};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::{
    EmulatorConfig,
    consumers::ConsumerGroups,
    faults::{FaultError, FaultRule, FaultSet},
    graveyard::Graveyard,
    inspect::StreamInfo,
    produce::{self, Ageoff, InFlight, Prepared},
    streams::{StreamKey, StreamStore},
    topics::{PublishError, StoredEvent, TopicLogs},
};

/// The dispatcher only records a pause once a minute.
const PAUSE_UPDATE_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) struct EventState {
    pub topics: TopicLogs,
    pub groups: ConsumerGroups,
    pub last_pause: Option<SystemTime>,
    /// Deletions of every held delete event; shared copy-on-write with running POSTs.
    pub graveyard: Arc<Graveyard>,
}

pub(crate) struct Inner {
    pub config: EmulatorConfig,
    pub events: Mutex<EventState>,
    pub streams: Mutex<StreamStore>,
    pub faults: Mutex<FaultSet>,
    /// Woken whenever events are appended, so waiting GETs re-check their logs.
    pub appended: Notify,
}

/// An in-memory Azul dispatcher. Cloning is cheap and shares the state.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the maps half-updated in a way that matters
    // to readers, so keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        let topics = TopicLogs::new(&config.topic_prefix, &config.sources);
        Emulator {
            inner: Arc::new(Inner {
                config,
                events: Mutex::new(EventState {
                    topics,
                    groups: ConsumerGroups::default(),
                    last_pause: None,
                    graveyard: Arc::default(),
                }),
                streams: Mutex::new(StreamStore::default()),
                faults: Mutex::new(FaultSet::default()),
                appended: Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Publish raw v6 event datums of `model` through the dispatcher's produce pipeline (new
    /// `kafka_key`, tracking ids, topic choice), as a POST would, minus validation and ageoff:
    /// seeded history is taken as valid and as having been published while it was fresh.
    ///
    /// Nothing is published if a datum does not decode. Otherwise every event that can be is
    /// published, and the first failure, if any, is returned; `Ok` holds how many were.
    pub fn publish<R: AsRef<[u8]>>(
        &self,
        model: Model,
        raws: impl IntoIterator<Item = R>,
    ) -> Result<usize, PublishError> {
        let events = raws
            .into_iter()
            .map(|raw| InFlight::from_raw(model, raw.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        self.publish_in_flight(model, events)
    }

    /// The produce pipeline without ageoff, for seeding.
    pub(crate) fn publish_in_flight(
        &self,
        model: Model,
        events: Vec<InFlight>,
    ) -> Result<usize, PublishError> {
        let transformed = produce::transform(model, events, &Ageoff::new(), &self.graveyard());
        let (ready, mut failures) = produce::prepare(model, transformed.events);
        let attempted = ready.len();
        failures.extend(self.append(model, ready));
        failures.sort_by_key(|(index, _)| *index);
        match failures.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(attempted),
        }
    }

    /// Append prepared events to their topics, returning the failures with their positions.
    /// Every event that has a registered topic is appended, as the dispatcher's producer does.
    pub(crate) fn append(&self, model: Model, events: Vec<Prepared>) -> Vec<(usize, PublishError)> {
        let mut failures = Vec::new();
        {
            let mut state = lock(&self.inner.events);
            for mut event in events {
                let index = event.index;
                let deletion = event.deletion.take();
                match state.topics.append(model, event) {
                    Ok(()) => {
                        if let Some(deletion) = deletion {
                            Arc::make_mut(&mut state.graveyard).register(deletion);
                        }
                    }
                    Err(e) => failures.push((index, e)),
                }
            }
        }
        self.inner.appended.notify_waiters();
        failures
    }

    /// The deletions known now, for a produce pipeline run.
    pub(crate) fn graveyard(&self) -> Arc<Graveyard> {
        Arc::clone(&lock(&self.inner.events).graveyard)
    }

    /// Store a stream's bytes under `(source, label, sha256)`; returns the sha256 hex.
    pub fn put_stream(&self, source: &str, label: &str, data: impl Into<Bytes>) -> String {
        let data = data.into();
        let sha256 = hex::encode(Sha256::digest(&data));
        self.insert_stream(source, label, &sha256, data);
        sha256
    }

    /// Store a stream under a sha256 the caller already has (or claims).
    pub(crate) fn insert_stream(&self, source: &str, label: &str, sha256: &str, data: Bytes) {
        lock(&self.inner.streams).insert(source, label, sha256, data);
    }

    fn held(&self, model: Model) -> Vec<Arc<StoredEvent>> {
        lock(&self.inner.events).topics.events(model)
    }

    /// Every event held for `model`, across all its topics, in publish order.
    pub fn events(&self, model: Model) -> Vec<DecodedEvent> {
        self.held(model)
            .iter()
            .map(|e| describe_raw(model, &e.raw).expect("held events were encoded by the emulator"))
            .collect()
    }

    /// Every event held for `model`, in publish order, as the dispatcher's JSON.
    pub fn events_json(&self, model: Model) -> Result<Vec<serde_json::Value>, CodecError> {
        self.held(model)
            .iter()
            .map(|e| to_json(model, &e.raw))
            .collect()
    }

    /// The raw v6 datums held for `model`, in publish order.
    pub fn raw_events(&self, model: Model) -> Vec<Vec<u8>> {
        self.held(model).iter().map(|e| e.raw.clone()).collect()
    }

    /// A stored stream, looked up as the GET route does (legacy root key included).
    pub fn stream(&self, source: &str, label: &str, sha256: &str) -> Option<Bytes> {
        lock(&self.inner.streams).find(source, label, sha256)
    }

    /// `(source, label, sha256)` of every stored stream, sorted.
    pub fn stream_keys(&self) -> Vec<StreamKey> {
        lock(&self.inner.streams).keys()
    }

    /// Every stored stream with its size, sorted.
    pub fn streams(&self) -> Vec<StreamInfo> {
        lock(&self.inner.streams).infos()
    }

    /// When a POST last asked to pause plugins (recorded at most once a minute).
    pub fn last_pause_time(&self) -> Option<SystemTime> {
        lock(&self.inner.events).last_pause
    }

    pub(crate) fn record_pause(&self) {
        let mut state = lock(&self.inner.events);
        let now = SystemTime::now();
        let due = state.last_pause.is_none_or(|last| {
            now.duration_since(last)
                .map_or(true, |since| since > PAUSE_UPDATE_INTERVAL)
        });
        if due {
            state.last_pause = Some(now);
        }
    }

    /// Add a fault rule; it applies to requests from now on.
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultError> {
        lock(&self.inner.faults).add(rule)
    }

    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// The fault rules still active, with their remaining counts.
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.inner.faults).rules()
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<FaultRule> {
        lock(&self.inner.faults).take(method, path)
    }
}
