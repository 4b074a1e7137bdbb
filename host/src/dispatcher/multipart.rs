//! The fetch response: `multipart/form-data` with an `info` part then an `events` part.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use multer::{Constraints, SizeLimit};
use reqwest::Response;

use super::{DispatcherError, FetchInfo};

/// Largest `info` part: a few hundred bytes of JSON in practice.
const MAX_INFO_BYTES: u64 = 1 << 20;
/// Largest `events` part held in memory: far above any real batch (the dispatcher caps
/// events at 3 MiB and fetches at `count`), so only a broken or hostile answer is refused
/// instead of exhausting memory.
pub const MAX_EVENTS_BYTES: u64 = 1 << 30;

pub(super) async fn read_fetch_response(
    resp: Response,
) -> Result<(FetchInfo, Bytes), DispatcherError> {
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // How much arrived, to tell a cut answer from a garbled one when parsing fails (the
    // dispatcher has already moved the consumer's offsets: those events are gone for it).
    let announced = resp.content_length();
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let body = resp.bytes_stream().inspect_ok(move |chunk| {
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    parse_fetch_body(&content_type, body)
        .await
        .map_err(|e| match e {
            DispatcherError::Malformed(m) => DispatcherError::Malformed(format!(
                "{m} (received {} of {} bytes)",
                received.load(Ordering::Relaxed),
                announced.map_or("an unannounced number of".into(), |n| n.to_string())
            )),
            other => other,
        })
}

/// Splits a fetch answer into its `info` and `events` parts; anything else is `Malformed`.
pub async fn parse_fetch_body<S, E>(
    content_type: &str,
    body: S,
) -> Result<(FetchInfo, Bytes), DispatcherError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| DispatcherError::Malformed(format!("content type {content_type:?}: {e}")))?;
    let limits = SizeLimit::new()
        .for_field("info", MAX_INFO_BYTES)
        .for_field("events", MAX_EVENTS_BYTES);
    let constraints = Constraints::new()
        .allowed_fields(vec!["info", "events"])
        .size_limit(limits);
    let mut parts = multer::Multipart::with_constraints(body, boundary, constraints);
    let (mut info, mut events) = (None, None);
    while let Some(part) = parts.next_field().await.map_err(malformed)? {
        let name = part.name().unwrap_or_default().to_string();
        let bytes = part.bytes().await.map_err(malformed)?;
        match name.as_str() {
            "info" => {
                let parsed: FetchInfo = serde_json::from_slice(&bytes)
                    .map_err(|e| DispatcherError::Malformed(format!("info part: {e}")))?;
                info = Some(parsed);
            }
            "events" => events = Some(bytes),
            other => {
                return Err(DispatcherError::Malformed(format!(
                    "unknown form part {other:?}"
                )));
            }
        }
    }
    match (info, events) {
        (Some(info), Some(events)) => Ok((info, events)),
        _ => Err(DispatcherError::Malformed(
            "fetch response lacks the info or events part".into(),
        )),
    }
}

fn malformed(e: multer::Error) -> DispatcherError {
    DispatcherError::Malformed(format!("multipart: {e}"))
}
