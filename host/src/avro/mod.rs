//! Azul's avro wire format: raw bulk datums (`{model_version, events}`), no container file.
//!
//! Events are kept as their original v6 bytes (`raw`) so a bundle re-encodes byte-for-byte;
//! the decoded [`Value`] is only used to read the fields backup needs and to validate.

mod bulk;
mod fields;
pub mod schema;
pub mod synthetic;
mod validate;

use std::{fmt, str::FromStr};

pub use bulk::{decode_bulk, describe_raw, encode_bulk, encode_bulk_from_raw, encode_event};
pub use fields::rfc3339_nano;

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
    /// The event's v6 avro datum, exactly as received.
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
}

impl DecodedEvent {
    pub fn is_valid(&self) -> bool {
        self.invalid.is_none()
    }
}

/// Avro decoding/encoding failures: the data is damaged, so retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not a registered model type: {0:?}")]
    UnknownModel(String),
    #[error("unsupported avro schema version {0} (this build reads version 6)")]
    UnsupportedVersion(i64),
    #[error("avro bulk is truncated or malformed at byte {offset}: {reason}")]
    Malformed { offset: usize, reason: String },
    #[error("avro event {index} does not match the {model} schema: {reason}")]
    BadEvent {
        model: Model,
        index: usize,
        reason: String,
    },
}

#[cfg(test)]
mod tests;
