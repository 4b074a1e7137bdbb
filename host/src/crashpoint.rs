//! Named crash points for the crash-safety harness: with `AZUL_CRASH_AT=<point>@<n>` the
//! process kills itself with SIGKILL the `n`-th time execution passes `point` (`@1` when `n` is
//! left out). Without the variable a crash point is one atomic load.
//!
//! Points sit at the edges between durable steps, where a crash is most likely to lose or
//! duplicate work: see [`Point`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the crash point.
pub const ENV: &str = "AZUL_CRASH_AT";

/// Every crash point, in the order data passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Backup: a fetch was answered, its events are not yet spooled.
    FetchAnswered,
    /// Backup: events are appended to the spool and fsynced.
    SpoolSynced,
    /// Backup: a bundle is encoded, its upload not yet started.
    BundlePut,
    /// Backup: a bundle is stored, its spool not yet cleared.
    BundleStored,
    /// Backup: a spool was cleared after its bundle was stored.
    SpoolCleared,
    /// Backup: stream requests are journaled and fsynced.
    StreamJournaled,
    /// Backup: one part of a multipart upload is stored.
    MultipartPart,
    /// Backup: a stream is stored, its journal entry not yet marked done.
    StreamStored,
    /// Backup: a stream's journal entry is marked done.
    StreamDone,
    /// Restore: a stream was accepted by the dispatcher, before any checkpoint.
    StreamPosted,
    /// Restore: events are about to be posted.
    EventsPosting,
    /// Restore: a post of events was acknowledged, its checkpoint not yet written.
    EventsPosted,
    /// Backup and restore: a state file (a checkpoint) was replaced atomically.
    StateWritten,
}

impl Point {
    pub const ALL: [Point; 13] = [
        Point::FetchAnswered,
        Point::SpoolSynced,
        Point::BundlePut,
        Point::BundleStored,
        Point::SpoolCleared,
        Point::StreamJournaled,
        Point::MultipartPart,
        Point::StreamStored,
        Point::StreamDone,
        Point::StreamPosted,
        Point::EventsPosting,
        Point::EventsPosted,
        Point::StateWritten,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Point::FetchAnswered => "fetch-answered",
            Point::SpoolSynced => "spool-synced",
            Point::BundlePut => "bundle-put",
            Point::BundleStored => "bundle-stored",
            Point::SpoolCleared => "spool-cleared",
            Point::StreamJournaled => "stream-journaled",
            Point::MultipartPart => "multipart-part",
            Point::StreamStored => "stream-stored",
            Point::StreamDone => "stream-done",
            Point::StreamPosted => "stream-posted",
            Point::EventsPosting => "events-posting",
            Point::EventsPosted => "events-posted",
            Point::StateWritten => "state-written",
        }
    }
}

struct Armed {
    point: Point,
    at: u64,
    passed: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var(ENV).ok()?;
            let (name, at) = spec.split_once('@').unwrap_or((spec.as_str(), "1"));
            let Some(point) = Point::ALL.into_iter().find(|p| p.name() == name.trim()) else {
                eprintln!("{ENV}={spec:?} names no crash point; ignored");
                return None;
            };
            let at = at.trim().parse().unwrap_or(1);
            Some(Armed {
                point,
                at,
                passed: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Kills the process here if the harness asked for it.
pub fn reached(point: Point) {
    let Some(armed) = armed() else { return };
    if armed.point != point || armed.passed.fetch_add(1, Ordering::SeqCst) + 1 != armed.at {
        return;
    }
    eprintln!("crash point {}@{} reached: SIGKILL", point.name(), armed.at);
    // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

/// `result`, after [`reached`] when it is a success: the step it reports is done.
pub fn after_ok<T, E>(result: Result<T, E>, point: Point) -> Result<T, E> {
    if result.is_ok() {
        reached(point);
    }
    result
}
