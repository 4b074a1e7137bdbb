//! What tests can read back about the emulator's state (`/emulator/v1/...` and the library).

use std::{collections::BTreeMap, time::UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{Emulator, emulator::lock, gotime};

/// A stored stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamInfo {
    pub source: String,
    pub label: String,
    pub sha256: String,
    pub size: u64,
}

/// Counters of the emulated Kafka and the pause switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Events held per topic (every topic created at startup is listed).
    pub topics: BTreeMap<String, usize>,
    /// Committed offsets: consumer group → topic → next offset.
    pub consumer_groups: BTreeMap<String, BTreeMap<String, usize>>,
    /// When a POST last asked to pause plugins, RFC 3339 UTC; `null` if never.
    pub last_pause: Option<String>,
    pub streams: usize,
    pub stream_bytes: u64,
    /// Fault rules still active.
    pub faults: usize,
}

impl Emulator {
    /// Topic sizes, consumer offsets, the pause time and stream totals.
    pub fn stats(&self) -> Stats {
        let (topics, consumer_groups, last_pause) = {
            let state = lock(&self.inner.events);
            (
                state.topics.counts(),
                state.groups.offsets(),
                state.last_pause,
            )
        };
        let streams = self.streams();
        Stats {
            topics,
            consumer_groups,
            last_pause: last_pause.map(|t| {
                let micros = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
                gotime::rfc3339(micros as i64)
            }),
            stream_bytes: streams.iter().map(|s| s.size).sum(),
            streams: streams.len(),
            faults: lock(&self.inner.faults).rules().len(),
        }
    }
}
