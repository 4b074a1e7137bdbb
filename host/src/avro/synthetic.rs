//! Building well-formed events from scratch: for the emulator's synthetic corpus, tests
//! and benchmarks. Every field starts at its Go zero value; callers set what they need.

use std::collections::HashMap;

use apache_avro::types::Value;
use serde_json::Value as Json;

use super::{CodecError, Model, bulk::encode_event, fields::GO_ZERO_TIME_MICROS, schema};

/// Zero values of every named type of a schema, so array items can be built.
struct Zeroes {
    named: HashMap<String, Value>,
}

impl Zeroes {
    fn of(&mut self, ty: &Json) -> Value {
        match ty {
            Json::String(name) => self.primitive(name),
            Json::Object(o) => {
                let kind = o.get("type").and_then(Json::as_str).unwrap_or_default();
                let logical = o.get("logicalType").and_then(Json::as_str);
                let value = match (kind, logical) {
                    ("long", Some("timestamp-micros")) => {
                        Value::TimestampMicros(GO_ZERO_TIME_MICROS)
                    }
                    ("record", _) => Value::Record(
                        o["fields"]
                            .as_array()
                            .map(|fs| {
                                fs.iter()
                                    .map(|f| {
                                        (
                                            f["name"].as_str().unwrap_or_default().to_string(),
                                            self.of(&f["type"]),
                                        )
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    ("fixed", _) => Value::Fixed(8, vec![0; 8]),
                    ("array", _) => {
                        self.of(&o["items"]); // registers named item types
                        Value::Array(Vec::new())
                    }
                    ("map", _) => Value::Map(HashMap::new()),
                    (other, _) => self.primitive(other),
                };
                if let Some(name) = o.get("name").and_then(Json::as_str)
                    && matches!(kind, "record" | "fixed")
                {
                    self.named.insert(name.to_string(), value.clone());
                }
                value
            }
            _ => Value::Null,
        }
    }

    fn primitive(&self, name: &str) -> Value {
        match name {
            "string" => Value::String(String::new()),
            "long" => Value::Long(0),
            "boolean" => Value::Boolean(false),
            "bytes" => Value::Bytes(Vec::new()),
            "double" => Value::Double(0.0),
            named => self.named.get(named).cloned().unwrap_or(Value::Null),
        }
    }
}

/// An event of `model` with every field at its zero value, plus zero values of its named types.
pub struct EventDraft {
    model: Model,
    value: Value,
    zeroes: Zeroes,
}

impl EventDraft {
    pub fn new(model: Model) -> Self {
        let mut zeroes = Zeroes {
            named: HashMap::new(),
        };
        let value = zeroes.of(&schema::event_schema_json(model));
        let mut draft = EventDraft {
            model,
            value,
            zeroes,
        };
        draft.set("model_version", Value::Long(super::CURRENT_MODEL_VERSION));
        draft
    }

    /// A zero value of the named record type `name` (e.g. `BinaryEntityDatastream`).
    pub fn zero_of(&self, name: &str) -> Value {
        self.zeroes.named.get(name).cloned().unwrap_or(Value::Null)
    }

    /// Set the field at dotted `path` (records only), e.g. `source.name`.
    pub fn set(&mut self, path: &str, v: Value) -> &mut Self {
        set_path(&mut self.value, path, v);
        self
    }

    pub fn set_str(&mut self, path: &str, s: &str) -> &mut Self {
        self.set(path, Value::String(s.to_string()))
    }

    pub fn encode(self) -> Result<Vec<u8>, CodecError> {
        encode_event(self.model, self.value)
    }
}

/// Set a field of a record value at a dotted path; also usable on array items.
pub fn set_path(value: &mut Value, path: &str, v: Value) {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    if let Value::Record(fields) = value
        && let Some((_, slot)) = fields.iter_mut().find(|(n, _)| n == head)
    {
        match rest {
            Some(rest) => set_path(slot, rest, v),
            None => *slot = v,
        }
    }
}

/// `size` fields are Go uint64 encoded as big-endian fixed(8).
pub fn size8(n: u64) -> Value {
    Value::Fixed(8, n.to_be_bytes().to_vec())
}

/// One datastream of a synthetic binary event.
#[derive(Debug, Clone)]
pub struct SyntheticStream {
    pub label: String,
    pub sha256: String,
    pub size: u64,
}

/// The fields a synthetic binary event is made from.
#[derive(Debug, Clone)]
pub struct SyntheticBinary {
    pub source: String,
    pub action: String,
    pub author: String,
    pub kafka_key: String,
    pub timestamp_micros: i64,
    /// The entity's sha256 (usually that of its `content` stream).
    pub sha256: String,
    pub streams: Vec<SyntheticStream>,
}

impl SyntheticBinary {
    /// A valid `sourced` event of source `testing` with one 391-byte `content` stream: the
    /// smallest realistic event, for tests.
    pub fn sample(kafka_key: &str) -> Self {
        SyntheticBinary {
            source: "testing".into(),
            action: "sourced".into(),
            author: "bob".into(),
            kafka_key: kafka_key.into(),
            timestamp_micros: 1_754_417_400_000_000,
            sha256: "ab".repeat(32),
            streams: vec![SyntheticStream {
                label: "content".into(),
                sha256: "ab".repeat(32),
                size: 391,
            }],
        }
    }
}

/// Encode a synthetic binary event as a v6 datum.
pub fn binary_event(b: &SyntheticBinary) -> Result<Vec<u8>, CodecError> {
    let mut d = EventDraft::new(Model::Binary);
    let author = {
        let mut a = d.zero_of("EventAuthor");
        set_path(&mut a, "name", Value::String(b.author.clone()));
        set_path(&mut a, "category", Value::String("plugin".into()));
        a
    };
    let mut node = d.zero_of("EventSourcePathNode");
    set_path(&mut node, "author", author.clone());
    set_path(&mut node, "action", Value::String(b.action.clone()));
    set_path(&mut node, "sha256", Value::String(b.sha256.clone()));
    set_path(
        &mut node,
        "timestamp",
        Value::TimestampMicros(b.timestamp_micros),
    );
    let streams = b
        .streams
        .iter()
        .map(|s| {
            let mut ds = d.zero_of("BinaryEntityDatastream");
            set_path(&mut ds, "label", Value::String(s.label.clone()));
            set_path(&mut ds, "sha256", Value::String(s.sha256.clone()));
            set_path(&mut ds, "size", size8(s.size));
            ds
        })
        .collect();
    d.set_str("kafka_key", &b.kafka_key)
        .set("timestamp", Value::TimestampMicros(b.timestamp_micros))
        .set("author", author)
        .set_str("action", &b.action)
        .set_str("source.name", &b.source)
        .set("source.path", Value::Array(vec![node]))
        .set(
            "source.timestamp",
            Value::TimestampMicros(b.timestamp_micros),
        )
        .set_str("entity.sha256", &b.sha256)
        .set("entity.info", Value::Bytes(b"{}".to_vec()))
        .set("entity.datastreams", Value::Array(streams));
    d.encode()
}

/// Encode a synthetic `insert` event (a child added under `parent_sha256`).
pub fn insert_event(
    kafka_key: &str,
    timestamp_micros: i64,
    parent_sha256: &str,
    child_sha256: &str,
) -> Result<Vec<u8>, CodecError> {
    let mut d = EventDraft::new(Model::Insert);
    d.set_str("kafka_key", kafka_key)
        .set("timestamp", Value::TimestampMicros(timestamp_micros))
        .set_str("author.name", "synthetic-inserter")
        .set_str("entity.original_source", "samples")
        .set_str("entity.parent_sha256", parent_sha256)
        .set_str("entity.child.sha256", child_sha256)
        .set_str("entity.child_history.sha256", child_sha256)
        .set_str("entity.child_history.action", "extracted")
        .set_str("entity.child_history.author.name", "synthetic-inserter")
        .set(
            "entity.child_history.timestamp",
            Value::TimestampMicros(timestamp_micros),
        );
    d.encode()
}

/// Encode a synthetic `delete` event (a submission deleted).
pub fn delete_event(
    kafka_key: &str,
    timestamp_micros: i64,
    track_source_references: &str,
) -> Result<Vec<u8>, CodecError> {
    let mut d = EventDraft::new(Model::Delete);
    d.set_str("kafka_key", kafka_key)
        .set("timestamp", Value::TimestampMicros(timestamp_micros))
        .set_str("author.name", "synthetic-deleter")
        .set_str("action", "submission")
        .set_str("entity.reason", "deleted via metastore api")
        .set_str(
            "entity.submission.track_source_references",
            track_source_references,
        );
    d.encode()
}
