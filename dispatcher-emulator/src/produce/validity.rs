//! The events' own `CheckValid` rules (bedrock `gosrc/events`), with their error texts: the
//! dispatcher reports them as `innerNewMsgInFlight <text>` in JSON POST failures.

use azul_backup::avro::Datum;
use azul_backup::avro::Model;

use crate::{
    avro_value::{array_at, str_at},
    topics::ACTIONS,
};

/// `event_binary_datastream_labels.go`.
const LABELS: [&str; 16] = [
    "assemblyline",
    "cape_report",
    "content",
    "cs_call_tree",
    "decompiled_cs",
    "decompiled_c",
    "decompiled_java",
    "deob_js",
    "password_dictionary",
    "pcap",
    "report",
    "safe_png",
    "screenshot",
    "test",
    "text",
    "yara_rule_hit",
];

const DOWNLOAD_ACTIONS: [&str; 5] = [
    "requested",
    "success",
    "failed",
    "failed-not-found",
    "skipped-already-present",
];

/// Why an event of `model` is invalid, in the dispatcher's words; `None` when it is valid.
pub fn check(model: Model, event: &Datum) -> Option<String> {
    if str_at(event, "author.name").is_empty() {
        return Some("event is missing 'author' field".into());
    }
    match model {
        Model::Binary => check_binary(event),
        Model::Insert => check_insert(event),
        Model::Status => check_status(event),
        Model::Download => check_download(event),
        Model::Delete | Model::Plugin | Model::Retrohunt => None,
    }
}

/// `EventSource.CheckValid`.
fn check_source(event: &Datum) -> Option<String> {
    if str_at(event, "source.name").is_empty() {
        return Some("source is missing 'Name' field".into());
    }
    for (i, node) in array_at(event, "source.path").iter().enumerate() {
        let action = str_at(node, "action");
        if str_at(node, "sha256").is_empty() {
            return Some(format!("source is missing the `path.{i}.Sha256` field"));
        }
        if action.is_empty() {
            return Some(format!("source is missing the `path.{i}.Action` field"));
        }
        if !ACTIONS.contains(&action) {
            return Some(format!(
                "source have an invalid `path.{i}.Action` field, value is {action} which is invalid"
            ));
        }
        if str_at(node, "author.name").is_empty() {
            return Some(format!(
                "source is missing the `path.{i}.Author.Name` field"
            ));
        }
    }
    None
}

fn check_binary(event: &Datum) -> Option<String> {
    let action = str_at(event, "action");
    if action.is_empty() {
        return Some("event is missing 'action' field".into());
    }
    let path = array_at(event, "source.path");
    if path.is_empty() {
        return Some("event is missing 'source.path' entries".into());
    }
    if let Some(e) = check_source(event) {
        return Some(format!(
            "event has an invalid 'source' field with inner error {e}"
        ));
    }
    let mut labels: Vec<&str> = Vec::new();
    for stream in array_at(event, "entity.datastreams") {
        let label = str_at(stream, "label");
        if !LABELS.contains(&label) {
            return Some(format!(
                "the provided label '{label}' is invalid, please use a valid label"
            ));
        }
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if !ACTIONS.contains(&action) {
        return Some(format!(
            "event has invalid action '{action}' which is not in the allowed list of binary actions"
        ));
    }
    let has_content = labels.contains(&"content");
    match action {
        "enriched" if !labels.is_empty() => {
            return Some(format!("{action} cannot have entity.datastreams entries"));
        }
        "mapped" if has_content => {
            return Some(format!("{action} can only have labels that aren't content"));
        }
        "enriched" | "mapped" => {}
        _ if !has_content => {
            return Some(format!(
                "{action} must have entity.datastreams with label=content"
            ));
        }
        "augmented" if labels.len() < 2 => {
            return Some(format!(
                "{action} must have entity.datastreams with another label!=content"
            ));
        }
        _ => {}
    }
    let leaf = path.len() - 1;
    path[..leaf]
        .iter()
        .find(|node| str_at(node, "action") == "enriched")
        .map(|_| "found enriched on non leaf node".to_string())
}

fn check_insert(event: &Datum) -> Option<String> {
    for stream in array_at(event, "entity.child.datastreams") {
        let label = str_at(stream, "label");
        if !LABELS.contains(&label) {
            return Some(format!("label for the inserted child '{label}' is invalid"));
        }
    }
    let required = [
        ("entity.parent_sha256", "parent_sha256"),
        ("entity.child_history.sha256", "child_history.sha256"),
        ("entity.child_history.action", "child_history.action"),
        (
            "entity.child_history.author.name",
            "child_history.author.name",
        ),
    ];
    required
        .into_iter()
        .find(|(path, _)| str_at(event, path).is_empty())
        .map(|(_, name)| format!("entity insert missing {name}"))
}

fn check_status(event: &Datum) -> Option<String> {
    if str_at(event, "entity.input.dequeued").is_empty() {
        return Some("entity status missing entity.input.dequeued".into());
    }
    array_at(event, "entity.results")
        .iter()
        .enumerate()
        .find_map(|(i, result)| {
            check(Model::Binary, result)
                .map(|e| format!("status result {i} is not valid binary event - {e}"))
        })
}

fn check_download(event: &Datum) -> Option<String> {
    let action = str_at(event, "action");
    if !DOWNLOAD_ACTIONS.contains(&action) {
        return Some(format!(
            "event has an invalid 'action' field with the value `{action}` which is not allowed"
        ));
    }
    check_source(event).map(|e| format!("event has an invalid 'source' field with inner error {e}"))
}
