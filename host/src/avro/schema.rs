//! Avro schemas of every Azul event model, written from the dispatcher's documented wire
//! format (field order defines the binary layout; all fields are non-nullable). Version 6 is
//! spelled out; versions 4 and 5 are derived from it as the deltas Azul's history documents.
//! Checked against Azul's own schema files and fixtures by the codec tests.

use std::sync::OnceLock;

use apache_avro::Schema;
use serde_json::{Value, json};

use super::{
    Model,
    layout::{Names, Node},
};

/// The avro schema versions Azul has used; older data is read through schema resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaVersion {
    /// First schema: no bulk `model_version`, no `EventSource.settings`, `file_format_legacy`.
    V4,
    /// Adds `EventSource.settings` (default `{}`) and the bulk `model_version`.
    V5,
    /// Drops `file_format_legacy`. What this project writes.
    V6,
}

impl SchemaVersion {
    pub const ALL: [SchemaVersion; 3] = [SchemaVersion::V4, SchemaVersion::V5, SchemaVersion::V6];

    pub fn number(self) -> i64 {
        match self {
            SchemaVersion::V4 => 4,
            SchemaVersion::V5 => 5,
            SchemaVersion::V6 => 6,
        }
    }

    /// The schema of data whose leading varint is `first`: `model_version` 5 or 6 names its
    /// version; anything else is v4 (Go's fallback: v4 bulks start with a block count).
    pub fn detect(first: i64) -> Self {
        match first {
            5 => SchemaVersion::V5,
            6 => SchemaVersion::V6,
            _ => SchemaVersion::V4,
        }
    }

    /// Whether bulks of this version start with `model_version`.
    pub fn bulk_has_version(self) -> bool {
        self != SchemaVersion::V4
    }
}

fn field(name: &str, ty: Value) -> Value {
    json!({ "name": name, "type": ty })
}

fn record(name: &str, fields: Vec<Value>) -> Value {
    json!({ "type": "record", "name": name, "fields": fields })
}

fn micros() -> Value {
    json!({ "type": "long", "logicalType": "timestamp-micros" })
}

fn size8(name: &str) -> Value {
    json!({ "type": "fixed", "name": name, "size": 8 })
}

fn strings(names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| field(n, json!("string"))).collect()
}

fn map_of_strings() -> Value {
    json!({ "type": "map", "values": "string" })
}

