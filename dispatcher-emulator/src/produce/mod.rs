//! The dispatcher's produce pipeline (`events/producer`, `pipeline_produce`): what happens to a
//! posted event before it lands in a topic. Seeding runs the same steps, so every held event
//! carries the key and tracking ids the dispatcher would have given it.
//!
//! Emulated: `PipelineAgeoff`, `InjectId`, `FilterPreviouslyDeleted`, `SourceSettingRemoval`,
//! then at publish the tracking fields, topic choice and the message size limit. Not emulated:
//! `ReplayPluginCompletion`, `ProduceStatusResults` and `InjectChildEvents`.

mod key;
mod tracking;
pub mod validity;

use std::{collections::BTreeMap, time::Duration};

use azul_backup::avro::Datum;
use azul_backup::avro::{CodecError, Model};

pub use key::EmptyPath;
#[cfg(test)]
use key::descriptor;
use key::kafka_key;

use crate::{
    avro_value::{self, array_at, bool_at, empty_map, micros_at, set, str_at, string},
    emulator::now_micros,
    facts::EventFacts,
    gostr::atoi,
    graveyard::{Deletion, Graveyard, Tracking},
    topics::PublishError,
};

/// Kafka's `message_max_bytes` as the dispatcher configures it by default (`3Mi`).
pub const MESSAGE_MAX_BYTES: usize = 3 * 1024 * 1024;

/// Pipeline names as they appear in a 425's list of filters.
pub const AGEOFF: &str = "PipelineAgeoff";
const INJECT_ID: &str = "InjectId";
const PREVIOUSLY_DELETED: &str = "FilterPreviouslyDeleted";

/// An event between decoding and publishing.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub value: Datum,
    /// The JSON the event was posted as, if it was: Go keeps its time zones.
    pub json: Option<serde_json::Value>,
}

impl InFlight {
    pub fn from_raw(model: Model, raw: &[u8]) -> Result<Self, CodecError> {
        Ok(InFlight {
            value: avro_value::decode(model, raw)?,
            json: None,
        })
    }
}

/// Why [`canonical_key`] has no key to give.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalKeyError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    EmptyPath(#[from] EmptyPath),
}

/// The `kafka_key` the dispatcher gives a raw v6 event of `model` when it is posted: the same
/// every time for binary, status, plugin and insert events, random for the other models.
pub fn canonical_key(model: Model, raw: &[u8]) -> Result<String, CanonicalKeyError> {
    let event = InFlight::from_raw(model, raw)?;
    Ok(kafka_key(model, &event.value, &Origin::of(&event))?)
}

/// Time texts of a posted JSON event, looked up by JSON pointer.
pub struct Origin<'a>(Option<&'a serde_json::Value>);

impl<'a> Origin<'a> {
    pub fn of(event: &'a InFlight) -> Self {
        Origin(event.json.as_ref())
    }

    pub fn text(&self, pointer: &str) -> Option<&'a str> {
        self.0?.pointer(pointer)?.as_str()
    }
}

/// Source name → how long its events live.
pub type Ageoff = BTreeMap<String, Duration>;

/// The produce actions' result: the events left, and how many each action dropped.
#[derive(Debug, Default)]
pub struct Transformed {
    pub events: Vec<InFlight>,
    pub dropped: BTreeMap<&'static str, usize>,
}

/// Run the produce actions, in the dispatcher's order, over a batch of `model` events.
pub fn transform(
    model: Model,
    events: Vec<InFlight>,
    ageoff: &Ageoff,
    graveyard: &Graveyard,
) -> Transformed {
    let now = now_micros();
    let mut out = Transformed::default();
    for mut event in events {
        if aged_off(model, &event.value, ageoff, now) {
            *out.dropped.entry(AGEOFF).or_default() += 1;
            continue;
        }
        match kafka_key(model, &event.value, &Origin::of(&event)) {
            Ok(key) => set(&mut event.value, "kafka_key", string(key)),
            Err(EmptyPath) => {
                *out.dropped.entry(INJECT_ID).or_default() += 1;
                continue;
            }
        }
        // Judged on the new key but the tracking ids as posted: they are recomputed later.
        if model == Model::Binary
            && !graveyard.is_empty()
            && graveyard.buries(&Tracking::of(&event.value))
        {
            *out.dropped.entry(PREVIOUSLY_DELETED).or_default() += 1;
            continue;
        }
        remove_source_settings(model, &mut event.value);
        out.events.push(event);
    }
    out
}

