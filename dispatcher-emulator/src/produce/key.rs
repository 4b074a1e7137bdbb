//! `InjectId` (`pipeline_produce/key.go`): the dispatcher replaces every posted event's
//! `kafka_key`. It is the MD5 of a descriptor that is deterministic for binary, status, plugin
//! and insert events, and of 32 random bytes for every other model.

use azul_backup::avro::Datum;
use azul_backup::avro::Model;
use md5::{Digest, Md5};
use rand::RngCore;

use super::Origin;
use crate::{
    avro_value::{array_at, micros_at, str_at, string_map_at},
    gotime,
};

/// The dispatcher drops an event whose key cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad path, no items found")]
pub struct EmptyPath;

/// The new `kafka_key` of an event.
pub fn kafka_key(model: Model, event: &Datum, origin: &Origin) -> Result<String, EmptyPath> {
    let descriptor = match descriptor(model, event, origin)? {
        Some(text) => text.into_bytes(),
        None => {
            let mut token = [0u8; 32];
            rand::rng().fill_bytes(&mut token);
            token.to_vec()
        }
    };
    Ok(hex::encode(Md5::digest(descriptor)))
}

/// The text hashed into a deterministic key; `None` for models keyed at random.
pub fn descriptor(
    model: Model,
    event: &Datum,
    origin: &Origin,
) -> Result<Option<String>, EmptyPath> {
    Ok(Some(match model {
        Model::Status => format!(
            "{}.{}",
            str_at(event, "entity.input.dequeued"),
            str_at(event, "author.name")
        ),
        Model::Plugin => format!(
            "{}.{}",
            str_at(event, "entity.name"),
            str_at(event, "entity.version")
        ),
        Model::Insert => [
            str_at(event, "entity.parent_sha256"),
            str_at(event, "entity.child.sha256"),
            str_at(event, "entity.child_history.author.name"),
        ]
        .join("."),
        Model::Binary => binary_descriptor(event, origin)?,
        Model::Delete | Model::Download | Model::Retrohunt => return Ok(None),
    }))
}

/// Source, seconds of the source time, sorted references and settings, the path's securities,
/// then the parent and current path nodes. Author versions and other times are left out so
/// re-runs of a plugin collide.
fn binary_descriptor(event: &Datum, origin: &Origin) -> Result<String, EmptyPath> {
    let mut buf = String::with_capacity(512);
    let mut push = |part: &str| {
        buf.push_str(part);
        buf.push('.');
    };
    push(str_at(event, "source.name"));
    push(str_at(event, "source.security"));
    push(&gotime::key_seconds(
        micros_at(event, "source.timestamp"),
        origin.text("/source/timestamp"),
    ));
    for map in ["source.references", "source.settings"] {
        let mut pairs: Vec<String> = string_map_at(event, map)
            .into_iter()
            .map(|(k, v)| format!("{k}.{v}"))
            .collect();
        pairs.sort();
        pairs.iter().for_each(|kv| push(kv));
    }
    let path = array_at(event, "source.path");
    if path.is_empty() {
        return Err(EmptyPath);
    }
    let mut securities: Vec<&str> = path
        .iter()
        .map(|node| str_at(node, "author.security"))
        .filter(|s| !s.is_empty())
        .collect();
    securities.sort_unstable();
    securities.dedup();
    securities.iter().for_each(|s| push(s));
    // The dispatcher means to include the first node too, but a reversed nil check means it
    // never does; only the parent (if any) and the current node count.
    let nodes = &path[path.len().saturating_sub(2)..];
    for node in nodes {
        push(str_at(node, "author.name"));
        push(str_at(node, "action"));
        push(str_at(node, "sha256"));
    }
    Ok(buf)
}