fn array_of(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn author() -> Value {
    record(
        "EventAuthor",
        strings(&["name", "version", "category", "security"]),
    )
}

/// A path node; `author` is a reference when EventAuthor is already defined.
fn path_node(author: Value) -> Value {
    record(
        "EventSourcePathNode",
        vec![
            field("author", author),
            field("action", json!("string")),
            field("sha256", json!("string")),
            field("relationship", map_of_strings()),
            field("timestamp", micros()),
            field("file_format", json!("string")),
            field("size", size8("source_size")),
            field("filename", json!("string")),
            field("language", json!("string")),
        ],
    )
}

fn event_source() -> Value {
    record(
        "EventSource",
        vec![
            field("name", json!("string")),
            field("references", map_of_strings()),
            field("security", json!("string")),
            field("path", array_of(path_node(json!("EventAuthor")))),
            field("timestamp", micros()),
            json!({ "name": "settings", "type": map_of_strings(), "default": {} }),
        ],
    )
}

fn binary_entity() -> Value {
    let mut fields = strings(&["sha256", "sha512", "sha1", "md5", "ssdeep", "tlsh"]);
    fields.push(field("size", size8("entity_size")));
    fields.extend(strings(&["mime", "magic", "file_format", "file_extension"]));
    fields.push(field("info", json!("bytes")));
    let mut feature = strings(&["name", "value", "type", "label"]);
    feature.push(field("size", size8("feature_size")));
    feature.push(field("offset", size8("datastream_offset")));
    fields.push(field(
        "features",
        array_of(record("BinaryEntityFeature", feature)),
    ));
    let mut stream = vec![
        field("identify_version", json!("long")),
        field("label", json!("string")),
    ];
    stream.push(field("size", size8("datastream_size")));
    stream.extend(strings(&[
        "sha512",
        "sha256",
        "sha1",
        "md5",
        "ssdeep",
        "tlsh",
        "mime",
        "magic",
        "file_format",
        "file_extension",
        "language",
    ]));
    fields.push(field(
        "datastreams",
        array_of(record("BinaryEntityDatastream", stream)),
    ));
    record("BinaryEntity", fields)
}

/// The common envelope: model_version, kafka_key, timestamp, author.
fn envelope(author: Value) -> Vec<Value> {
    vec![
        field("model_version", json!("long")),
        field("kafka_key", json!("string")),
        field("timestamp", micros()),
        field("author", author),
    ]
}

fn binary_event(author: Value) -> Value {
    let mut fields = envelope(author);
    fields.push(field("source", event_source()));
    fields.push(field("entity", binary_entity()));
    fields.extend(strings(&["action", "dequeued"]));
    fields.push(field("retries", json!("long")));
    let flags = ["bypass_cache", "expedite", "retry"]
        .iter()
        .map(|n| field(n, json!("boolean")))
        .collect();
    fields.push(field("flags", record("BinaryFlags", flags)));
    fields.push(field("track_source_references", json!("string")));
    fields.push(field("track_links", array_of(json!("string"))));
    fields.push(field("track_authors", array_of(json!("string"))));
    record("BinaryEvent", fields)
}

fn insert_event() -> Value {
    let mut fields = envelope(author());
    let entity = vec![
        field("original_source", json!("string")),
        field("parent_sha256", json!("string")),
        field("child", binary_entity()),
        field("child_history", path_node(json!("EventAuthor"))),
    ];
    fields.push(field("entity", record("InsertEntity", entity)));
    fields.extend(strings(&["track_link", "track_author"]));
    record("InsertEvent", fields)
}

fn delete_event() -> Value {
    let mut fields = envelope(author());
    let submission = vec![
        field("track_source_references", json!("string")),
        field("timestamp", micros()),
    ];
    let by_author = vec![
        field("track_author", json!("string")),
        field("timestamp", micros()),
    ];
    let entity = vec![
        field("reason", json!("string")),
        field("submission", record("DeleteEntitySubmission", submission)),
        field("author", record("DeleteEntityAuthor", by_author)),
        field("link", record("DeleteEntityLink", strings(&["track_link"]))),
        field(
            "ids",
            record(
                "DeleteEntityIDs",
                vec![field("ids", array_of(json!("string")))],
            ),
        ),
    ];
    fields.push(field("entity", record("DeleteEntity", entity)));
    fields.push(field("action", json!("string")));
    record("DeleteEvent", fields)
}

fn status_event() -> Value {
    let mut fields = envelope(author());
    let entity = vec![
        field("input", binary_event(json!("EventAuthor"))),
        field("status", json!("string")),
        field("runtime", json!("double")),
        field("error", json!("string")),
        field("message", json!("string")),
        field("results", array_of(json!("BinaryEvent"))),
    ];
    fields.push(field("entity", record("StatusEntity", entity)));
    record("StatusEvent", fields)
}

fn plugin_event() -> Value {
    let mut fields = envelope(author());
    let mut feature = strings(&["name", "type", "desc"]);
    feature.push(field("tags", array_of(json!("string"))));
    let mut entity = strings(&["name", "version", "category", "contact", "description"]);
    entity.push(field(
        "features",
        array_of(record("PluginEntityFeature", feature)),
    ));
    entity.push(field("security", json!("string")));
    entity.push(field("config", map_of_strings()));
    fields.push(field("entity", record("PluginEntity", entity)));
    record("PluginEvent", fields)
}

fn download_event() -> Value {
    let mut fields = envelope(author());
    fields.push(field("source", event_source()));
    fields.push(field("action", json!("string")));
    let entity = vec![
        field("hash", json!("string")),
        field("direct_url", json!("string")),
        field("direct_expiry", micros()),
        field("pcap", json!("boolean")),
        field("category", json!("string")),
        field("category_quota", json!("long")),
        field("metadata", json!("bytes")),
    ];
    fields.push(field("entity", record("DownloadEntity", entity)));
    record("DownloadEvent", fields)
}

fn retrohunt_event() -> Value {
    let mut fields = envelope(author());
    fields.push(field("entity", json!("bytes")));
    fields.push(field("action", json!("string")));
    let source = vec![
        field("submitter", json!("string")),
        field("security", json!("string")),
        field("timestamp", micros()),
    ];
    fields.push(field("source", record("RetrohuntSource", source)));
    record("RetrohuntEvent", fields)
}

/// The schema JSON of one event (not the bulk) of `model`, version 6.
pub fn event_schema_json(model: Model) -> Value {
    match model {
        Model::Binary => binary_event(author()),
        Model::Insert => insert_event(),
        Model::Delete => delete_event(),
        Model::Status => status_event(),
        Model::Plugin => plugin_event(),
        Model::Download => download_event(),
        Model::Retrohunt => retrohunt_event(),
    }
}

/// Records that carried `file_format_legacy` (just before `file_format`) until v6.
const LEGACY_FORMAT_RECORDS: [&str; 3] = [
    "EventSourcePathNode",
    "BinaryEntity",
    "BinaryEntityDatastream",
];

/// Turn a v6 schema into the same schema of an older `version`.
fn downgrade(schema: &mut Value, version: SchemaVersion) {
    match schema {
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
            let is_record = o.get("type").and_then(Value::as_str) == Some("record");
            let legacy = is_record && LEGACY_FORMAT_RECORDS.contains(&name);
            let drop_settings = is_record && name == "EventSource" && version == SchemaVersion::V4;
            if let Some(Value::Array(fields)) = o.get_mut("fields") {
                if legacy {
                    let at = fields
                        .iter()
                        .position(|f| f["name"] == "file_format")
                        .unwrap_or(fields.len());
                    fields.insert(at, field("file_format_legacy", json!("string")));
                }
                if drop_settings {
                    fields.retain(|f| f["name"] != "settings");
                }
            }
            o.values_mut().for_each(|v| downgrade(v, version));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| downgrade(v, version)),
        _ => {}
    }
}

