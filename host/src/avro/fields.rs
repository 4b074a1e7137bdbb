//! Reading the few fields backup needs out of a decoded event value.

use apache_avro::types::Value;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{DecodedEvent, Model, StreamRef, validate};

/// The value of record field `name`, if `value` is a record holding it.
pub(crate) fn get<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Record(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        _ => None,
    }
}

pub(crate) fn get_str<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    match get(value, name)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

pub(crate) fn get_micros(value: &Value, name: &str) -> Option<i64> {
    match get(value, name)? {
        Value::TimestampMicros(t) | Value::Long(t) => Some(*t),
        _ => None,
    }
}

pub(crate) fn get_array<'a>(value: &'a Value, name: &str) -> &'a [Value] {
    match get(value, name) {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// Build the summary of one decoded event.
pub(crate) fn describe(model: Model, raw: Vec<u8>, value: &Value) -> DecodedEvent {
    let source = get(value, "source")
        .and_then(|s| get_str(s, "name"))
        .map(str::to_string);
    let action = get_str(value, "action").map(str::to_string);
    let invalid = validate::check(model, value);
    let streams = match (model, &source, &invalid) {
        (Model::Binary, Some(src), None) => get(value, "entity")
            .map(|e| get_array(e, "datastreams"))
            .unwrap_or_default()
            .iter()
            .map(|d| StreamRef {
                source: src.clone(),
                label: get_str(d, "label").unwrap_or_default().to_string(),
                sha256: get_str(d, "sha256").unwrap_or_default().to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    DecodedEvent {
        raw,
        kafka_key: get_str(value, "kafka_key").unwrap_or_default().to_string(),
        timestamp_micros: get_micros(value, "timestamp").unwrap_or(GO_ZERO_TIME_MICROS),
        source,
        action,
        streams,
        invalid,
    }
}

/// Go's `time.Time{}` (0001-01-01T00:00:00Z) in Unix microseconds.
pub const GO_ZERO_TIME_MICROS: i64 = -62_135_596_800_000_000;

/// Format like Go's `time.RFC3339Nano` in UTC: trailing fractional zeros trimmed, `Z` suffix.
pub fn rfc3339_nano(micros: i64) -> String {
    let nanos = i128::from(micros) * 1_000;
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => t.format(&Rfc3339).unwrap_or_else(|_| fallback(micros)),
        Err(_) => fallback(micros),
    }
}

fn fallback(micros: i64) -> String {
    format!("@{micros}us")
}
