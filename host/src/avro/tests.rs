//! Codec unit tests: wire facts from the dispatcher docs and Go's JSON rules. Azul's own
//! fixtures are checked by `golden_tests`.

use serde_json::{Value as Json, json};

use super::datum::Datum;
use super::encode::{encode_datum, write_blocks};
use super::synthetic::{
    SyntheticBinary, SyntheticStream, binary_event, delete_event, insert_event,
};
use super::*;

fn sample_binary(key: &str) -> Vec<u8> {
    binary_event(&SyntheticBinary::sample(key)).unwrap()
}

#[test]
fn empty_bulk_is_two_bytes() {
    assert_eq!(encode_bulk_from_raw(std::iter::empty()), vec![0x0c, 0x00]);
    assert!(
        decode_bulk(Model::Binary, &[0x0c, 0x00])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bulk_round_trip_keeps_raw_bytes_and_fields() {
    let raws: Vec<Vec<u8>> = (0..150)
        .map(|i| sample_binary(&format!("k{i:03}")))
        .collect();
    let bulk = encode_bulk_from_raw(raws.iter().map(Vec::as_slice));
    // 150 events: two blocks (100 + 50) with negative counts, as Azul writes them.
    assert_eq!(&bulk[..2], &[0x0c, 0xc7]);
    let events = decode_bulk(Model::Binary, &bulk).unwrap();
    assert_eq!(events.len(), 150);
    assert_eq!(events[7].raw, raws[7]);
    assert_eq!(events[7].kafka_key, "k007");
    assert_eq!(events[7].source.as_deref(), Some("testing"));
    assert_eq!(events[7].streams.len(), 1);
    assert!(
        events.iter().all(DecodedEvent::is_valid),
        "{:?}",
        events[0].invalid
    );
    assert_eq!(encode_bulk(&events), bulk);
}

#[test]
fn synthetic_system_events_are_valid() {
    let insert = insert_event("i1", 1, &"aa".repeat(32), &"bb".repeat(32)).unwrap();
    let delete = delete_event("d1", 2, "testing.abc").unwrap();
    let i = describe_raw(Model::Insert, &insert).unwrap();
    let d = describe_raw(Model::Delete, &delete).unwrap();
    assert!(
        i.is_valid() && d.is_valid(),
        "{:?} {:?}",
        i.invalid,
        d.invalid
    );
    assert!(
        i.streams.is_empty(),
        "insert events never produce stream requests"
    );
}

#[test]
fn invalid_events_are_described() {
    let bad = binary_event(&SyntheticBinary {
        source: "testing".into(),
        action: "sourced".into(),
        author: "bob".into(),
        kafka_key: "k".into(),
        timestamp_micros: 0,
        sha256: "ab".repeat(32),
        streams: vec![SyntheticStream {
            label: "not-a-label".into(),
            sha256: "cd".repeat(32),
            size: 1,
        }],
    })
    .unwrap();
    let e = describe_raw(Model::Binary, &bad).unwrap();
    assert_eq!(
        e.invalid.as_deref(),
        Some("invalid datastream label \"not-a-label\"")
    );
    assert!(
        e.streams.is_empty(),
        "invalid events produce no stream requests"
    );
}

#[test]
fn rfc3339_nano_matches_go() {
    assert_eq!(rfc3339_nano(1_754_417_400_000_000), "2025-08-05T18:10:00Z");
    assert_eq!(
        rfc3339_nano(1_755_112_420_005_548),
        "2025-08-13T19:13:40.005548Z"
    );
    assert_eq!(
        rfc3339_nano(1_751_865_215_193_200),
        "2025-07-07T05:13:35.1932Z"
    );
    assert_eq!(
        rfc3339_nano(fields::GO_ZERO_TIME_MICROS),
        "0001-01-01T00:00:00Z"
    );
}

#[test]
fn truncated_bulk_is_a_clear_error() {
    let bulk = encode_bulk_from_raw([sample_binary("k").as_slice()]);
    let err = decode_bulk(Model::Binary, &bulk[..bulk.len() / 2]).unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::BadEvent { .. } | CodecError::Malformed { .. }
        ),
        "{err}"
    );
}

