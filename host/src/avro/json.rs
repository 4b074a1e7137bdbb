//! Events as JSON, the way Azul's Go code writes and reads them (bedrock's event structs
//! through `encoding/json`): the dispatcher's JSON GET/POST formats and `*.avro.json` files.

mod parse;
mod render;

use serde_json::Value as Json;

use super::{
    CURRENT_MODEL_VERSION, CodecError, Model,
    datum::Datum,
    encode::encode_datum,
    read::Reader,
    resolve::promote,
    schema::{SchemaVersion, event_node},
};

/// Render a raw v6 event datum of `model` as Azul's JSON: timestamps as RFC3339Nano UTC
/// strings, fixed(8) sizes as numbers, `info`/`metadata`/retrohunt `entity` bytes as the
/// JSON they hold, and `omitempty` fields left out exactly as Go does.
pub fn to_json(model: Model, raw_v6: &[u8]) -> Result<Json, CodecError> {
    let node = event_node(model, SchemaVersion::V6);
    let event = Reader::new(raw_v6)
        .datum(node)
        .map_err(|e| CodecError::BadEvent {
            model,
            index: 0,
            reason: format!("at byte {}: {}", e.offset, e.reason),
        })?;
    render::render(&event, node).map_err(|(field, reason)| CodecError::Unrenderable {
        model,
        field,
        reason,
    })
}

/// Encode one JSON event of `model` as a v6 datum, reading it as Go's `json.Unmarshal` does:
/// absent and `null` fields keep their zero values, unknown keys are ignored and keys match
/// field names case-insensitively. An absent (0) `model_version` becomes the current one,
/// nested status events' included (as Go's `ToAvro` does); any other version than 6 is
/// refused. (The dispatcher itself refuses POSTed JSON without `model_version` ≥ 6 before
/// decoding it: check that on the JSON value when emulating it.)
pub fn from_json(model: Model, event: &Json) -> Result<Vec<u8>, CodecError> {
    let mut datum =
        parse::parse(event, event_node(model, SchemaVersion::V6)).map_err(|(field, reason)| {
            CodecError::BadJson {
                model,
                field,
                reason,
            }
        })?;
    match datum.get("model_version") {
        Some(Datum::Long(0)) => {
            promote(model, &mut datum);
        }
        Some(Datum::Long(v)) if *v != CURRENT_MODEL_VERSION => {
            return Err(CodecError::UnsupportedVersion(*v));
        }
        _ => {}
    }
    Ok(encode_datum(&datum))
}

/// Parse a JSON body of events: one event object, or an array of them. Duplicate keys are
/// tolerated and the last one wins, as in Go (Azul's own sample files repeat `file_format`).
pub fn parse_json_events(text: &str) -> Result<Vec<Json>, CodecError> {
    // serde_json's `Map` keeps the last value of a repeated key (see the codec tests).
    let value: Json = serde_json::from_str(text).map_err(|e| CodecError::NotJson(e.to_string()))?;
    let events = match value {
        Json::Array(items) => items,
        event @ Json::Object(_) => vec![event],
        other => {
            return Err(CodecError::NotJson(format!(
                "expected an event object or an array of them, got {}",
                kind(&other)
            )));
        }
    };
    match events.iter().position(|e| !e.is_object()) {
        Some(i) => Err(CodecError::NotJson(format!(
            "element {i} is {}, not an event object",
            kind(&events[i])
        ))),
        None => Ok(events),
    }
}

/// A failure, with the dotted path of the field it happened at.
type Failure = (String, String);

fn fail<T>(reason: impl Into<String>) -> Result<T, Failure> {
    Err((String::new(), reason.into()))
}

/// Prefix a failure's path with the field it came through.
fn at(field: &str) -> impl Fn(Failure) -> Failure + '_ {
    move |(path, reason)| match path.is_empty() {
        true => (field.to_string(), reason),
        false => (format!("{field}.{path}"), reason),
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
