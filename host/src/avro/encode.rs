//! Writing [`Datum`]s exactly as Azul's Go encoder (hamba/avro) does: arrays and maps in
//! blocks of at most 100 items, each block headed by its NEGATIVE item count and its byte
//! size, then a terminating 0. (apache-avro's writer uses positive counts without sizes.)

use std::collections::HashMap;

use apache_avro::types::Value;

use super::{
    datum::Datum,
    layout::{Node, Record},
};

/// Items per array/map block (hamba's default `BlockLength`).
pub(crate) const BLOCK_LEN: usize = 100;

/// Room reserved for a block header (two varints) while the block body is written.
const HEADER_ROOM: usize = 20;

pub(crate) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// hamba `WriteBlockHeader`: `-count, size` when the block has bytes, else just `count`.
fn write_block_header(out: &mut Vec<u8>, count: usize, size: usize) {
    if size > 0 {
        write_long(out, -(count as i64));
        write_long(out, size as i64);
    } else {
        write_long(out, count as i64);
    }
}

/// Write `items` as blocks of [`BLOCK_LEN`], each body written in place after reserved room
/// that the real header then replaces (as hamba's `WriteBlockCB` does).
pub(crate) fn write_blocks<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T),
) {
    for block in items.chunks(BLOCK_LEN) {
        let header_at = out.len();
        out.resize(header_at + HEADER_ROOM, 0);
        for i in block {
            item(out, i);
        }
        let body = header_at + HEADER_ROOM..out.len();
        let mut header = Vec::with_capacity(HEADER_ROOM);
        write_block_header(&mut header, block.len(), body.len());
        out[header_at..header_at + header.len()].copy_from_slice(&header);
        out.copy_within(body.clone(), header_at + header.len());
        out.truncate(body.end - (HEADER_ROOM - header.len()));
    }
    write_block_header(out, 0, 0);
}

/// Append the avro encoding of `datum`.
pub(crate) fn write_datum(out: &mut Vec<u8>, datum: &Datum) {
    match datum {
        Datum::Boolean(b) => out.push(u8::from(*b)),
        Datum::Long(n) | Datum::Timestamp(n) => write_long(out, *n),
        Datum::Double(f) => out.extend_from_slice(&f.to_le_bytes()),
        Datum::String(s) => write_bytes(out, s.as_bytes()),
        Datum::Bytes(b) => write_bytes(out, b),
        Datum::Fixed(b) => out.extend_from_slice(b),
        Datum::Array(items) => write_blocks(out, items, write_datum),
        Datum::Map(entries) => write_blocks(out, entries, |out, (k, v)| {
            write_bytes(out, k.as_bytes());
            write_datum(out, v);
        }),
        Datum::Record(fields) => fields.iter().for_each(|(_, v)| write_datum(out, v)),
    }
}

pub(crate) fn encode_datum(datum: &Datum) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_datum(&mut out, datum);
    out
}

/// Check an apache-avro value against `node` and convert it (record fields by name; map
/// entries sorted by key, since a `HashMap` has no order of its own).
pub(crate) fn from_apache(value: Value, node: &'static Node) -> Result<Datum, String> {
    Ok(match (node, value) {
        (Node::Boolean, Value::Boolean(b)) => Datum::Boolean(b),
        (Node::Long, Value::Long(n)) => Datum::Long(n),
        (Node::Long, Value::Int(n)) => Datum::Long(n.into()),
        (Node::Timestamp, Value::TimestampMicros(n) | Value::Long(n)) => Datum::Timestamp(n),
        (Node::Double, Value::Double(f)) => Datum::Double(f),
        (Node::String, Value::String(s)) => Datum::String(s),
        (Node::Bytes, Value::Bytes(b)) => Datum::Bytes(b),
        (Node::Fixed { size, .. }, Value::Fixed(n, b)) if n == *size && b.len() == *size => {
            Datum::Fixed(b)
        }
        (Node::Array(items), Value::Array(values)) => Datum::Array(
            values
                .into_iter()
                .map(|v| from_apache(v, items))
                .collect::<Result<_, _>>()?,
        ),
        (Node::Map(values), Value::Map(entries)) => {
            let mut entries: Vec<(String, Value)> = entries.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Datum::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((k, from_apache(v, values)?)))
                    .collect::<Result<_, String>>()?,
            )
        }
        // Values decoded or built from the schema hold their fields in its order: take them
        // as they come, and look them up by name only when the order differs.
        (Node::Record(record), Value::Record(fields))
            if in_schema_order(fields.iter().map(|(n, _)| n.as_str()), record) =>
        {
            Datum::Record(
                fields
                    .into_iter()
                    .zip(&record.fields)
                    .map(|((_, v), f)| {
                        let d = from_apache(v, &f.node)
                            .map_err(|e| format!("{}.{}: {e}", record.name, f.name))?;
                        Ok((f.name.as_str(), d))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        (Node::Record(record), Value::Record(fields)) => {
            let mut fields: HashMap<String, Value> = fields.into_iter().collect();
            Datum::Record(
                record
                    .fields
                    .iter()
                    .map(|f| {
                        let v = fields
                            .remove(&f.name)
                            .ok_or_else(|| format!("{}.{} is missing", record.name, f.name))?;
                        let d = from_apache(v, &f.node)
                            .map_err(|e| format!("{}.{}: {e}", record.name, f.name))?;
                        Ok((f.name.as_str(), d))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        (node, value) => return Err(format!("{value:?} is not a {node:?}")),
    })
}

/// Check that `datum` has the shape of `node`, as writing it needs (a field rewritten with
/// a value of another type would otherwise be written as bytes no reader could decode).
pub(crate) fn check_shape(datum: &Datum, node: &Node) -> Result<(), String> {
    match (node, datum) {
        (Node::Boolean, Datum::Boolean(_))
        | (Node::Long, Datum::Long(_))
        | (Node::Timestamp, Datum::Timestamp(_))
        | (Node::Double, Datum::Double(_))
        | (Node::String, Datum::String(_))
        | (Node::Bytes, Datum::Bytes(_)) => Ok(()),
        (Node::Fixed { size, .. }, Datum::Fixed(b)) if b.len() == *size => Ok(()),
        (Node::Array(item), Datum::Array(items)) => {
            items.iter().try_for_each(|d| check_shape(d, item))
        }
        (Node::Map(value), Datum::Map(entries)) => {
            entries.iter().try_for_each(|(_, d)| check_shape(d, value))
        }
        (Node::Record(record), Datum::Record(fields))
            if in_schema_order(fields.iter().map(|(n, _)| *n), record) =>
        {
            fields
                .iter()
                .zip(&record.fields)
                .try_for_each(|((_, d), f)| {
                    check_shape(d, &f.node).map_err(|e| format!("{}.{}: {e}", record.name, f.name))
                })
        }
        (node, datum) => Err(format!("{datum:?} is not a {node:?}")),
    }
}

/// Whether a record's field names are exactly the schema's fields, in the schema's order.
fn in_schema_order<'a>(names: impl ExactSizeIterator<Item = &'a str>, record: &Record) -> bool {
    names.len() == record.fields.len() && names.zip(&record.fields).all(|(n, f)| n == f.name)
}