#[test]
fn blocks_are_written_as_hamba_does() {
    let mut out = Vec::new();
    write_blocks(&mut out, &[0u8; 250], |out, _| out.push(0x02));
    let mut want = Vec::new();
    for n in [100usize, 100, 50] {
        // -n then the block's byte size n (zig-zag varints), then the items.
        want.extend(encode_datum(&Datum::Long(-(n as i64))));
        want.extend(encode_datum(&Datum::Long(n as i64)));
        want.extend(std::iter::repeat_n(0x02, n));
    }
    want.push(0);
    assert_eq!(out, want);
    let empty: [u8; 0] = [];
    let mut out = Vec::new();
    write_blocks(&mut out, &empty, |out, _| out.push(1));
    assert_eq!(out, [0]);
}

fn binary_json(features: usize) -> Json {
    let features: Vec<Json> = (0..features)
        .map(|i| json!({"name": format!("f{i}"), "value": "v", "type": "string"}))
        .collect();
    json!({
        "model_version": 6,
        "kafka_key": "k",
        "timestamp": "2025-08-05T18:10:00Z",
        "author": {"name": "bob", "category": "user"},
        "action": "sourced",
        "flags": {"expedite": true, "retry": true},
        "source": {
            "name": "testing",
            "references": {"zeta": "1", "alpha": "2", "mid": "3"},
            "path": [
                {"author": {"name": "bob"}, "action": "sourced", "sha256": "aa",
                 "timestamp": "2025-08-05T18:10:00Z"},
                {"author": {"name": "x"}, "action": "extracted", "sha256": "bb",
                 "timestamp": "2025-08-05T18:10:00Z", "size": 391}
            ],
            "timestamp": "2025-08-05T18:10:00Z"
        },
        "entity": {
            "sha256": "bb", "size": 391, "info": {"a": [1, 2]}, "features": features,
            "datastreams": [
                {"label": "content", "size": 391, "sha256": "bb", "file_format": "text/json"},
                {"label": "safe_png", "size": 7, "sha256": "cc", "file_format": "image/png"}
            ]
        }
    })
}

#[test]
fn decoded_events_carry_what_the_emulator_needs() {
    let raw = from_json(Model::Binary, &binary_json(1)).unwrap();
    let e = describe_raw(Model::Binary, &raw).unwrap();
    assert_eq!(e.raw, raw);
    assert_eq!(e.author_name, "bob");
    assert!(e.expedite && e.retry);
    assert_eq!(e.path_len, 2);
    assert_eq!(e.content_size, Some(391));
    let formats = [("content", "text/json"), ("safe_png", "image/png")];
    let want: Vec<(String, String)> = formats.map(|(l, f)| (l.into(), f.into())).to_vec();
    assert_eq!(e.stream_formats, want);
    assert_eq!(e.streams.len(), 2);
    assert_eq!(decode_single(Model::Binary, &raw).unwrap(), e);
}

#[test]
fn big_arrays_and_map_order_survive_both_codecs() {
    let raw = from_json(Model::Binary, &binary_json(250)).unwrap();
    // apache-avro (used by the emulator) reads our negative block counts.
    let value = apache_avro::from_avro_datum(
        schema::event_schema(Model::Binary),
        &mut raw.as_slice(),
        None,
    )
    .unwrap();
    let Some(apache_avro::types::Value::Record(fields)) = Some(value) else {
        panic!("a record")
    };
    let entity = &fields.iter().find(|(n, _)| n == "entity").unwrap().1;
    let apache_avro::types::Value::Record(entity) = entity else {
        panic!("a record")
    };
    let features = &entity.iter().find(|(n, _)| n == "features").unwrap().1;
    assert!(matches!(features, apache_avro::types::Value::Array(f) if f.len() == 250));
    // Our reader keeps map entries in wire order, so re-encoding is the identity.
    assert_eq!(bulk::reencode(Model::Binary, &raw).unwrap(), raw);
    let json = to_json(Model::Binary, &raw).unwrap();
    assert_eq!(json["entity"]["features"].as_array().unwrap().len(), 250);
    assert_eq!(json["entity"]["info"], json!({"a": [1, 2]}));
}

