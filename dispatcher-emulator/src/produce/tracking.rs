//! `UpdateTrackingFields` (bedrock `event_binary.go`, `event_insert.go`): the ids the
//! dispatcher stamps on binary and insert events at publish, which delete events match on.

use azul_backup::avro::Datum;
use azul_backup::avro::Model;
use md5::{Digest, Md5};

use super::Origin;
use crate::{
    avro_value::{array_at, micros_at, set, str_at, string, string_array, string_map_at},
    gotime,
};

/// Recompute the tracking fields of binary and insert events; other models have none.
pub fn update(model: Model, event: &mut Datum, origin: &Origin) {
    match model {
        Model::Binary => update_binary(event, origin),
        Model::Insert => update_insert(event, origin),
        _ => {}
    }
}

/// `<category>.<name>.<version>` of a path node's author.
fn track_author(node: &Datum) -> String {
    format!(
        "{}.{}.{}",
        str_at(node, "author.category"),
        str_at(node, "author.name"),
        str_at(node, "author.version")
    )
}

/// `<parent sha256>.<child sha256>.<child time>.<child author>`.
fn track_link(parent_sha256: &str, node: &Datum, time_text: Option<&str>) -> String {
    format!(
        "{parent_sha256}.{}.{}.{}",
        str_at(node, "sha256"),
        gotime::link_stamp(micros_at(node, "timestamp"), time_text),
        track_author(node)
    )
}

/// `<source>.<md5 of 'k1.v1.k2.v2.'>` with references sorted by key.
fn track_source_references(event: &Datum) -> String {
    let mut refs = string_map_at(event, "source.references");
    refs.sort_unstable();
    let joined: String = refs.iter().map(|(k, v)| format!("{k}.{v}.")).collect();
    format!(
        "{}.{}",
        str_at(event, "source.name"),
        hex::encode(Md5::digest(joined))
    )
}

fn update_binary(event: &mut Datum, origin: &Origin) {
    let references = track_source_references(event);
    let path = array_at(event, "source.path");
    let authors = path.iter().map(track_author).collect();
    let links = path
        .windows(2)
        .enumerate()
        .map(|(i, pair)| {
            let text = origin.text(&format!("/source/path/{}/timestamp", i + 1));
            track_link(str_at(&pair[0], "sha256"), &pair[1], text)
        })
        .collect();
    set(event, "track_source_references", string(references));
    set(event, "track_authors", string_array(authors));
    set(event, "track_links", string_array(links));
}

fn update_insert(event: &mut Datum, origin: &Origin) {
    let Some(history) = crate::avro_value::at(event, "entity.child_history") else {
        return;
    };
    let author = track_author(history);
    let text = origin.text("/entity/child_history/timestamp");
    let link = track_link(str_at(event, "entity.parent_sha256"), history, text);
    set(event, "track_author", string(author));
    set(event, "track_link", string(link));
}
