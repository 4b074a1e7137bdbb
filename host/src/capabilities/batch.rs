//! `event-batch`: events of one fetch, decoded and validated in the host.

use bytes::Bytes;
use wasmtime::component::Resource;

use super::HostState;
use crate::avro::{DecodedEvent, rfc3339_nano};
use crate::dispatcher::FetchInfo;
use crate::keys::{validate_segment, validate_stream};
use crate::metrics::Stats;
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

/// One request per datastream of every valid binary event. A datastream whose address could
/// escape its key (`..`, separators, control characters, an overlong name, a sha256 that is not
/// 64 hex digits) is not requested: it is logged and counted under the object-error keyword
/// `StreamRefInvalid`. Its event is still backed up as it is.
pub fn stream_requests(events: &[DecodedEvent], stats: &Stats) -> Vec<StreamRequest> {
    let mut requests = Vec::new();
    for e in events {
        for s in &e.streams {
            if let Err(refused) = validate_stream(&s.source, &s.label, &s.sha256) {
                tracing::warn!(event = %e.kafka_key, "datastream not backed up: {refused}");
                stats.object_error("StreamRefInvalid");
                continue;
            }
            // The id only labels the request line `<event>/<source>/<label>/<sha256>`.
            let event_id = match validate_segment(&e.kafka_key) {
                Ok(()) => e.kafka_key.clone(),
                Err(_) => UNNAMED_EVENT.to_string(),
            };
            requests.push(StreamRequest {
                event_id,
                stream: StreamRef {
                    source: s.source.clone(),
                    label: s.label.clone(),
                    sha256: s.sha256.clone(),
                },
            });
        }
    }
    requests
}

/// Stands for an event whose kafka key could not be written into a request line.
const UNNAMED_EVENT: &str = "unnamed-event";

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
        Ok(stream_requests(
            &self.table.get(&this)?.events,
            &self.run.stats,
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::StreamRef as Datastream;

    fn event(key: &str, streams: &[(&str, &str, &str)]) -> DecodedEvent {
        DecodedEvent {
            raw: Vec::new(),
            kafka_key: key.into(),
            timestamp_micros: 0,
            source: None,
            action: None,
            streams: streams
                .iter()
                .map(|(source, label, sha256)| Datastream {
                    source: source.to_string(),
                    label: label.to_string(),
                    sha256: sha256.to_string(),
                })
                .collect(),
            invalid: None,
            author_name: String::new(),
            expedite: false,
            retry: false,
            path_len: 0,
            content_size: None,
            stream_formats: Vec::new(),
        }
    }

    #[test]
    fn hostile_datastreams_are_counted_not_requested() {
        let sha = "0f".repeat(32);
        let long = "l".repeat(10_000);
        let events = [
            event(
                "k1",
                &[("testing", "content", &sha), ("..", "content", &sha)],
            ),
            event(
                "k/2\n",
                &[
                    ("testing", "content", &sha),
                    ("testing", "../../x", &sha),
                    ("testing", "content", "../../../../etc/passwd"),
                    ("a\0b", "content", &sha),
                    (&long, "content", &sha),
                    ("testing", "content", &"zz".repeat(32)),
                ],
            ),
        ];
        let stats = Stats::default();
        let requests = stream_requests(&events, &stats);
        let ids: Vec<&str> = requests.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(ids, ["k1", UNNAMED_EVENT]);
        assert!(requests.iter().all(|r| r.stream.source == "testing"));
        assert_eq!(stats.get("", "object-error:StreamRefInvalid"), 6);
    }
}