#[test]
fn json_rendering_omits_fields_as_go_does() {
    let raw = from_json(Model::Binary, &json!({"author": {"name": "a"}})).unwrap();
    let zero = "0001-01-01T00:00:00Z";
    assert_eq!(
        to_json(Model::Binary, &raw).unwrap(),
        json!({
            "model_version": 6, "timestamp": zero, "author": {"name": "a"},
            "source": {"name": "", "path": null, "timestamp": zero},
            "entity": {"sha256": ""}, "action": "", "flags": {}
        })
    );
    let raw = from_json(Model::Delete, &json!({"action": "ids"})).unwrap();
    assert_eq!(
        to_json(Model::Delete, &raw).unwrap()["entity"],
        json!({"submission": {}, "author": {}, "link": {}, "ids": {}}),
        "zero delete timestamps are dropped"
    );
    let download = json!({"entity": {"hash": "h", "metadata": {"x": 1}}});
    let rendered = to_json(
        Model::Download,
        &from_json(Model::Download, &download).unwrap(),
    );
    assert_eq!(
        rendered.unwrap()["entity"],
        json!({"hash": "h", "metadata": {"x": 1}})
    );
    let expiring = json!({"entity": {"direct_expiry": "2025-01-02T03:04:05.5Z"}});
    let rendered = to_json(
        Model::Download,
        &from_json(Model::Download, &expiring).unwrap(),
    );
    assert_eq!(
        rendered.unwrap()["entity"]["direct_expiry"],
        "2025-01-02T03:04:05.5Z"
    );
    let retrohunt = to_json(
        Model::Retrohunt,
        &from_json(Model::Retrohunt, &json!({})).unwrap(),
    );
    assert_eq!(retrohunt.unwrap()["entity"], Json::Null);
}

