//! Everything one run (a backup or a restore) shares across its workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::capabilities::{
    journal::JournalRegistry, metrics::Stats, queues::QueueRegistry, statedir::StateDir,
};
use crate::dispatcher::DispatcherClient;
use crate::objectstore::ObjectStore;
use crate::runtime::LoadedComponent;

/// Stop requests: the first signal (or a policy's `request-stop`) asks for a graceful stop,
/// the second signal for a fast one (still lossless: pending work goes to the state directory).
/// A hot swap drains the running component the same graceful way, without stopping the run.
#[derive(Debug, Default)]
pub struct Shutdown {
    level: AtomicU8,
    /// The running component is being drained for a swap.
    draining: AtomicBool,
    /// Why the run was stopped by its own policy; such a run exits non-zero.
    failure: std::sync::Mutex<Option<String>>,
}

impl Shutdown {
    /// A graceful stop because of a failure; the first reason is kept.
    pub fn fail(&self, reason: &str) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert_with(|| reason.to_string());
        let _ = self
            .level
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Record one more stop request; returns how many there have been.
    pub fn request(&self) -> u8 {
        self.level.fetch_add(1, Ordering::SeqCst).saturating_add(1)
    }

    /// What the guests see: a stop of the run, or the drain before a swap.
    pub fn requested(&self) -> bool {
        self.stop_requested() || self.draining.load(Ordering::SeqCst)
    }

    /// The run itself is to stop (a signal or a failure), not just its component.
    pub fn stop_requested(&self) -> bool {
        self.level.load(Ordering::SeqCst) >= 1
    }

    /// Ask the running component to finish as for a stop, so that another can take over.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn end_drain(&self) {
        self.draining.store(false, Ordering::SeqCst);
    }

    pub fn rapid(&self) -> bool {
        self.level.load(Ordering::SeqCst) >= 2
    }
}

/// Sandbox limits for every Store of the run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: usize,
    /// A worker that runs this long without calling the host is stopped as hung: every
    /// policy loop waits on the host (a fetch, a queue), so only a broken guest spins.
    pub busy_limit: Duration,
    /// Times one worker is started again after a trap before the run is stopped.
    pub restart_budget: u32,
}

impl Limits {
    pub fn for_settings(settings: &crate::settings::Settings) -> Self {
        Limits {
            busy_limit: Duration::from_secs(settings.guest_busy_limit_secs.max(1)),
            restart_budget: settings.worker_restart_budget,
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            busy_limit: Duration::from_secs(60),
            restart_budget: 3,
        }
    }
}

pub struct RunContext {
    /// `backup` or `restore`, for logs.
    pub component_name: &'static str,
    pub component: Arc<LoadedComponent>,
    pub dispatcher: DispatcherClient,
    pub events_store: Arc<dyn ObjectStore>,
    pub streams_store: Arc<dyn ObjectStore>,
    pub statedir: StateDir,
    pub queues: QueueRegistry,
    pub journals: JournalRegistry,
    pub stats: Stats,
    pub shutdown: Arc<Shutdown>,
    pub limits: Limits,
    /// Refuse a downloaded stream whose content does not hash to its sha256 (on by default;
    /// off only to back up a dispatcher that serves placeholder content, e.g. a test emulator).
    pub verify_stream_sha256: bool,
    pub started: Instant,
}

impl RunContext {
    /// A context for another instance of the run's logic — the next component after a swap,
    /// or a throw-away probe — sharing stores, state and stop requests, with fresh queues
    /// and journals (the previous component drained and closed its own).
    pub fn successor(&self, component: Arc<LoadedComponent>, stats: Stats) -> RunContext {
        RunContext {
            component_name: self.component_name,
            component,
            dispatcher: self.dispatcher.clone(),
            events_store: self.events_store.clone(),
            streams_store: self.streams_store.clone(),
            statedir: self.statedir.clone(),
            queues: Default::default(),
            journals: Default::default(),
            stats,
            shutdown: self.shutdown.clone(),
            limits: self.limits,
            verify_stream_sha256: self.verify_stream_sha256,
            started: self.started,
        }
    }
}
