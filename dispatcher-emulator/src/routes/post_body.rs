//! Reading a `POST /api/v2/event` body into events, as `producer.TransformEvents` does: an
//! avro bulk (v4, v5 or v6), or JSON (one event object, or an array of them).

use azul_backup::avro::{Model, decode_bulk_datums, from_json};
use serde::Serialize;
use serde_json::{Value as Json, value::RawValue};

use crate::{
    errors::ApiError,
    produce::{InFlight, validity},
};

const TRANSFORM_FAILED: &str = "PostEvent TransformEvents invalid events";

/// `models.ResponsePostEventFailure`: the event's JSON text (empty on the avro path).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Failure {
    pub event: String,
    pub error: String,
}

/// The decoded, valid events of a body and what was said about the others.
pub(super) struct Batch {
    pub events: Vec<InFlight>,
    /// Events decoded and valid: the response's `total_ok`.
    pub total_ok: usize,
    /// `None` on the avro path, where the dispatcher leaves the list nil (`null`).
    pub failures: Option<Vec<Failure>>,
}

fn invalid(detail: impl ToString) -> ApiError {
    ApiError::new(422, TRANSFORM_FAILED, detail)
}

/// An avro bulk. The dispatcher stops at the first invalid event without reporting it
/// (`truncate_quirk`); otherwise invalid events become failures. `keep` is a fault that
/// truncates the batch at that many events.
pub(super) fn avro(
    model: Model,
    body: &[u8],
    truncate_quirk: bool,
    keep: Option<usize>,
) -> Result<Batch, ApiError> {
    let decoded = decode_bulk_datums(model, body).map_err(|e| {
        if serde_json::from_slice::<Json>(body).is_ok() {
            invalid("supplied events were in json format, not avro")
        } else {
            invalid(format!(
                "avro event did not match expected bulk schema: failed to parse avro bulk event \
                 with len({}): {e}",
                body.len()
            ))
        }
    })?;
    let mut batch = Batch {
        events: Vec::with_capacity(decoded.len()),
        total_ok: 0,
        failures: None,
    };
    let mut failures = Vec::new();
    for value in decoded.into_iter().take(keep.unwrap_or(usize::MAX)) {
        let event = InFlight { value, json: None };
        match validity::check(model, &event.value) {
            None => batch.events.push(event),
            Some(_) if truncate_quirk => break,
            Some(reason) => failures.push(Failure {
                event: String::new(),
                error: format!("innerNewMsgInFlight {reason}"),
            }),
        }
    }
    batch.total_ok = batch.events.len();
    if !failures.is_empty() {
        batch.failures = Some(failures);
    }
    Ok(batch)
}

/// A JSON body: `model_version` below 6, or an event that does not decode, fails the whole
/// request; events failing their validity rules become failures and the rest go on.
pub(super) fn json(model: Model, body: &[u8]) -> Result<Batch, ApiError> {
    let text = std::str::from_utf8(body).ok();
    if body.len() <= 2 {
        return Err(invalid(
            "ensure events were in json format: event message too small",
        ));
    }
    let Some(text) = text.filter(|t| serde_json::from_str::<&RawValue>(t).is_ok()) else {
        return Err(invalid(
            "ensure events were in json format: event message invalid json",
        ));
    };
    let elements: Vec<&RawValue> = if body[0] == b'[' {
        serde_json::from_str(text).map_err(|_| corrupt())?
    } else {
        vec![serde_json::from_str(text).map_err(|_| corrupt())?]
    };
    let mut batch = Batch {
        events: Vec::with_capacity(elements.len()),
        total_ok: 0,
        failures: Some(Vec::new()),
    };
    for raw in elements {
        let event = json_event(model, raw.get())?;
        match validity::check(model, &event.value) {
            None => batch.events.push(event),
            Some(reason) => batch.failures.get_or_insert_default().push(Failure {
                event: raw.get().to_string(),
                error: format!("innerNewMsgInFlight {reason}"),
            }),
        }
    }
    batch.total_ok = batch.events.len();
    Ok(batch)
}

fn corrupt() -> ApiError {
    invalid("ensure events were in json format: event message version was too old or was corrupt")
}

/// One element, decoded as Go's `json.Unmarshal` would (an undecodable element is "too old or
/// corrupt"), then its version checked.
fn json_event(model: Model, text: &str) -> Result<InFlight, ApiError> {
    let mut value: Json = serde_json::from_str(text).map_err(|_| corrupt())?;
    if value.is_null() {
        // Unmarshalling `null` leaves the zero event, whose version is 0.
        value = Json::Object(Default::default());
    }
    let Json::Object(fields) = &value else {
        return Err(corrupt());
    };
    let version = match fields.get("model_version") {
        None | Some(Json::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|v| *v <= u64::from(u32::MAX))
            .ok_or_else(corrupt)?,
    };
    // The codec writes version 6 only; newer versions decode as 6, as Go's struct does.
    let mut as_current = value.clone();
    as_current["model_version"] = Json::from(6);
    let raw = from_json(model, &as_current).map_err(|_| corrupt())?;
    if version < 6 {
        return Err(invalid(
            "ensure events were in json format: event message version was too old",
        ));
    }
    let mut event = InFlight::from_raw(model, &raw).map_err(|_| corrupt())?;
    event.json = Some(value);
    Ok(event)
}
