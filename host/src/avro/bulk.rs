//! Bulk datums (`model_version` from v5 on, then an array of events in blocks) and single
//! event datums, of schema versions 4, 5 and 6; everything comes out as v6.

use apache_avro::types::Value;

use super::{
    CURRENT_MODEL_VERSION, CodecError, DecodedEvent, Model,
    datum::Datum,
    encode::{check_shape, encode_datum, from_apache, write_blocks, write_long},
    fields,
    read::{ReadError, Reader},
    resolve::{promote, resolve},
    schema::{SchemaVersion, event_node},
    sparse::Pick,
};

fn bad_event(model: Model, index: usize) -> impl Fn(ReadError) -> CodecError {
    move |e| CodecError::BadEvent {
        model,
        index,
        reason: format!("at byte {}: {}", e.offset, e.reason),
    }
}

/// Read one event of `version` at the reader's position as v6, promoted to model_version 6
/// as Go does; `true` when that changed it (so the bytes read are not its v6 datum).
fn read_datum(
    model: Model,
    version: SchemaVersion,
    reader: &mut Reader,
    index: usize,
) -> Result<(Datum, bool), CodecError> {
    let mut event = reader
        .datum(event_node(model, version))
        .map_err(bad_event(model, index))?;
    if version != SchemaVersion::V6 {
        event = resolve(event, event_node(model, SchemaVersion::V6)).map_err(|reason| {
            CodecError::BadEvent {
                model,
                index,
                reason,
            }
        })?;
    }
    let promoted = promote(model, &mut event);
    Ok((event, version != SchemaVersion::V6 || promoted))
}

/// Read one event as [`read_datum`] does and describe it; `raw` is the original bytes when
/// they were its v6 datum already. A v6 event is read in part (only the fields described),
/// and again in full only if promoting it changes it.
fn read_event(
    model: Model,
    version: SchemaVersion,
    reader: &mut Reader,
    index: usize,
) -> Result<DecodedEvent, CodecError> {
    let start = reader.pos;
    if version == SchemaVersion::V6 {
        let mut part = reader
            .pick(event_node(model, version), Pick::event(model))
            .map_err(bad_event(model, index))?
            .expect("an event is picked in part");
        if !promote(model, &mut part) {
            return Ok(fields::describe(model, reader.since(start).to_vec(), &part));
        }
        reader.pos = start;
    }
    read_event_fully(model, version, reader, index)
}

/// [`read_event`] without reading in part: the whole event is decoded.
fn read_event_fully(
    model: Model,
    version: SchemaVersion,
    reader: &mut Reader,
    index: usize,
) -> Result<DecodedEvent, CodecError> {
    let start = reader.pos;
    let (event, changed) = read_datum(model, version, reader, index)?;
    let raw = match changed {
        false => reader.since(start).to_vec(),
        true => encode_datum(&event),
    };
    Ok(fields::describe(model, raw, &event))
}

/// Azul refuses a bulk that decodes to no events from more bytes than this
/// (`LENGTH_OF_BULK_HEADER_INFO`): it was most likely not a bulk.
const BULK_HEADER_MAX: usize = 10;

/// Decode a bulk datum of `model`, of schema version 4, 5 or 6. Trailing bytes after the
/// array are ignored, as Azul does, unless the array is empty (see [`BULK_HEADER_MAX`]).
pub fn decode_bulk(model: Model, bytes: &[u8]) -> Result<Vec<DecodedEvent>, CodecError> {
    read_bulk(model, bytes, read_event)
}

/// Decode a bulk as [`decode_bulk`] does, into the events' v6 datums only (what the
/// dispatcher emulator transforms; no descriptions, no copies of the bytes).
pub fn decode_bulk_datums(model: Model, bytes: &[u8]) -> Result<Vec<Datum>, CodecError> {
    read_bulk(model, bytes, |model, version, reader, index| {
        Ok(read_datum(model, version, reader, index)?.0)
    })
}

/// [`decode_bulk`] decoding every event in full: what reading in part must agree with.
#[cfg(test)]
pub(crate) fn decode_bulk_fully(
    model: Model,
    bytes: &[u8],
) -> Result<Vec<DecodedEvent>, CodecError> {
    read_bulk(model, bytes, read_event_fully)
}

/// How many events a bulk of `model` holds, checked as [`decode_bulk`] checks them. v6 events
/// (what backup writes) are only stepped through, several times faster than decoding them.
pub fn count_bulk(model: Model, bytes: &[u8]) -> Result<usize, CodecError> {
    let events = read_bulk(
        model,
        bytes,
        |model, version, reader, index| match version {
            SchemaVersion::V6 => reader
                .skip(event_node(model, version))
                .map_err(bad_event(model, index)),
            _ => read_event(model, version, reader, index).map(drop),
        },
    )?;
    Ok(events.len())
}

