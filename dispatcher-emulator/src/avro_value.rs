//! Reading and rewriting fields of a decoded v6 event (a [`Datum`]: fields in schema order,
//! map entries in wire order), and the round trip between an event's raw datum and it.

use azul_backup::avro::{CodecError, Datum, Model, decode_event_datum, encode_event_datum};

/// Go's `time.Time{}` (0001-01-01T00:00:00Z) in Unix microseconds: the value of unset times.
pub const GO_ZERO_TIME_MICROS: i64 = -62_135_596_800_000_000;

/// Decode one raw v6 event datum of `model`.
pub fn decode(model: Model, raw: &[u8]) -> Result<Datum, CodecError> {
    decode_event_datum(model, raw)
}

/// Encode an event back into its raw v6 datum (checked against the schema).
pub fn encode(model: Model, value: &Datum) -> Result<Vec<u8>, CodecError> {
    encode_event_datum(model, value)
}

/// Record field `name`, if `value` is a record holding it.
pub fn get<'a>(value: &'a Datum, name: &str) -> Option<&'a Datum> {
    match value {
        Datum::Record(fields) => fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
        _ => None,
    }
}

/// The field at a dotted path, e.g. `source.name`.
pub fn at<'a>(value: &'a Datum, path: &str) -> Option<&'a Datum> {
    path.split('.').try_fold(value, |v, name| get(v, name))
}

/// A string field at a dotted path; absent or non-string fields read as "".
pub fn str_at<'a>(value: &'a Datum, path: &str) -> &'a str {
    match at(value, path) {
        Some(Datum::String(s)) => s,
        _ => "",
    }
}

pub fn bool_at(value: &Datum, path: &str) -> bool {
    matches!(at(value, path), Some(Datum::Boolean(true)))
}

/// A `timestamp-micros` field; unset reads as Go's zero time.
pub fn micros_at(value: &Datum, path: &str) -> i64 {
    match at(value, path) {
        Some(Datum::Timestamp(t) | Datum::Long(t)) => *t,
        _ => GO_ZERO_TIME_MICROS,
    }
}

/// A Go uint64 held as big-endian `fixed(8)`.
pub fn size_at(value: &Datum, path: &str) -> u64 {
    match at(value, path) {
        Some(Datum::Fixed(bytes)) => {
            u64::from_be_bytes(bytes.as_slice().try_into().unwrap_or_default())
        }
        Some(Datum::Long(n)) => u64::try_from(*n).unwrap_or_default(),
        _ => 0,
    }
}

pub fn array_at<'a>(value: &'a Datum, path: &str) -> &'a [Datum] {
    match at(value, path) {
        Some(Datum::Array(items)) => items,
        _ => &[],
    }
}

/// A `map<string>` field as `(key, value)` pairs, in wire order.
pub fn string_map_at<'a>(value: &'a Datum, path: &str) -> Vec<(&'a str, &'a str)> {
    match at(value, path) {
        Some(Datum::Map(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Datum::String(s) => (k.as_str(), s.as_str()),
                _ => (k.as_str(), ""),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Replace the field at a dotted path; missing intermediate records leave `value` unchanged.
pub fn set(value: &mut Datum, path: &str, new: Datum) {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    if let Datum::Record(fields) = value
        && let Some((_, slot)) = fields.iter_mut().find(|(n, _)| *n == head)
    {
        match rest {
            Some(rest) => set(slot, rest, new),
            None => *slot = new,
        }
    }
}

pub fn string(s: impl Into<String>) -> Datum {
    Datum::String(s.into())
}

pub fn string_array(items: Vec<String>) -> Datum {
    Datum::Array(items.into_iter().map(Datum::String).collect())
}

pub fn empty_map() -> Datum {
    Datum::Map(Vec::new())
}
