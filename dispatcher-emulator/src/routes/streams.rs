//! `/api/v3/stream/...`: upload, download (single range), exists and copy
//! (`streams/restapi.go`).

use axum::{
    body::{Body, Bytes, to_bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::AppState;
use crate::{
    errors::ApiError,
    gostr::{json_string, parse_bool},
    params::QueryValues,
    streams::{parse_range, resolve},
};

/// The upload response's `BinaryEntityDatastream`. Identify (libmagic, yara, ssdeep, tlsh) is
/// not emulated, so `mime`/`magic` stay empty and the omitempty fields are left out.
struct StreamMetadata {
    /// `content` when identify ran, empty with skip-identify.
    label: &'static str,
    size: usize,
    sha512: String,
    sha256: String,
    sha1: String,
    md5: String,
}

impl StreamMetadata {
    fn of(data: &[u8], skip_identify: bool) -> Self {
        let sha256 = hex::encode(Sha256::digest(data));
        if skip_identify {
            return StreamMetadata {
                label: "",
                size: data.len(),
                sha512: String::new(),
                sha256,
                sha1: String::new(),
                md5: String::new(),
            };
        }
        StreamMetadata {
            label: "content",
            size: data.len(),
            sha512: hex::encode(Sha512::digest(data)),
            sha256,
            sha1: hex::encode(Sha1::digest(data)),
            md5: hex::encode(Md5::digest(data)),
        }
    }

    /// `models.DataResponse` as Go encodes it (computed hex digests need no escaping; a
    /// claimed, unverified sha256 might).
    fn response_json(&self) -> String {
        format!(
            r#"{{"data":{{"label":"{}","size":{},"sha512":"{}","sha256":{},"sha1":"{}","md5":"{}","mime":"","magic":""}}}}"#,
            self.label,
            self.size,
            self.sha512,
            json_string(&self.sha256),
            self.sha1,
            self.md5
        )
    }
}

pub(super) async fn post_stream(
    State(app): State<AppState>,
    Path((source, label)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let q = QueryValues::parse(query.as_deref());
    let skip_identify = parse_bool(q.get_or("skip-identify", "false"))
        .map_err(|e| ApiError::new(400, "bad param skip identify", e))?;
    let expected_sha256 = q.get("expected-sha256");
    if skip_identify && expected_sha256.is_empty() {
        return Err(ApiError::without_detail(
            400,
            "must supply sha256 when skipping identify",
        ));
    }
    let data = to_bytes(body, usize::MAX).await.map_err(|e| {
        ApiError::new(
            500,
            "filebuffering error, failed to read file in PutData",
            e,
        )
    })?;
    let metadata = StreamMetadata::of(&data, skip_identify);
    if data.is_empty() {
        return Err(ApiError::without_detail(400, "no content in request body"));
    }
    let mut metadata = metadata;
    // Compared as given: the dispatcher's check is case-sensitive.
    if !expected_sha256.is_empty() && expected_sha256 != metadata.sha256 {
        if app.emulator.config().verify_sha256 {
            let detail = format!(
                "sha256 mismatch - supplied: {expected_sha256} vs calc: {}",
                metadata.sha256
            );
            return Err(ApiError::new(400, "sha256 mismatch", detail));
        }
        // Unverified: kept under the hash the client claims (placeholder content).
        metadata.sha256 = expected_sha256.to_string();
    }
    app.emulator
        .insert_stream(&source, &label, &metadata.sha256, data);
    Ok(json_response(metadata.response_json()))
}

fn json_response(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn stream_not_found() -> ApiError {
    ApiError::new(404, "not found", "not found")
}

pub(super) async fn get_stream(
    State(app): State<AppState>,
    Path((source, label, hash)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Any non-empty Range header counts, as `len(c.GetHeader("Range")) > 0` does.
    let range = headers
        .get(header::RANGE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|v| !v.is_empty())
        .map(|v| parse_range(&v))
        .transpose()
        .map_err(|e| ApiError::new(400, "invalid range provided", e))?;
    let data = app
        .emulator
        .stream(&source, &label, &hash)
        .ok_or_else(stream_not_found)?;
    let octet_stream = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let Some(range) = range else {
        let accept_ranges = (header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        return Ok((StatusCode::OK, [octet_stream, accept_ranges], data).into_response());
    };
    let total = data.len() as u64;
    let (start, len) =
        resolve(range, total).map_err(|e| ApiError::new(400, "invalid range end", e))?;
    let content_range = format!("bytes {start}-{}/{total}", start + len - 1);
    let content_range = (
        header::CONTENT_RANGE,
        HeaderValue::try_from(content_range).expect("digits are a valid header"),
    );
    let part: Bytes = data.slice(start as usize..(start + len) as usize);
    Ok((
        StatusCode::PARTIAL_CONTENT,
        [octet_stream, content_range],
        part,
    )
        .into_response())
}

/// 200 or 404, both with empty bodies.
pub(super) async fn head_stream(
    State(app): State<AppState>,
    Path((source, label, hash)): Path<(String, String, String)>,
) -> StatusCode {
    match app.emulator.stream(&source, &label, &hash) {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_FOUND,
    }
}

/// Copy `source_a/label/hash` to `source_b`; a missing source object is a silent no-op.
pub(super) async fn copy_stream(
    State(app): State<AppState>,
    Path((source_a, source_b, label, hash)): Path<(String, String, String, String)>,
) -> StatusCode {
    if let Some(data) = app.emulator.stream(&source_a, &label, &hash) {
        app.emulator.insert_stream(&source_b, &label, &hash, data);
    }
    StatusCode::OK
}