fn read_bulk<T>(
    model: Model,
    bytes: &[u8],
    read: impl Fn(Model, SchemaVersion, &mut Reader, usize) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let mut reader = Reader::new(bytes);
    let malformed = |e: ReadError| CodecError::Malformed {
        offset: e.offset,
        reason: e.reason,
    };
    let version = SchemaVersion::detect(reader.long().map_err(malformed)?);
    if !version.bulk_has_version() {
        reader = Reader::new(bytes);
    }
    let mut events = Vec::new();
    loop {
        let count = reader
            .block_count()
            .map_err(bad_event(model, events.len()))?;
        if count == 0 && events.is_empty() && bytes.len() > BULK_HEADER_MAX {
            return Err(CodecError::Malformed {
                offset: reader.pos,
                reason: format!("no events in {} bytes: not a bulk", bytes.len()),
            });
        }
        if count == 0 {
            return Ok(events);
        }
        for _ in 0..count {
            let index = events.len();
            events.push(read(model, version, &mut reader, index)?);
        }
    }
}

/// The schema version of a bulk judged from its first varint, refusing starts that no Azul
/// writer produces: a `model_version` of 5 or 6, or a v4 block count (hamba writes those
/// negative, 0 when empty).
pub fn bulk_header_version(bytes: &[u8]) -> Result<SchemaVersion, CodecError> {
    let first = Reader::new(bytes)
        .long()
        .map_err(|e| CodecError::Malformed {
            offset: e.offset,
            reason: e.reason,
        })?;
    match SchemaVersion::detect(first) {
        SchemaVersion::V4 if first > 0 => Err(CodecError::Malformed {
            offset: 0,
            reason: format!(
                "first varint is {first}: neither a model_version (5, 6) nor a v4 block count"
            ),
        }),
        version => Ok(version),
    }
}

/// Decode one event datum (not a bulk) of `model`, of schema version 4, 5 or 6: the event's
/// own leading `model_version` names its schema.
pub fn decode_single(model: Model, bytes: &[u8]) -> Result<DecodedEvent, CodecError> {
    let first = Reader::new(bytes).long().map_err(bad_event(model, 0))?;
    let version = SchemaVersion::detect(first);
    read_event(model, version, &mut Reader::new(bytes), 0)
}

/// Decode one raw v6 event datum (as held in a bulk) back into a [`DecodedEvent`].
pub fn describe_raw(model: Model, raw: &[u8]) -> Result<DecodedEvent, CodecError> {
    read_event(model, SchemaVersion::V6, &mut Reader::new(raw), 0)
}

/// Encode events' raw v6 datums as a bulk, in blocks of 100 with byte sizes (as Azul does).
pub fn encode_bulk_from_raw<'a>(events: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let events: Vec<&[u8]> = events.into_iter().collect();
    let mut out = Vec::with_capacity(24 + events.iter().map(|e| e.len()).sum::<usize>());
    write_long(&mut out, CURRENT_MODEL_VERSION);
    write_blocks(&mut out, &events, |out, e| out.extend_from_slice(e));
    out
}

/// Encode decoded events as a bulk.
pub fn encode_bulk(events: &[DecodedEvent]) -> Vec<u8> {
    encode_bulk_from_raw(events.iter().map(|e| e.raw.as_slice()))
}

/// Encode one event value with the v6 schema of `model`, returning its raw datum (map
/// entries sorted by key).
pub fn encode_event(model: Model, value: Value) -> Result<Vec<u8>, CodecError> {
    from_apache(value, event_node(model, SchemaVersion::V6))
        .map(|d| encode_datum(&d))
        .map_err(|reason| CodecError::BadEvent {
            model,
            index: 0,
            reason,
        })
}

/// Decode one raw v6 event datum of `model` (fields in schema order, map entries in wire
/// order), to be read and rewritten in place.
pub fn decode_event_datum(model: Model, raw: &[u8]) -> Result<Datum, CodecError> {
    let node = event_node(model, SchemaVersion::V6);
    Reader::new(raw).datum(node).map_err(bad_event(model, 0))
}

/// Encode an event datum of `model` as its raw v6 datum, after checking it still has the
/// schema's shape. Map entries are written in the order they are held.
pub fn encode_event_datum(model: Model, event: &Datum) -> Result<Vec<u8>, CodecError> {
    check_shape(event, event_node(model, SchemaVersion::V6)).map_err(|reason| {
        CodecError::BadEvent {
            model,
            index: 0,
            reason,
        }
    })?;
    Ok(encode_datum(event))
}

/// Re-encode a raw v6 event through its decoded value (tests prove this is the identity).
#[cfg(test)]
pub(crate) fn reencode(model: Model, raw: &[u8]) -> Result<Vec<u8>, ReadError> {
    let event = Reader::new(raw).datum(event_node(model, SchemaVersion::V6))?;
    Ok(encode_datum(&event))
}
