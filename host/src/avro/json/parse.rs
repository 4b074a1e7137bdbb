//! JSON → Datum with Go's `json.Unmarshal` rules for bedrock's event structs.

use serde_json::{Map, Value as Json};

use super::{Failure, at, fail, kind};
use crate::avro::{datum::Datum, fields::parse_rfc3339_micros, layout::Node};

/// The value of struct field `name`: Go prefers an exact key, else any case-insensitive one.
fn lookup<'a>(object: &'a Map<String, Json>, name: &str) -> Option<&'a Json> {
    object.get(name).or_else(|| {
        object
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .next_back()
    })
}

fn mismatch<T>(json: &Json, wanted: &str) -> Result<T, Failure> {
    fail(format!("expected {wanted}, got {}", kind(json)))
}

/// Parse `json` as a value of type `node`.
pub(super) fn parse(json: &Json, node: &'static Node) -> Result<Datum, Failure> {
    Ok(match (node, json) {
        // json.RawMessage keeps any JSON text, `null` included; we store it compacted.
        (Node::Bytes, json) => Datum::Bytes(serde_json::to_vec(json).expect("JSON serializes")),
        // null leaves a Go value at its zero value.
        (node, Json::Null) => Datum::zero(node),
        (Node::Record(record), Json::Object(object)) => Datum::Record(
            record
                .fields
                .iter()
                .map(|f| {
                    let value = match lookup(object, &f.name) {
                        Some(v) => parse(v, &f.node).map_err(at(&f.name))?,
                        None => Datum::zero(&f.node),
                    };
                    Ok((f.name.as_str(), value))
                })
                .collect::<Result<_, Failure>>()?,
        ),
        (Node::Record(record), other) => {
            return mismatch(other, &format!("a {} object", record.name));
        }
        (Node::String, Json::String(s)) => Datum::String(s.clone()),
        (Node::String, other) => return mismatch(other, "a string"),
        (Node::Boolean, Json::Bool(b)) => Datum::Boolean(*b),
        (Node::Boolean, other) => return mismatch(other, "a boolean"),
        // Azul's longs are Go uint32s (versions, retries, quotas).
        (Node::Long, Json::Number(n)) => match n.as_u64().filter(|v| *v <= u64::from(u32::MAX)) {
            Some(v) => Datum::Long(v as i64),
            None => return fail(format!("{n} is not a uint32")),
        },
        (Node::Long, other) => return mismatch(other, "an unsigned integer"),
        (Node::Fixed { size: 8, .. }, Json::Number(n)) => match n.as_u64() {
            Some(v) => Datum::Fixed(v.to_be_bytes().to_vec()),
            None => return fail(format!("{n} is not a uint64")),
        },
        (Node::Fixed { .. }, other) => return mismatch(other, "an unsigned integer"),
        (Node::Double, Json::Number(n)) => Datum::Double(n.as_f64().unwrap_or_default()),
        (Node::Double, other) => return mismatch(other, "a number"),
        (Node::Timestamp, Json::String(s)) => match parse_rfc3339_micros(s) {
            Some(t) => Datum::Timestamp(t),
            None => return fail(format!("{s:?} is not an RFC 3339 time")),
        },
        (Node::Timestamp, other) => return mismatch(other, "an RFC 3339 time string"),
        (Node::Array(item), Json::Array(items)) => Datum::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| parse(v, item).map_err(at(&i.to_string())))
                .collect::<Result<_, _>>()?,
        ),
        (Node::Array(_), other) => return mismatch(other, "an array"),
        (Node::Map(value), Json::Object(object)) => Datum::Map(
            object
                .iter()
                .map(|(k, v)| Ok((k.clone(), parse(v, value).map_err(at(k))?)))
                .collect::<Result<_, Failure>>()?,
        ),
        (Node::Map(_), other) => return mismatch(other, "an object"),
    })
}
