//! Azul's avro wire format: raw bulk datums (`{model_version, events}`), no container file,
//! in schema versions 4, 5 and 6; and the JSON rendering of events.
//!
//! Events are kept as their v6 bytes (`raw`: the original bytes when they arrive as v6) so
//! a bundle re-encodes byte-for-byte; the decoded value is only used to read the fields
//! backup and the emulator need, to validate, and to render JSON. Backup reads fetched events
//! in part (`sparse`: the described fields built, the rest stepped over) and restore only
//! counts a bundle's events; the emulator transforms posted events as [`Datum`]s. Reading and writing use
//! our own small codec over compiled schemas (`layout`), because Azul's writer (hamba/avro)
//! uses negative block counts with byte sizes, and because apache-avro's `HashMap` maps lose
//! the wire order that byte-exact re-encoding needs.

mod bulk;
mod datum;
mod encode;
mod fields;
mod json;
mod layout;
mod read;
mod resolve;
pub mod schema;
mod sparse;
pub mod synthetic;
mod validate;

use std::{fmt, str::FromStr};

pub use bulk::{
    bulk_header_version, count_bulk, decode_bulk, decode_bulk_datums, decode_event_datum,
    decode_single, describe_raw, encode_bulk, encode_bulk_from_raw, encode_event,
    encode_event_datum,
};
pub use datum::Datum;
pub use fields::rfc3339_nano;
pub use json::{from_json, parse_json_events, to_json};
pub use schema::SchemaVersion;

/// The actions of binary events, each its own topic per source and its own backup consumer.
pub const BINARY_ACTIONS: [&str; 5] = ["sourced", "extracted", "augmented", "mapped", "enriched"];

/// The schema version this project writes (`CurrentModelVersion` in Azul).
pub const CURRENT_MODEL_VERSION: i64 = 6;

/// An Azul event model (the `{model}` of the dispatcher's routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    Binary,
    Insert,
    Delete,
    Status,
    Plugin,
    Download,
    Retrohunt,
}

impl Model {
    pub const ALL: [Model; 7] = [
        Model::Binary,
        Model::Insert,
        Model::Delete,
        Model::Status,
        Model::Plugin,
        Model::Download,
        Model::Retrohunt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Model::Binary => "binary",
            Model::Insert => "insert",
            Model::Delete => "delete",
            Model::Status => "status",
            Model::Plugin => "plugin",
            Model::Download => "download",
            Model::Retrohunt => "retrohunt",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Model {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Model::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| CodecError::UnknownModel(s.to_string()))
    }
}

/// A stream referenced by a binary event's `entity.datastreams[]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamRef {
    pub source: String,
    pub label: String,
    pub sha256: String,
}

/// One event of a bulk, with the fields backup and the emulator need.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// The event's v6 avro datum: the bytes as received when they were v6 already, else the
    /// event re-encoded as v6 after schema resolution.
    pub raw: Vec<u8>,
    pub kafka_key: String,
    /// Microseconds since the Unix epoch (Go's zero time is -62135596800000000).
    pub timestamp_micros: i64,
    /// `source.name` (binary, download).
    pub source: Option<String>,
    /// `action` (binary, delete, download, retrohunt).
    pub action: Option<String>,
    /// Datastreams of a binary event, addressed under its `source.name`.
    pub streams: Vec<StreamRef>,
    /// Why the event fails Azul's validity rules, if it does.
    pub invalid: Option<String>,
    /// `author.name` (every model).
    pub author_name: String,
    /// `flags.expedite` of a binary event.
    pub expedite: bool,
    /// `flags.retry` of a binary event.
    pub retry: bool,
    /// Number of `source.path` nodes (binary, download).
    pub path_len: usize,
    /// Size of a binary event's `content` datastream, if it has one.
    pub content_size: Option<u64>,
    /// `(label, file_format)` of every datastream of a binary event, valid or not.
    pub stream_formats: Vec<(String, String)>,
}

impl DecodedEvent {
    pub fn is_valid(&self) -> bool {
        self.invalid.is_none()
    }
}

/// Avro and JSON decoding/encoding failures: the data is damaged, so retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not a registered model type: {0:?}")]
    UnknownModel(String),
    #[error("unsupported event model_version {0} (this build writes version 6)")]
    UnsupportedVersion(i64),
    #[error("avro bulk is truncated or malformed at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    #[error("avro event {index} does not match the {model} schema: {reason}")]
    BadEvent {
        model: Model,
        index: usize,
        reason: String,
    },
    #[error("{model} event JSON does not fit the schema at {field:?}: {reason}")]
    BadJson {
        model: Model,
        field: String,
        reason: String,
    },
    #[error("{model} event cannot be rendered as JSON at {field:?}: {reason}")]
    Unrenderable {
        model: Model,
        field: String,
        reason: String,
    },
    #[error("not a JSON event or array of events: {0}")]
    NotJson(String),
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;
