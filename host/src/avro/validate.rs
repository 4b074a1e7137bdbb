//! Azul's event validity rules (`CheckValid`), as far as backup depends on them.

use super::{Model, datum::Datum};

fn get<'a>(value: &'a Datum, name: &str) -> Option<&'a Datum> {
    value.get(name)
}

fn get_str<'a>(value: &'a Datum, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Datum::as_str)
}

fn get_array<'a>(value: &'a Datum, name: &str) -> &'a [Datum] {
    value.items_at(name)
}

use super::BINARY_ACTIONS as ACTIONS;

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

fn non_empty(value: Option<&Datum>, name: &str) -> bool {
    value
        .and_then(|v| get_str(v, name))
        .is_some_and(|s| !s.is_empty())
}

/// Why `value` (an event of `model`) is invalid, or `None` when it is valid.
pub(crate) fn check(model: Model, value: &Datum) -> Option<String> {
    if !non_empty(get(value, "author"), "name") {
        return Some("author.name is empty".into());
    }
    match model {
        Model::Binary => check_binary(value),
        Model::Insert => check_insert(value),
        _ => None,
    }
}

fn check_path_node(node: &Datum, what: &str) -> Option<String> {
    if !non_empty(Some(node), "sha256") {
        return Some(format!("{what} has no sha256"));
    }
    let action = get_str(node, "action").unwrap_or_default();
    if !ACTIONS.contains(&action) {
        return Some(format!("{what} has invalid action {action:?}"));
    }
    if !non_empty(get(node, "author"), "name") {
        return Some(format!("{what} has no author.name"));
    }
    None
}

fn check_binary(value: &Datum) -> Option<String> {
    let action = get_str(value, "action").unwrap_or_default();
    if !ACTIONS.contains(&action) {
        return Some(format!("invalid action {action:?}"));
    }
    let source = get(value, "source");
    if !non_empty(source, "name") {
        return Some("source.name is empty".into());
    }
    let path = source.map(|s| get_array(s, "path")).unwrap_or_default();
    if path.is_empty() {
        return Some("source.path is empty".into());
    }
    for (i, node) in path.iter().enumerate() {
        if let Some(e) = check_path_node(node, &format!("source.path[{i}]")) {
            return Some(e);
        }
        if get_str(node, "action") == Some("enriched") && i + 1 != path.len() {
            return Some("enriched is only allowed on the last path node".into());
        }
    }
    let streams = get(value, "entity")
        .map(|e| get_array(e, "datastreams"))
        .unwrap_or_default();
    let labels: Vec<&str> = streams
        .iter()
        .map(|d| get_str(d, "label").unwrap_or_default())
        .collect();
    if let Some(bad) = labels.iter().find(|l| !LABELS.contains(l)) {
        return Some(format!("invalid datastream label {bad:?}"));
    }
    let has_content = labels.contains(&"content");
    match action {
        "enriched" if !labels.is_empty() => Some("enriched events must have no datastreams".into()),
        "mapped" if has_content => Some("mapped events must not have a content stream".into()),
        "sourced" | "extracted" | "augmented" if !has_content => {
            Some(format!("{action} events need a content stream"))
        }
        "augmented" if labels.iter().all(|l| *l == "content") => {
            Some("augmented events need a stream besides content".into())
        }
        _ => None,
    }
}

fn check_insert(value: &Datum) -> Option<String> {
    let entity = get(value, "entity");
    if !non_empty(entity, "parent_sha256") {
        return Some("entity.parent_sha256 is empty".into());
    }
    match entity.and_then(|e| get(e, "child_history")) {
        Some(node) => check_path_node(node, "entity.child_history"),
        None => Some("entity.child_history is missing".into()),
    }
}
