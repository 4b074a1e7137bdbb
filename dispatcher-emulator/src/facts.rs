//! What the consume filters look at in a held event, read once when it is published.

use azul_backup::avro::Datum;
use azul_backup::avro::Model;

use crate::{
    avro_value::{array_at, at, micros_at, size_at, str_at},
    graveyard::Tracking,
};

/// One datastream as `FilterConsumerRules` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFacts {
    pub label: String,
    pub size: u64,
    pub file_format: String,
}

/// The binary event the consume filters apply to: the event itself, or a status event's
/// `entity.input`. Other models carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFacts {
    /// `true` for binary events (`FilterTooDeep` and the stream rules only apply to them).
    pub is_binary: bool,
    pub applies: bool,
    pub source: String,
    pub source_timestamp_micros: i64,
    pub action: String,
    pub author_name: String,
    pub path_len: usize,
    pub streams: Vec<StreamFacts>,
    /// What delete events match on (binary events only).
    pub tracking: Option<Tracking>,
}

impl EventFacts {
    pub fn of(model: Model, event: &Datum) -> Self {
        let binary = match model {
            Model::Binary => event,
            Model::Status => match at(event, "entity.input") {
                Some(input) => input,
                None => return EventFacts::default(),
            },
            _ => return EventFacts::default(),
        };
        EventFacts {
            is_binary: model == Model::Binary,
            applies: true,
            source: str_at(binary, "source.name").to_string(),
            source_timestamp_micros: micros_at(binary, "source.timestamp"),
            action: str_at(binary, "action").to_string(),
            author_name: str_at(binary, "author.name").to_string(),
            path_len: array_at(binary, "source.path").len(),
            streams: array_at(binary, "entity.datastreams")
                .iter()
                .map(|d| StreamFacts {
                    label: str_at(d, "label").to_string(),
                    size: size_at(d, "size"),
                    file_format: str_at(d, "file_format").to_string(),
                })
                .collect(),
            tracking: (model == Model::Binary).then(|| Tracking::of(event)),
        }
    }
}
