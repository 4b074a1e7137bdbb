//! Uploads to the dispatcher from store bodies: streams, event bulks, and event bulks one
//! event at a time after the dispatcher silently accepted only the start of a bulk.

use std::path::PathBuf;

use wasmtime::component::Resource;

use super::body::Body;
use super::dispatcher::{dispatcher_error, parse_model, stream_ref};
use super::{HostState, wit_error};
use crate::avro::{Model, count_bulk, decode_bulk, encode_bulk_from_raw, to_json};
use crate::dispatcher::{DispatcherError, PostEventsResult, RequestBody};
use crate::runtime::bindings::{
    dispatcher::{PostFailure, PostResult},
    types::{self, Error as WitError, ErrorKind},
};

impl HostState {
    /// The temp file behind a store body (borrowed: it stays the guest's to drop).
    fn body_file(&self, body: &Resource<Body>) -> Result<PathBuf, WitError> {
        let body = self
            .table
            .get(body)
            .map_err(|e| wit_error(ErrorKind::InvalidInput, e.to_string(), false))?;
        body.file_path().ok_or_else(|| {
            wit_error(
                ErrorKind::InvalidInput,
                "only store bodies can be uploaded",
                false,
            )
        })
    }

    pub(super) async fn upload_stream(
        &mut self,
        stream: types::StreamRef,
        content: &Resource<Body>,
    ) -> Result<(), WitError> {
        let s = stream_ref(&stream)?;
        let request = RequestBody::File(self.body_file(content)?);
        self.run
            .dispatcher
            .post_stream(&s, &request)
            .await
            .map_err(dispatcher_error)
    }

    /// Post the bulk as it is stored; `sent` is counted from the bulk so a silent truncation
    /// (`total_ok` short of `sent` with no failures) shows.
    pub(super) async fn upload_events(
        &mut self,
        model: &str,
        bulk: &Resource<Body>,
    ) -> Result<PostResult, WitError> {
        let model = parse_model(model)?;
        let (sent, bytes) = counted_bulk(model, self.body_file(bulk)?).await?;
        // Sent from memory (read once, to count it): a body of known length.
        let request = RequestBody::Bytes(bytes.into());
        let result = self
            .run
            .dispatcher
            .post_events(model, &request)
            .await
            .map_err(dispatcher_error)?;
        Ok(post_result(sent, result))
    }

    pub(super) async fn upload_events_singly(
        &mut self,
        model: &str,
        bulk: &Resource<Body>,
        first: u32,
    ) -> Result<PostResult, WitError> {
        let model = parse_model(model)?;
        let events = bulk_events(model, self.body_file(bulk)?).await?;
        let mut total = PostResult {
            sent: 0,
            total_ok: 0,
            total_failures: 0,
            failures: Vec::new(),
            skipped: Vec::new(),
        };
        for event in events.iter().skip(first as usize) {
            total.sent += 1;
            let request = RequestBody::Bytes(encode_bulk_from_raw([event.raw.as_slice()]).into());
            let outcome = match self.run.dispatcher.post_events(model, &request).await {
                Ok(r) if r.total_ok == 1 => Outcome::Published,
                Ok(r) => Outcome::Refused(
                    r.failures.unwrap_or_default().into_iter().next().map(|f| f.error).unwrap_or_else(|| {
                        "the dispatcher accepted none of it (the event fails its validity rules)".to_string()
                    }),
                ),
                Err(DispatcherError::Filtered(reason)) if deliberate_filter(&reason) => Outcome::Skipped(reason),
                Err(DispatcherError::Filtered(reason)) => Outcome::Refused(reason),
                Err(e) => return Err(dispatcher_error(e)),
            };
            let describe = || {
                to_json(model, &event.raw)
                    .map(|j| j.to_string())
                    .unwrap_or_else(|e| format!("<{e}>"))
            };
            match outcome {
                Outcome::Published => total.total_ok += 1,
                Outcome::Skipped(error) => total.skipped.push(PostFailure {
                    event: describe(),
                    error,
                }),
                Outcome::Refused(error) => {
                    total.total_failures += 1;
                    total.failures.push(PostFailure {
                        event: describe(),
                        error,
                    });
                }
            }
        }
        Ok(total)
    }
}

async fn bulk_events(
    model: Model,
    path: PathBuf,
) -> Result<Vec<crate::avro::DecodedEvent>, WitError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| wit_error(ErrorKind::Io, e.to_string(), false))?;
    decode_bulk(model, &bytes).map_err(|e| wit_error(ErrorKind::Corrupt, e.to_string(), false))
}

/// The bulk file's bytes and how many events they hold; an undecodable bulk is `Corrupt`
/// (not worth a retry).
async fn counted_bulk(model: Model, path: PathBuf) -> Result<(u32, Vec<u8>), WitError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| wit_error(ErrorKind::Io, e.to_string(), false))?;
    let count = count_bulk(model, &bytes)
        .map_err(|e| wit_error(ErrorKind::Corrupt, e.to_string(), false))?;
    Ok((count as u32, bytes))
}

enum Outcome {
    Published,
    Skipped(String),
    Refused(String),
}

/// A 425 that names why the dispatcher dropped the event on purpose (aged off, or a filter
/// such as a matching delete) — as opposed to an event it could not accept at all, which it
/// reports as "all filtered" with an empty filter list.
fn deliberate_filter(reason: &str) -> bool {
    reason.contains("ErrorStringEnumAllEventsAgedOffImmediately")
        || reason
            .split("filters [")
            .nth(1)
            .is_some_and(|rest| !rest.starts_with(']'))
}

fn post_result(sent: u32, r: PostEventsResult) -> PostResult {
    PostResult {
        sent,
        total_ok: r.total_ok,
        total_failures: r.total_failures,
        failures: r
            .failures
            .unwrap_or_default()
            .into_iter()
            .map(|f| PostFailure {
                event: match f.event {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
                error: f.error,
            })
            .collect(),
        skipped: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::deliberate_filter;

    #[test]
    fn deliberate_filters_are_told_from_refusals() {
        let aged = r#"{"status":"425","detail":"all submitted events aged off immediately","error_enum":"ErrorStringEnumAllEventsAgedOffImmediately"}"#;
        let deleted = "failed to produce any of the provided events as they were all filtered out by the following filters [FilterPreviouslyDeleted:1], with 0 response failures which are: []";
        let invalid = "failed to produce any of the provided events as they were all filtered out by the following filters [], with 0 response failures which are: []";
        assert!(deliberate_filter(aged));
        assert!(deliberate_filter(deleted));
        assert!(!deliberate_filter(invalid));
    }
}
