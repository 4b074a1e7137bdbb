//! Datum → JSON with the rules of bedrock's struct tags: which fields are `omitempty`, which
//! times are dropped when zero (custom `MarshalJSON`s), and how Go types render.

use serde_json::{Map, Number, Value as Json};

use super::{Failure, at, fail};
use crate::avro::{
    datum::Datum,
    fields::{GO_ZERO_TIME_MICROS, try_rfc3339_nano},
    layout::{Node, Record},
};

/// Fields without `omitempty`: always rendered, even at their zero value. Records and
/// times are structs in Go, which `omitempty` never drops, so they are not listed.
const ALWAYS: &[(&str, &[&str])] = &[
    ("EventAuthor", &["name"]),
    ("EventSourcePathNode", &["action", "sha256"]),
    ("EventSource", &["name", "path"]),
    ("BinaryEntityFeature", &["name", "value", "type"]),
    (
        "BinaryEntityDatastream",
        &[
            "label", "size", "sha512", "sha256", "sha1", "md5", "mime", "magic",
        ],
    ),
    ("BinaryEntity", &["sha256"]),
    ("BinaryEvent", &["action"]),
    ("DeleteEvent", &["action"]),
    ("DownloadEntity", &["hash"]),
    ("DownloadEvent", &["action"]),
    ("InsertEntity", &["original_source", "parent_sha256"]),
    ("PluginEntityFeature", &["name", "type"]),
    ("PluginEntity", &["name"]),
    ("RetrohuntEvent", &["entity"]),
    ("StatusEntity", &["status"]),
];

/// Times whose records have a `MarshalJSON` that drops them when zero.
const ZERO_TIME_DROPPED: &[(&str, &str)] = &[
    ("DeleteEntitySubmission", "timestamp"),
    ("DeleteEntityAuthor", "timestamp"),
    ("DownloadEntity", "direct_expiry"),
];

fn always(record: &str, field: &str) -> bool {
    ALWAYS
        .iter()
        .any(|(r, fields)| *r == record && fields.contains(&field))
}

/// Go's `omitempty` test; structs (records, times) are never empty.
fn is_empty(datum: &Datum) -> bool {
    match datum {
        Datum::Boolean(b) => !b,
        Datum::Long(n) => *n == 0,
        Datum::Double(f) => *f == 0.0,
        Datum::String(s) => s.is_empty(),
        Datum::Bytes(b) => b.is_empty(),
        Datum::Fixed(b) => b.iter().all(|x| *x == 0),
        Datum::Array(items) => items.is_empty(),
        Datum::Map(entries) => entries.is_empty(),
        Datum::Timestamp(_) | Datum::Record(_) => false,
    }
}

fn render_record(fields: &[(&str, Datum)], record: &Record) -> Result<Json, Failure> {
    let mut out = Map::new();
    for ((name, datum), field) in fields.iter().zip(&record.fields) {
        let keep = match datum {
            Datum::Timestamp(t) => {
                *t != GO_ZERO_TIME_MICROS
                    || !ZERO_TIME_DROPPED.contains(&(record.name.as_str(), *name))
            }
            Datum::Record(_) => true,
            _ => always(&record.name, name) || !is_empty(datum),
        };
        if keep {
            let value = match datum {
                // A nil Go slice (what decoding an empty array leaves) renders as null.
                Datum::Array(items) if items.is_empty() => Json::Null,
                _ => render(datum, &field.node).map_err(at(name))?,
            };
            out.insert(name.to_string(), value);
        }
    }
    Ok(Json::Object(out))
}

/// Render `datum`, of type `node`, as Go's `encoding/json` would.
pub(super) fn render(datum: &Datum, node: &Node) -> Result<Json, Failure> {
    Ok(match (datum, node) {
        (Datum::Record(fields), Node::Record(record)) => render_record(fields, record)?,
        (Datum::Boolean(b), _) => Json::Bool(*b),
        (Datum::Long(n), _) => Json::from(*n),
        (Datum::Double(f), _) => match Number::from_f64(*f) {
            Some(n) => Json::Number(n),
            None => return fail(format!("unsupported value {f}")),
        },
        (Datum::String(s), _) => Json::String(s.clone()),
        (Datum::Timestamp(t), _) => match try_rfc3339_nano(*t) {
            Some(s) => Json::String(s),
            None => return fail(format!("time {t}us is outside years 0000-9999")),
        },
        (Datum::Fixed(bytes), _) => match <[u8; 8]>::try_from(bytes.as_slice()) {
            Ok(be) => Json::from(u64::from_be_bytes(be)),
            Err(_) => return fail(format!("fixed({}) is not a uint64", bytes.len())),
        },
        // json.RawMessage: the bytes are JSON text, rendered as that JSON (nil → null).
        (Datum::Bytes(bytes), _) if bytes.is_empty() => Json::Null,
        (Datum::Bytes(bytes), _) => match serde_json::from_slice(bytes) {
            Ok(json) => json,
            Err(e) => return fail(format!("embedded JSON is invalid: {e}")),
        },
        (Datum::Array(items), Node::Array(item)) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, d)| render(d, item).map_err(at(&i.to_string())))
                .collect::<Result<_, _>>()?,
        ),
        // Later duplicates overwrite earlier ones, as in a Go map.
        (Datum::Map(entries), Node::Map(value)) => {
            let mut out = Map::new();
            for (k, d) in entries {
                out.insert(k.clone(), render(d, value).map_err(at(k))?);
            }
            Json::Object(out)
        }
        (datum, node) => return fail(format!("{datum:?} does not match {node:?}")),
    })
}