/// `PipelineAgeoff`: a binary event (or a status event's input) whose source time plus its
/// source's `expire_events_after` has passed.
pub fn aged_off(model: Model, event: &Datum, ageoff: &Ageoff, now_micros: i64) -> bool {
    let prefix = match model {
        Model::Binary => "",
        Model::Status => "entity.input.",
        _ => return false,
    };
    let source = str_at(event, &format!("{prefix}source.name"));
    let Some(expiry) = ageoff.get(source) else {
        return false;
    };
    let born = micros_at(event, &format!("{prefix}source.timestamp"));
    born.saturating_add(expiry.as_micros() as i64) < now_micros
}

/// `SourceSettingRemoval`: settings go once the path is `remove_at_depth` deep.
fn remove_source_settings(model: Model, event: &mut Datum) {
    if model != Model::Binary {
        return;
    }
    let depth = avro_value::string_map_at(event, "source.settings")
        .into_iter()
        .find(|(k, _)| *k == "remove_at_depth")
        .and_then(|(_, v)| atoi(v).ok());
    if let Some(depth) = depth
        && array_at(event, "source.path").len() as i64 >= depth
    {
        set(event, "source.settings", empty_map());
    }
}

/// Where an event is published (`chooseTopic`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `system.<name>`: every non-binary model, and expedite / retry binary events.
    System(&'static str),
    /// `<source>.binary.<action>`.
    Binary { source: String, action: String },
}

/// An event ready to be appended to its topic.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Position in the posted batch, to report failures in order.
    pub index: usize,
    pub route: Route,
    pub raw: Vec<u8>,
    pub facts: EventFacts,
    /// What a delete event deletes, for the graveyard.
    pub deletion: Option<Deletion>,
}

/// The publish step up to the Kafka write: tracking ids, topic choice, encoding and the size
/// limit. Failures are per event; the others go ahead.
pub fn prepare(model: Model, events: Vec<InFlight>) -> (Vec<Prepared>, Vec<(usize, PublishError)>) {
    let mut ready = Vec::with_capacity(events.len());
    let mut failures = Vec::new();
    for (index, InFlight { mut value, json }) in events.into_iter().enumerate() {
        tracking::update(model, &mut value, &Origin(json.as_ref()));
        match prepare_one(model, index, value) {
            Ok(prepared) => ready.push(prepared),
            Err(e) => failures.push((index, e)),
        }
    }
    (ready, failures)
}

fn prepare_one(model: Model, index: usize, value: Datum) -> Result<Prepared, PublishError> {
    let route = route(model, &value)?;
    let facts = EventFacts::of(model, &value);
    let deletion = (model == Model::Delete)
        .then(|| Deletion::of(&value))
        .flatten();
    let raw = avro_value::encode(model, &value)?;
    if raw.len() > MESSAGE_MAX_BYTES {
        return Err(PublishError::TooLarge {
            size: raw.len(),
            max: MESSAGE_MAX_BYTES,
        });
    }
    Ok(Prepared {
        index,
        route,
        raw,
        facts,
        deletion,
    })
}

fn route(model: Model, event: &Datum) -> Result<Route, PublishError> {
    if model != Model::Binary {
        return Ok(Route::System(model.as_str()));
    }
    if bool_at(event, "flags.expedite") {
        return Ok(Route::System("expedite"));
    }
    if bool_at(event, "flags.retry") {
        return Ok(Route::System("error"));
    }
    let (source, action) = (str_at(event, "source.name"), str_at(event, "action"));
    if source.is_empty() || action.is_empty() {
        return Err(PublishError::MissingSourceOrAction);
    }
    Ok(Route::Binary {
        source: source.to_string(),
        action: action.to_string(),
    })
}

#[cfg(test)]
mod tests;
