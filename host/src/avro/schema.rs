//! Avro schema v6 of every Azul event model, written from the dispatcher's documented wire
//! format (field order defines the binary layout; all fields are non-nullable).
//! Checked against Azul's own fixtures by the codec tests.

use std::sync::OnceLock;

use apache_avro::Schema;
use serde_json::{Value, json};

use super::Model;

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
