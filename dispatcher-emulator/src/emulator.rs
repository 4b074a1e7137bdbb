//! The emulator's shared state, the seeding and inspection API tests use, and serving it.

use std::{
    future::pending,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};

use azul_backup::avro::{DecodedEvent, Model, describe_raw};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::{
    net::TcpListener,
    sync::{Notify, watch},
    task::JoinHandle,
    time::{Instant, sleep_until},
};

use crate::{
    consumers::{ConsumerGroups, Pulled},
    params::ConsumeParams,
    routes,
    streams::{StreamKey, StreamStore},
    topics::{PublishError, TopicLogs},
};

/// How the emulated dispatcher is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Sources whose binary topics exist (`<source>.binary.<action>`); others are unregistered.
    pub sources: Vec<String>,
    /// Answer a GET as soon as the consumer's logs are exhausted instead of waiting for the
    /// deadline. The real dispatcher waits; this keeps tests fast.
    pub early_return: bool,
    /// Reproduce the dispatcher's quirk of silently truncating an avro POST at its first
    /// invalid event. When off, invalid events are reported in `failures` and skipped.
    pub truncate_at_invalid: bool,
    /// Kafka topic prefix (`DP__EVENTS__KAFKA__TOPIC_PREFIX`); it shows in error details.
    pub topic_prefix: String,
}

impl EmulatorConfig {
    pub fn new<S: Into<String>>(sources: impl IntoIterator<Item = S>) -> Self {
        EmulatorConfig {
            sources: sources.into_iter().map(Into::into).collect(),
            early_return: false,
            truncate_at_invalid: true,
            topic_prefix: "test01".into(),
        }
    }

    pub fn early_return(mut self, early_return: bool) -> Self {
        self.early_return = early_return;
        self
    }
}

impl Default for EmulatorConfig {
    /// The two sources of the dispatcher's own test harness.
    fn default() -> Self {
        EmulatorConfig::new(["testing", "samples"])
    }
}

/// The dispatcher only records a pause once a minute.
const PAUSE_UPDATE_INTERVAL: Duration = Duration::from_secs(60);

struct EventState {
    topics: TopicLogs,
    groups: ConsumerGroups,
    last_pause: Option<SystemTime>,
}

struct Inner {
    config: EmulatorConfig,
    events: Mutex<EventState>,
    streams: Mutex<StreamStore>,
    /// Woken whenever events are appended, so waiting GETs re-check their logs.
    appended: Notify,
}

/// An in-memory Azul dispatcher. Cloning is cheap and shares the state.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the maps half-updated in a way that matters
    // to readers, so keep serving.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
                }),
                streams: Mutex::new(StreamStore::default()),
                appended: Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Append raw v6 event datums of `model` to their topics; returns how many were added.
    /// Nothing is appended if a datum does not decode; otherwise every event with a registered
    /// topic is appended and the first failure, if any, is returned.
    pub fn publish<R: AsRef<[u8]>>(
        &self,
        model: Model,
        raws: impl IntoIterator<Item = R>,
    ) -> Result<usize, PublishError> {
        let decoded = raws
            .into_iter()
            .map(|raw| describe_raw(model, raw.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let count = decoded.len();
        match self.append(model, decoded).into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(count),
        }
    }

    /// Append decoded events, returning the failures with their positions. Every event that
    /// has a registered topic is appended, as the dispatcher's producer does.
    pub(crate) fn append(
        &self,
        model: Model,
        events: impl IntoIterator<Item = DecodedEvent>,
    ) -> Vec<(usize, PublishError)> {
        let mut failures = Vec::new();
        {
            let mut state = lock(&self.inner.events);
            for (index, event) in events.into_iter().enumerate() {
                if let Err(e) = state.topics.append(model, event) {
                    failures.push((index, e));
                }
            }
        }
        self.inner.appended.notify_waiters();
        failures
    }

    /// Store a stream's bytes under `(source, label, sha256)`; returns the sha256 hex.
    pub fn put_stream(&self, source: &str, label: &str, data: impl Into<Bytes>) -> String {
        let data = data.into();
        let sha256 = hex::encode(Sha256::digest(&data));
        self.insert_stream(source, label, &sha256, data);
        sha256
    }

    /// Store a stream under a sha256 the caller already has.
    pub(crate) fn insert_stream(&self, source: &str, label: &str, sha256: &str, data: Bytes) {
        lock(&self.inner.streams).insert(source, label, sha256, data);
    }

    /// Every event held for `model`, across all its topics, in publish order.
    pub fn events(&self, model: Model) -> Vec<DecodedEvent> {
        lock(&self.inner.events).topics.events(model)
    }

    /// A stored stream, looked up as the GET route does (legacy root key included).
    pub fn stream(&self, source: &str, label: &str, sha256: &str) -> Option<Bytes> {
        lock(&self.inner.streams).find(source, label, sha256)
    }

    /// `(source, label, sha256)` of every stored stream, sorted.
    pub fn stream_keys(&self) -> Vec<StreamKey> {
        lock(&self.inner.streams).keys()
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

    /// Pull events for a consumer, waiting (without polling) until `count` events were handed
    /// out, the deadline passed, the logs ran dry with `early_return`, or the server stops.
    pub(crate) async fn fetch(
        &self,
        p: &ConsumeParams,
        mut stopping: watch::Receiver<bool>,
    ) -> Pulled {
        let deadline = u64::try_from(p.deadline)
            .ok()
            .filter(|secs| *secs > 0)
            .and_then(|secs| Instant::now().checked_add(Duration::from_secs(secs)));
        if p.reset {
            let state = &mut *lock(&self.inner.events);
            state.groups.reset(p, &state.topics);
        }
        let mut pulled = Pulled::default();
        loop {
            // Registered before looking, so an append between the look and the wait still wakes us.
            let appended = self.inner.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            {
                let state = &mut *lock(&self.inner.events);
                state.groups.pull(p, &state.topics, &mut pulled);
            }
            let done = pulled.events.len() >= p.count
                || self.inner.config.early_return
                || *stopping.borrow()
                || deadline.is_some_and(|d| Instant::now() >= d);
            if done {
                return pulled;
            }
            let until_deadline = async {
                match deadline {
                    Some(d) => sleep_until(d).await,
                    None => pending().await,
                }
            };
            tokio::select! {
                _ = &mut appended => {}
                _ = until_deadline => {}
                _ = stopping.changed() => return pulled,
            }
        }
    }

    /// Serve the dispatcher's HTTP API on `addr` (port 0 picks a free port).
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<Running> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopping) = watch::channel(false);
        let router = routes::router(self.clone(), stopping.clone());
        let mut stopped = stopping;
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        });
        Ok(Running {
            base_url: format!("http://{local_addr}"),
            local_addr,
            stop,
            task: Some(task),
        })
    }
}

/// A serving emulator; the server stops when this is dropped or shut down.
pub struct Running {
    /// e.g. `http://127.0.0.1:8111`, with no trailing slash.
    pub base_url: String,
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stop accepting requests, answer waiting GETs with what they have, and wait for the end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.send_replace(true);
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
