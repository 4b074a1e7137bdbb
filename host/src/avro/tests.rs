//! Codec tests: wire facts from the dispatcher docs, and Azul's own v6 fixtures (read from
//! `AZUL_REFERENCE_DIR`, default `../shared/azul-reference`; skipped loudly when absent,
//! required under `CI`).

use std::path::PathBuf;

use super::synthetic::{
    SyntheticBinary, SyntheticStream, binary_event, delete_event, insert_event,
};
use super::*;

fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("AZUL_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/azul-reference")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "Azul reference fixtures not found at {} under CI",
        dir.display()
    );
    eprintln!(
        "SKIPPED: Azul reference fixtures not found at {} (set AZUL_REFERENCE_DIR)",
        dir.display()
    );
    None
}

fn sample_binary(key: &str) -> Vec<u8> {
    binary_event(&SyntheticBinary {
        source: "testing".into(),
        action: "sourced".into(),
        author: "bob".into(),
        kafka_key: key.into(),
        timestamp_micros: 1_754_417_400_000_000,
        sha256: "ab".repeat(32),
        streams: vec![SyntheticStream {
            label: "content".into(),
            sha256: "ab".repeat(32),
            size: 391,
        }],
    })
    .unwrap()
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

/// Every v6 bulk fixture of Azul decodes with our schemas and re-encodes byte-for-byte.
#[test]
fn azul_v6_bulk_fixtures_decode_and_reencode() {
    let Some(dir) = reference_dir() else { return };
    for model in [
        Model::Binary,
        Model::Insert,
        Model::Delete,
        Model::Download,
        Model::Plugin,
        Model::Retrohunt,
        Model::Status,
    ] {
        let path = dir
            .join("bedrock/testdata/events")
            .join(model.as_str())
            .join("bulk.json.avro");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let events =
            decode_bulk(model, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!events.is_empty(), "{}", path.display());
        assert_eq!(
            encode_bulk(&events),
            bytes,
            "{} re-encodes byte-for-byte",
            path.display()
        );
    }
}
