//! The fetch response: `multipart/form-data` with an `info` part then an `events` part.

use bytes::Bytes;
use reqwest::Response;

use super::{DispatcherError, FetchInfo};

pub(super) async fn read_fetch_response(
    resp: Response,
) -> Result<(FetchInfo, Bytes), DispatcherError> {
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = multer::parse_boundary(&content_type)
        .map_err(|e| DispatcherError::Malformed(format!("content type {content_type:?}: {e}")))?;
    let mut parts = multer::Multipart::new(resp.bytes_stream(), boundary);
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
