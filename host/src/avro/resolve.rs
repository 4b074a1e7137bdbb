//! Avro schema resolution of data written with an older schema into the current one:
//! record fields are matched by name, fields the reader lacks are dropped and fields the
//! writer lacked take the reader's default. Azul's versions only add or remove fields.

use serde_json::Value as Json;

use super::{CURRENT_MODEL_VERSION, Model, datum::Datum, layout::Node};

/// Resolve `datum` (read with an older schema) into the layout `reader`.
pub(crate) fn resolve(datum: Datum, reader: &'static Node) -> Result<Datum, String> {
    Ok(match (datum, reader) {
        (Datum::Record(mut written), Node::Record(record)) => Datum::Record(
            record
                .fields
                .iter()
                .map(|field| {
                    let value = match written.iter().position(|(n, _)| *n == field.name) {
                        Some(i) => resolve(written.swap_remove(i).1, &field.node)?,
                        None => match &field.default {
                            Some(default) => from_default(default, &field.node)?,
                            None => {
                                return Err(format!(
                                    "{}.{} is missing and has no default",
                                    record.name, field.name
                                ));
                            }
                        },
                    };
                    Ok((field.name.as_str(), value))
                })
                .collect::<Result<_, String>>()?,
        ),
        (Datum::Array(items), Node::Array(node)) => Datum::Array(
            items
                .into_iter()
                .map(|d| resolve(d, node))
                .collect::<Result<_, _>>()?,
        ),
        (Datum::Map(entries), Node::Map(node)) => Datum::Map(
            entries
                .into_iter()
                .map(|(k, d)| Ok((k, resolve(d, node)?)))
                .collect::<Result<_, String>>()?,
        ),
        (d @ Datum::Boolean(_), Node::Boolean)
        | (d @ Datum::Long(_), Node::Long)
        | (d @ Datum::Timestamp(_), Node::Timestamp)
        | (d @ Datum::Double(_), Node::Double)
        | (d @ Datum::String(_), Node::String)
        | (d @ Datum::Bytes(_), Node::Bytes)
        | (d @ Datum::Fixed(_), Node::Fixed { .. }) => d,
        (d, node) => return Err(format!("cannot resolve {d:?} into {node:?}")),
    })
}

/// A schema default (JSON, per the avro spec) as a value of `node`.
fn from_default(default: &Json, node: &'static Node) -> Result<Datum, String> {
    let bad = || format!("default {default} does not fit {node:?}");
    Ok(match (node, default) {
        (Node::Boolean, Json::Bool(b)) => Datum::Boolean(*b),
        (Node::Long | Node::Timestamp, Json::Number(n)) => {
            let n = n.as_i64().ok_or_else(bad)?;
            if *node == Node::Long {
                Datum::Long(n)
            } else {
                Datum::Timestamp(n)
            }
        }
        (Node::Double, Json::Number(n)) => Datum::Double(n.as_f64().ok_or_else(bad)?),
        (Node::String, Json::String(s)) => Datum::String(s.clone()),
        (Node::Array(items), Json::Array(values)) => Datum::Array(
            values
                .iter()
                .map(|v| from_default(v, items))
                .collect::<Result<_, _>>()?,
        ),
        (Node::Map(values), Json::Object(entries)) => Datum::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_default(v, values)?)))
                .collect::<Result<_, String>>()?,
        ),
        (Node::Record(record), Json::Object(entries)) => Datum::Record(
            record
                .fields
                .iter()
                .map(|f| {
                    let value = entries
                        .get(&f.name)
                        .or(f.default.as_ref())
                        .ok_or_else(bad)?;
                    Ok((f.name.as_str(), from_default(value, &f.node)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        _ => return Err(bad()),
    })
}

/// Go's `SetModelVersion(6)`, which every decode applies: the event's `model_version`, and
/// for status events also that of `entity.input` and each `entity.results[]`. Returns
/// whether anything changed.
pub(crate) fn promote(model: Model, event: &mut Datum) -> bool {
    fn set(event: &mut Datum) -> bool {
        match event.get_mut("model_version") {
            Some(v) if *v != Datum::Long(CURRENT_MODEL_VERSION) => {
                *v = Datum::Long(CURRENT_MODEL_VERSION);
                true
            }
            _ => false,
        }
    }
    let mut changed = set(event);
    if model == Model::Status
        && let Some(entity) = event.get_mut("entity")
    {
        if let Some(input) = entity.get_mut("input") {
            changed |= set(input);
        }
        if let Some(Datum::Array(results)) = entity.get_mut("results") {
            for result in results {
                changed |= set(result);
            }
        }
    }
    changed
}
