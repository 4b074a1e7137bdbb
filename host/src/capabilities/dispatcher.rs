//! `dispatcher`: the guest's view of the Azul dispatcher. Fetched batches are decoded
//! here; a batch that cannot be decoded is quarantined in the state directory (the
//! dispatcher has already committed the offset, so dropping it would lose events).

use std::time::Instant;

use wasmtime::component::Resource;

use super::batch::EventBatch;
use super::body::Body;
use super::{HostState, wit_error};
use crate::avro::{Model, StreamRef, decode_bulk};
use crate::crashpoint::{self, Point};
use crate::dispatcher::{DispatcherError, FetchRequest};
use crate::keys::validate_segment;
use crate::runtime::bindings::{
    dispatcher::{self, PostResult},
    types::{self, Error as WitError, ErrorKind},
};

pub(crate) fn dispatcher_error(e: DispatcherError) -> WitError {
    let retryable = e.retryable();
    let kind = match &e {
        DispatcherError::NotFound(_) => ErrorKind::NotFound,
        DispatcherError::Filtered(_) => ErrorKind::Filtered,
        DispatcherError::Rejected { .. } if retryable => ErrorKind::Transient,
        DispatcherError::Rejected { .. } => ErrorKind::Rejected,
        DispatcherError::Server { .. } | DispatcherError::Transport(_) => ErrorKind::Transient,
        DispatcherError::PartialPublish { .. } => ErrorKind::Rejected,
        DispatcherError::Malformed(_) => ErrorKind::Corrupt,
        DispatcherError::Io(_) => ErrorKind::Io,
    };
    wit_error(kind, e.to_string(), retryable)
}

/// Check a guest-supplied stream reference before it becomes a URL or an object key.
pub(crate) fn stream_ref(s: &types::StreamRef) -> Result<StreamRef, WitError> {
    for (what, value) in [
        ("source", &s.source),
        ("label", &s.label),
        ("sha256", &s.sha256),
    ] {
        validate_segment(value).map_err(|e| {
            wit_error(
                ErrorKind::InvalidInput,
                format!("stream {what}: {e}"),
                false,
            )
        })?;
    }
    Ok(StreamRef {
        source: s.source.clone(),
        label: s.label.clone(),
        sha256: s.sha256.clone(),
    })
}

pub(crate) fn parse_model(model: &str) -> Result<Model, WitError> {
    model
        .parse()
        .map_err(|e| wit_error(ErrorKind::InvalidInput, format!("{e}"), false))
}

impl HostState {
    async fn fetch(&mut self, req: dispatcher::FetchRequest) -> Result<EventBatch, WitError> {
        let model = parse_model(&req.model)?;
        let request = FetchRequest {
            consumer: req.consumer,
            version: req.version,
            model,
            source: req.source,
            action: req.action,
            count: req.count,
            deadline_secs: req.deadline_secs,
            deployment_key: req.deployment_key,
        };
        let started = Instant::now();
        let fetched = self.run.dispatcher.fetch_events(&request).await;
        self.time_stage("fetch", started);
        if let Err(DispatcherError::Malformed(reason)) = &fetched {
            // The dispatcher moves a consumer's offsets before it answers (at-most-once): the
            // events of an answer that cannot be read are gone for this consumer group.
            tracing::error!(consumer = %request.consumer, "fetch answer unreadable; the events it carried are lost to this consumer (the dispatcher already moved its offsets): {reason}");
        }
        let (info, raw) = fetched.map_err(dispatcher_error)?;
        crashpoint::reached(Point::FetchAnswered);
        let started = Instant::now();
        let decoded = decode_bulk(model, &raw);
        self.time_stage("decode", started);
        match decoded {
            Ok(events) => Ok(EventBatch { raw, events, info }),
            Err(e) => {
                let name = format!(
                    "quarantine-{}-{}.avro",
                    request.consumer,
                    self.run.started.elapsed().as_nanos()
                );
                let saved = self.run.statedir.write_atomic(&name, &raw);
                tracing::error!(consumer = %request.consumer, file = %name, saved = saved.is_ok(), "undecodable event batch: {e}");
                Err(wit_error(
                    ErrorKind::Corrupt,
                    format!("undecodable batch kept as {name}: {e}"),
                    false,
                ))
            }
        }
    }
}

impl dispatcher::Host for HostState {
    async fn fetch_events(
        &mut self,
        request: dispatcher::FetchRequest,
    ) -> wasmtime::Result<Result<Resource<EventBatch>, WitError>> {
        Ok(match self.fetch(request).await {
            Ok(batch) => Ok(self.table.push(batch)?),
            Err(e) => Err(e),
        })
    }

    async fn open_stream(
        &mut self,
        stream: types::StreamRef,
    ) -> wasmtime::Result<Result<Resource<Body>, WitError>> {
        let s = match stream_ref(&stream) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.run.dispatcher.open_stream(&s).await {
            Ok(response) => Ok(self.table.push(Body::Download {
                response,
                sha256: s.sha256,
            })?),
            Err(e) => Err(dispatcher_error(e)),
        })
    }

    async fn stream_exists(
        &mut self,
        stream: types::StreamRef,
    ) -> wasmtime::Result<Result<bool, WitError>> {
        let s = match stream_ref(&stream) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self
            .run
            .dispatcher
            .stream_exists(&s)
            .await
            .map_err(dispatcher_error))
    }

    async fn post_stream(
        &mut self,
        stream: types::StreamRef,
        content: Resource<Body>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let started = std::time::Instant::now();
        let posted = self.upload_stream(stream, &content).await;
        self.time_stage("post", started);
        Ok(crashpoint::after_ok(posted, Point::StreamPosted))
    }

    async fn post_events(
        &mut self,
        model: String,
        bulk: Resource<Body>,
    ) -> wasmtime::Result<Result<PostResult, WitError>> {
        crashpoint::reached(Point::EventsPosting);
        let started = std::time::Instant::now();
        let posted = self.upload_events(&model, &bulk).await;
        self.time_stage("post", started);
        Ok(crashpoint::after_ok(posted, Point::EventsPosted))
    }

    async fn post_events_singly(
        &mut self,
        model: String,
        bulk: Resource<Body>,
        first: u32,
    ) -> wasmtime::Result<Result<PostResult, WitError>> {
        crashpoint::reached(Point::EventsPosting);
        let posted = self.upload_events_singly(&model, &bulk, first).await;
        Ok(crashpoint::after_ok(posted, Point::EventsPosted))
    }
}