/// The schema JSON of one event of `model` in an older or current `version`.
pub fn event_schema_json_version(model: Model, version: SchemaVersion) -> Value {
    let mut schema = event_schema_json(model);
    if version != SchemaVersion::V6 {
        downgrade(&mut schema, version);
    }
    schema
}

/// The compiled event layout of `model` in `version`, built once.
pub(crate) fn event_node(model: Model, version: SchemaVersion) -> &'static Node {
    static NODES: OnceLock<Vec<Node>> = OnceLock::new();
    let all = NODES.get_or_init(|| {
        SchemaVersion::ALL
            .iter()
            .flat_map(|v| Model::ALL.iter().map(move |m| (*m, *v)))
            .map(|(m, v)| {
                Names::default()
                    .compile(&event_schema_json_version(m, v))
                    .expect("built-in schema compiles")
            })
            .collect()
    });
    &all[version as usize * Model::ALL.len() + model as usize]
}

/// The parsed v6 event schema of `model`, built once.
pub fn event_schema(model: Model) -> &'static Schema {
    static SCHEMAS: OnceLock<Vec<Schema>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        Model::ALL
            .iter()
            .map(|m| Schema::parse(&event_schema_json(*m)).expect("built-in schema is valid"))
            .collect()
    });
    &all[model as usize]
}