#[test]
fn json_input_follows_go_unmarshal() {
    let event = json!({
        "Kafka_Key": "mixed case", "unknown": 1, "author": null, "retries": null,
        "timestamp": "2021-03-29T13:24:08.549280999+10:00",
        "entity": {"info": null}
    });
    let json = to_json(Model::Binary, &from_json(Model::Binary, &event).unwrap()).unwrap();
    assert_eq!(json["kafka_key"], "mixed case");
    assert_eq!(json["author"], json!({"name": ""}));
    assert_eq!(
        json["timestamp"], "2021-03-29T03:24:08.54928Z",
        "UTC, rounded down to µs"
    );
    assert_eq!(
        json["entity"]["info"],
        Json::Null,
        "info: null is kept as JSON null"
    );

    let status = from_json(Model::Status, &json!({"entity": {"results": [{}]}})).unwrap();
    let status = to_json(Model::Status, &status).unwrap();
    assert_eq!(status["model_version"], 6);
    assert_eq!(status["entity"]["input"]["model_version"], 6);
    assert_eq!(status["entity"]["results"][0]["model_version"], 6);

    assert!(matches!(
        from_json(Model::Binary, &json!({"model_version": 5})),
        Err(CodecError::UnsupportedVersion(5))
    ));
    for (bad, at) in [
        (json!({"retries": "3"}), "retries"),
        (json!({"retries": 1.5}), "retries"),
        (json!({"entity": {"size": -1}}), "entity.size"),
        (
            json!({"source": {"path": [{"timestamp": "yesterday"}]}}),
            "source.path.0.timestamp",
        ),
        (json!({"flags": []}), "flags"),
    ] {
        match from_json(Model::Binary, &bad) {
            Err(CodecError::BadJson { field, .. }) => assert_eq!(field, at, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn json_events_parse_with_the_last_duplicate_winning() {
    let text = r#"[{"a": 1, "b": {"file_format": "Text", "file_format": "text/json"}, "a": 2}]"#;
    let events = parse_json_events(text).unwrap();
    assert_eq!(events, [json!({"a": 2, "b": {"file_format": "text/json"}})]);
    assert_eq!(parse_json_events(r#" {"a": 1} "#).unwrap().len(), 1);
    assert!(parse_json_events("[]").unwrap().is_empty());
    for bad in ["3", "[1]", "{", "", "null"] {
        assert!(
            matches!(parse_json_events(bad), Err(CodecError::NotJson(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn unrenderable_times_are_errors() {
    let node = schema::event_node(Model::Plugin, schema::SchemaVersion::V6);
    let mut event = Datum::zero(node);
    *event.get_mut("timestamp").unwrap() = Datum::Timestamp(i64::MAX);
    let err = to_json(Model::Plugin, &encode_datum(&event)).unwrap_err();
    assert!(
        matches!(&err, CodecError::Unrenderable { field, .. } if field == "timestamp"),
        "{err}"
    );
}

#[test]
fn bulk_versions_are_detected_from_the_first_varint() {
    use schema::SchemaVersion::{V4, V5, V6};
    assert_eq!(bulk_header_version(&[0x0c, 0x00]).unwrap(), V6);
    assert_eq!(bulk_header_version(&[0x0a, 0x00]).unwrap(), V5);
    assert_eq!(
        bulk_header_version(&[0x03, 0x10]).unwrap(),
        V4,
        "block count -2"
    );
    assert_eq!(bulk_header_version(&[0x00]).unwrap(), V4, "empty v4 bulk");
    assert!(bulk_header_version(b"hello").is_err());
    assert!(decode_bulk(Model::Binary, &[0x00]).unwrap().is_empty());
    // An empty array followed by much more: Azul says it was not a bulk.
    let mut padded = vec![0x0c, 0x00];
    padded.extend([7; 20]);
    assert!(matches!(
        decode_bulk(Model::Binary, &padded),
        Err(CodecError::Malformed { .. })
    ));
    assert!(
        decode_bulk(Model::Binary, &padded[..10])
            .unwrap()
            .is_empty()
    );
}

/// Record fields out of schema order (as JSON-built values may hold them) encode the same as
/// fields in order: the positional fast path and the lookup by name agree.
#[test]
fn record_fields_encode_the_same_in_any_order() {
    let raw = sample_binary("order");
    let value =
        apache_avro::from_avro_datum(schema::event_schema(Model::Binary), &mut &raw[..], None)
            .unwrap();
    let apache_avro::types::Value::Record(mut fields) = value.clone() else {
        panic!("an event is a record")
    };
    fields.reverse();
    let reversed = apache_avro::types::Value::Record(fields);
    assert_eq!(encode_event(Model::Binary, reversed).unwrap(), raw);
    assert_eq!(encode_event(Model::Binary, value).unwrap(), raw);
}

/// A datum rewritten with a value of the wrong type is refused, not written as bytes no
/// reader could decode.
#[test]
fn a_datum_of_the_wrong_shape_is_not_written() {
    let raw = sample_binary("shape");
    let mut event = decode_event_datum(Model::Binary, &raw).unwrap();
    assert_eq!(encode_event_datum(Model::Binary, &event).unwrap(), raw);
    *event.get_mut("timestamp").unwrap() = Datum::String("yesterday".into());
    let err = encode_event_datum(Model::Binary, &event).unwrap_err();
    assert!(
        err.to_string().contains("BinaryEvent.timestamp"),
        "names the field: {err}"
    );
}
