//! Bulk datums: `model_version` (v5+) then an array of events in blocks.

use apache_avro::{from_avro_datum, to_avro_datum, types::Value};

use super::{CURRENT_MODEL_VERSION, CodecError, DecodedEvent, Model, fields, schema};

/// Events per array block, as Azul's encoder (hamba/avro) writes them.
const BLOCK_LEN: usize = 100;

fn read_long(buf: &[u8], pos: &mut usize) -> Result<i64, CodecError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(|| CodecError::Malformed {
            offset: *pos,
            reason: "unexpected end of data in a varint".into(),
        })?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    Err(CodecError::Malformed {
        offset: *pos,
        reason: "varint longer than 10 bytes".into(),
    })
}

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

/// Decode a bulk datum of `model`. Trailing bytes after the array are ignored, as Azul does.
pub fn decode_bulk(model: Model, bytes: &[u8]) -> Result<Vec<DecodedEvent>, CodecError> {
    let mut pos = 0;
    let version = read_long(bytes, &mut pos)?;
    if version != CURRENT_MODEL_VERSION {
        return Err(CodecError::UnsupportedVersion(version));
    }
    let schema = schema::event_schema(model);
    let mut events = Vec::new();
    loop {
        let mut count = read_long(bytes, &mut pos)?;
        if count == 0 {
            return Ok(events);
        }
        if count < 0 {
            count = -count;
            read_long(bytes, &mut pos)?; // block size in bytes: not needed to decode
        }
        for _ in 0..count {
            let start = pos;
            let mut reader = &bytes[pos..];
            let value =
                from_avro_datum(schema, &mut reader, None).map_err(|e| CodecError::BadEvent {
                    model,
                    index: events.len(),
                    reason: e.to_string(),
                })?;
            pos = bytes.len() - reader.len();
            events.push(fields::describe(model, bytes[start..pos].to_vec(), &value));
        }
    }
}

/// Encode events' raw v6 datums as a bulk, in blocks of 100 with byte sizes (as Azul does).
pub fn encode_bulk_from_raw<'a>(events: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let events: Vec<&[u8]> = events.into_iter().collect();
    let mut out = Vec::with_capacity(4 + events.iter().map(|e| e.len() + 2).sum::<usize>());
    write_long(&mut out, CURRENT_MODEL_VERSION);
    for block in events.chunks(BLOCK_LEN) {
        write_long(&mut out, -(block.len() as i64));
        write_long(&mut out, block.iter().map(|e| e.len() as i64).sum());
        for event in block {
            out.extend_from_slice(event);
        }
    }
    write_long(&mut out, 0);
    out
}

/// Encode decoded events as a bulk.
pub fn encode_bulk(events: &[DecodedEvent]) -> Vec<u8> {
    encode_bulk_from_raw(events.iter().map(|e| e.raw.as_slice()))
}

/// Encode one event value with the v6 schema of `model`, returning its raw datum.
pub fn encode_event(model: Model, value: Value) -> Result<Vec<u8>, CodecError> {
    to_avro_datum(schema::event_schema(model), value).map_err(|e| CodecError::BadEvent {
        model,
        index: 0,
        reason: e.to_string(),
    })
}

/// Decode one raw v6 event datum (as held in a bulk) back into a [`DecodedEvent`].
pub fn describe_raw(model: Model, raw: &[u8]) -> Result<DecodedEvent, CodecError> {
    let mut reader = raw;
    let value = from_avro_datum(schema::event_schema(model), &mut reader, None).map_err(|e| {
        CodecError::BadEvent {
            model,
            index: 0,
            reason: e.to_string(),
        }
    })?;
    Ok(fields::describe(model, raw.to_vec(), &value))
}
