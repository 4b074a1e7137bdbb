//! `event-batch`: events of one fetch, decoded and validated in the host.

use bytes::Bytes;
use wasmtime::component::Resource;

use super::HostState;
use crate::avro::{DecodedEvent, rfc3339_nano};
use crate::dispatcher::FetchInfo;
use crate::runtime::bindings::types::{self, EventMark, StreamRef, StreamRequest};

pub struct EventBatch {
    /// The bulk exactly as received (what the spool persists).
    pub raw: Bytes,
    pub events: Vec<DecodedEvent>,
    pub info: FetchInfo,
}

/// Timestamp and key of the last valid event, in order (the original's bundle naming).
pub fn last_valid(events: &[DecodedEvent]) -> Option<EventMark> {
    events
        .iter()
        .rev()
        .find(|e| e.is_valid())
        .map(|e| EventMark {
            timestamp: rfc3339_nano(e.timestamp_micros),
            kafka_key: e.kafka_key.clone(),
        })
}

/// One request per datastream of every valid binary event.
pub fn stream_requests(events: &[DecodedEvent]) -> Vec<StreamRequest> {
    events
        .iter()
        .flat_map(|e| {
            e.streams.iter().map(|s| StreamRequest {
                event_id: e.kafka_key.clone(),
                stream: StreamRef {
                    source: s.source.clone(),
                    label: s.label.clone(),
                    sha256: s.sha256.clone(),
                },
            })
        })
        .collect()
}

pub fn invalid_count(events: &[DecodedEvent]) -> u32 {
    events.iter().filter(|e| !e.is_valid()).count() as u32
}

impl types::HostEventBatch for HostState {
    async fn len(&mut self, this: Resource<EventBatch>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&this)?.events.len() as u32)
    }

    async fn invalid_count(&mut self, this: Resource<EventBatch>) -> wasmtime::Result<u32> {
        Ok(invalid_count(&self.table.get(&this)?.events))
    }

    async fn last_valid(
        &mut self,
        this: Resource<EventBatch>,
    ) -> wasmtime::Result<Option<EventMark>> {
        Ok(last_valid(&self.table.get(&this)?.events))
    }

    async fn stream_requests(
        &mut self,
        this: Resource<EventBatch>,
    ) -> wasmtime::Result<Vec<StreamRequest>> {
        Ok(stream_requests(&self.table.get(&this)?.events))
    }

    async fn info(&mut self, this: Resource<EventBatch>) -> wasmtime::Result<types::FetchInfo> {
        let i = &self.table.get(&this)?.info;
        Ok(types::FetchInfo {
            ready: i.ready,
            paused: i.paused,
            filtered: i.filtered,
            fetched: i.fetched,
        })
    }

    async fn drop(&mut self, this: Resource<EventBatch>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl types::Host for HostState {}
