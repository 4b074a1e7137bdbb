//! Reading and rewriting fields of a decoded v6 event (`apache_avro` values), and the round
//! trip between an event's raw datum and its value.

use std::collections::HashMap;

use apache_avro::{from_avro_datum, types::Value};
use azul_backup::avro::{CodecError, Model, encode_event, schema::event_schema};

/// Go's `time.Time{}` (0001-01-01T00:00:00Z) in Unix microseconds: the value of unset times.
pub const GO_ZERO_TIME_MICROS: i64 = -62_135_596_800_000_000;

/// Decode one raw v6 event datum of `model`.
pub fn decode(model: Model, raw: &[u8]) -> Result<Value, CodecError> {
    let mut reader = raw;
    from_avro_datum(event_schema(model), &mut reader, None).map_err(|e| CodecError::BadEvent {
        model,
        index: 0,
        reason: e.to_string(),
    })
}

/// Encode an event value back into its raw v6 datum.
pub fn encode(model: Model, value: Value) -> Result<Vec<u8>, CodecError> {
    encode_event(model, value)
}

/// Record field `name`, if `value` is a record holding it.
pub fn get<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Record(fields) => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        _ => None,
    }
}

/// The field at a dotted path, e.g. `source.name`.
pub fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, name| get(v, name))
}

/// A string field at a dotted path; absent or non-string fields read as "".
pub fn str_at<'a>(value: &'a Value, path: &str) -> &'a str {
    match at(value, path) {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

pub fn bool_at(value: &Value, path: &str) -> bool {
    matches!(at(value, path), Some(Value::Boolean(true)))
}

/// A `timestamp-micros` field; unset reads as Go's zero time.
pub fn micros_at(value: &Value, path: &str) -> i64 {
    match at(value, path) {
        Some(Value::TimestampMicros(t) | Value::Long(t)) => *t,
        _ => GO_ZERO_TIME_MICROS,
    }
}

/// A Go uint64 held as big-endian `fixed(8)`.
pub fn size_at(value: &Value, path: &str) -> u64 {
    match at(value, path) {
        Some(Value::Fixed(8, bytes)) => {
            u64::from_be_bytes(bytes.as_slice().try_into().unwrap_or_default())
        }
        Some(Value::Long(n)) => u64::try_from(*n).unwrap_or_default(),
        _ => 0,
    }
}

pub fn array_at<'a>(value: &'a Value, path: &str) -> &'a [Value] {
    match at(value, path) {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

/// A `map<string>` field as `(key, value)` pairs, in no particular order.
pub fn string_map_at<'a>(value: &'a Value, path: &str) -> Vec<(&'a str, &'a str)> {
    match at(value, path) {
        Some(Value::Map(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k.as_str(), s.as_str()),
                _ => (k.as_str(), ""),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Replace the field at a dotted path; missing intermediate records leave `value` unchanged.
pub fn set(value: &mut Value, path: &str, new: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    if let Value::Record(fields) = value
        && let Some((_, slot)) = fields.iter_mut().find(|(n, _)| n == head)
    {
        match rest {
            Some(rest) => set(slot, rest, new),
            None => *slot = new,
        }
    }
}

pub fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

pub fn string_array(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

pub fn empty_map() -> Value {
    Value::Map(HashMap::new())
}
