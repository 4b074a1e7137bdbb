//! Golden tests over every `X.json` / `X.json.avro` pair of Azul's bedrock fixtures (all
//! models; schema versions 4, 5 and 6) and over the original azul-backup's sample files.
//!
//! Bedrock's own test (`event_test.go`) asserts `JSONEq(fixture, json.Marshal(decoded))`,
//! so a fixture is exactly Go's rendering of the upgraded event. We compare after this
//! normalisation, and nothing else:
//!
//! 1. JSON values, not text: object key order and whitespace do not matter (as with Go's
//!    `JSONEq`).
//! 2. A bulk fixture is `{"model_version": 6, "events": [...]}` (Go's bulk struct);
//!    we compare its `events` one by one and check its `model_version` is 6.
//! 3. v5 fixtures only: binary-entity features named `file_format_legacy`, or with no
//!    (or an empty) name, are dropped on both sides. Bedrock never checked its v5 pairs (its
//!    `TestLegacyV5Stability` reads the v4 files), and two v5 JSONs were edited by hand out
//!    of step with their avro: `speed/v5/status.json` deleted that feature's `name` and
//!    `status/v5/bulk.json` (event 0) deleted the whole feature. Go always writes `name`.
//! 4. The original's sample files (`*.avro.json`) repeat `file_format` keys; the last one
//!    wins, as in Go (see `parse_json_events`).

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value as Json;

use super::fixtures::{FixturePair, fixture_pairs, reference_dir};
use super::schema::SchemaVersion;
use super::*;

/// Normalisation rule 3: a feature the hand-edited v5 fixtures lost.
fn is_legacy_feature(feature: &Json) -> bool {
    matches!(
        feature.get("name").and_then(Json::as_str),
        None | Some("" | "file_format_legacy")
    )
}

/// Normalisation rule 3 (rule 1 is `serde_json::Value` equality).
fn normalise(json: &Json, version: SchemaVersion) -> Json {
    match json {
        Json::Array(items) => Json::Array(items.iter().map(|v| normalise(v, version)).collect()),
        Json::Object(o) => Json::Object(
            o.iter()
                .map(|(k, v)| match (k.as_str(), v, version) {
                    ("features", Json::Array(items), SchemaVersion::V5) => {
                        let kept = items.iter().filter(|f| !is_legacy_feature(f));
                        (
                            k.clone(),
                            Json::Array(kept.map(|v| normalise(v, version)).collect()),
                        )
                    }
                    _ => (k.clone(), normalise(v, version)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Dotted paths where `a` and `b` differ.
fn differences(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => differences(v, w, &p, out),
                    (v, w) => out.push(format!("{p}: ours {v:?}, expected {w:?}")),
                }
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{path}[{i}]"), out);
            }
        }
        (v, w) if v != w => out.push(format!("{path}: ours {v}, expected {w}")),
        _ => {}
    }
}

fn assert_json_eq(actual: &Json, expected: &Json, version: SchemaVersion, what: &str) {
    let (a, e) = (normalise(actual, version), normalise(expected, version));
    let mut diffs = Vec::new();
    differences(&a, &e, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what}: JSON differs:\n  {}",
        diffs.join("\n  ")
    );
}

/// The expected events of a fixture's JSON (normalisation rule 2).
fn expected_events(pair: &FixturePair) -> Vec<Json> {
    let text = std::fs::read_to_string(&pair.json).unwrap();
    let json: Json = serde_json::from_str(&text).unwrap();
    if !pair.bulk {
        return vec![json];
    }
    assert_eq!(json["model_version"], 6, "{}", pair.json.display());
    json["events"].as_array().cloned().unwrap_or_default()
}

fn decode_fixture(pair: &FixturePair, bytes: &[u8]) -> Vec<DecodedEvent> {
    let what = pair.avro.display();
    if pair.bulk {
        assert_eq!(bulk_header_version(bytes).unwrap(), pair.version, "{what}");
        decode_bulk(pair.model, bytes).unwrap_or_else(|e| panic!("{what}: {e}"))
    } else {
        let first = bulk_header_version(bytes).unwrap_or(SchemaVersion::V4);
        assert_eq!(
            first, pair.version,
            "{what}: version from the leading varint"
        );
        vec![decode_single(pair.model, bytes).unwrap_or_else(|e| panic!("{what}: {e}"))]
    }
}

/// v6 data comes back byte-for-byte: as kept (`raw`) and through our decoder and encoder.
fn assert_v6_bytes_round_trip(pair: &FixturePair, bytes: &[u8], events: &[DecodedEvent]) {
    let what = pair.avro.display();
    let reencoded: Vec<Vec<u8>> = events
        .iter()
        .map(|e| bulk::reencode(pair.model, &e.raw).unwrap())
        .collect();
    for (event, again) in events.iter().zip(&reencoded) {
        assert!(
            event.raw == *again,
            "{what}: event re-encodes byte-for-byte"
        );
    }
    if pair.bulk {
        assert!(encode_bulk(events) == bytes, "{what}: bulk re-encodes");
        let from_values = encode_bulk_from_raw(reencoded.iter().map(Vec::as_slice));
        assert!(from_values == bytes, "{what}: bulk re-encodes from values");
    } else {
        assert!(events[0].raw == bytes, "{what}: single event kept as is");
    }
}

/// The emulator's path: an event read as a datum and written back is the same bytes, and
/// apache-avro (an independent reader) decodes the same event from them.
fn assert_datum_round_trip(model: Model, raw: &[u8], what: &str) {
    let datum = decode_event_datum(model, raw).unwrap_or_else(|e| panic!("{what}: {e}"));
    let again = encode_event_datum(model, &datum).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(again == raw, "{what}: datum writes back byte-for-byte");
    apache_avro::from_avro_datum(schema::event_schema(model), &mut &again[..], None)
        .unwrap_or_else(|e| panic!("{what}: apache-avro reads it: {e}"));
}

fn check_pair(pair: &FixturePair) {
    let what = pair.avro.display().to_string();
    let bytes = std::fs::read(&pair.avro).unwrap();
    let events = decode_fixture(pair, &bytes);
    let expected = expected_events(pair);
    assert_eq!(events.len(), expected.len(), "{what}: event count");
    for (i, (event, want)) in events.iter().zip(&expected).enumerate() {
        let what = format!("{what} event {i}");
        let json = to_json(pair.model, &event.raw).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_json_eq(&json, want, pair.version, &what);
        // Upgraded events are proper v6 datums.
        assert_eq!(describe_raw(pair.model, &event.raw).unwrap().raw, event.raw);
        assert_datum_round_trip(pair.model, &event.raw, &what);
        let one = encode_bulk_from_raw([event.raw.as_slice()]);
        assert!(
            decode_bulk(pair.model, &one).unwrap()
                == bulk::decode_bulk_fully(pair.model, &one).unwrap(),
            "{what}: described in part as in full"
        );
        // The JSON encodes as v6 and decodes back to the same event.
        let raw = from_json(pair.model, want).unwrap_or_else(|e| panic!("{what}: {e}"));
        let back = describe_raw(pair.model, &raw).unwrap();
        let json = to_json(pair.model, &back.raw).unwrap();
        assert_json_eq(&json, want, pair.version, &what);
        assert_eq!(back.kafka_key, event.kafka_key, "{what}");
        assert_eq!(back.streams, event.streams, "{what}");
    }
    if pair.bulk {
        let datums = decode_bulk_datums(pair.model, &bytes).unwrap();
        let raws: Vec<Vec<u8>> = datums
            .iter()
            .map(|d| encode_event_datum(pair.model, d).unwrap())
            .collect();
        assert_eq!(
            count_bulk(pair.model, &bytes).unwrap(),
            events.len(),
            "{what}"
        );
        let fully = bulk::decode_bulk_fully(pair.model, &bytes).unwrap();
        assert!(fully == events, "{what}: described in part as in full");
        let kept: Vec<&Vec<u8>> = events.iter().map(|e| &e.raw).collect();
        assert!(
            raws.iter().eq(kept),
            "{what}: the bulk's datums are its events"
        );
    }
    if pair.version == SchemaVersion::V6 {
        assert_v6_bytes_round_trip(pair, &bytes, &events);
    }
}

#[test]
fn golden_bedrock_fixture_pairs() {
    let Some(dir) = reference_dir() else { return };
    let (pairs, lonely) = fixture_pairs(&dir);
    assert!(
        !pairs.is_empty(),
        "no fixture pairs under {}",
        dir.display()
    );
    let mut per_version = [0usize; 3];
    for pair in &pairs {
        check_pair(pair);
        per_version[pair.version as usize] += 1;
    }
    let [v4, v5, v6] = per_version;
    println!(
        "golden: {} pairs checked (v4 {v4}, v5 {v5}, v6 {v6}), {} json without avro skipped",
        pairs.len(),
        lonely.len()
    );
}

/// Our v4/v5/v6 schemas equal Azul's schema files (compiled the way Go loads them: files
/// in name order sharing one set of named types).
#[test]
fn schemas_match_azul_schema_files() {
    let Some(dir) = reference_dir() else { return };
    let names = [
        (Model::Binary, "BinaryEvent"),
        (Model::Insert, "InsertEvent"),
        (Model::Delete, "DeleteEvent"),
        (Model::Status, "StatusEvent"),
        (Model::Plugin, "PluginEvent"),
        (Model::Download, "DownloadEvent"),
        (Model::Retrohunt, "RetrohuntEvent"),
    ];
    for version in SchemaVersion::ALL {
        let folder = dir.join(format!(
            "bedrock/gosrc/events/schemas/v{}",
            version.number()
        ));
        let mut reference = layout::Names::default();
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in &files {
            let json: Json = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
            for schema in json.as_array().cloned().unwrap_or_else(|| vec![json]) {
                reference
                    .compile(&schema)
                    .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            }
        }
        for (model, name) in names {
            let theirs = reference.get(name).unwrap();
            assert_eq!(
                schema::event_node(model, version),
                theirs,
                "{name} v{}",
                version.number()
            );
            // What the bulk reader assumes: `{model_version, events}`, v4 without the version.
            let bulk = match reference.get(&format!("Bulk{name}")) {
                Some(layout::Node::Record(r)) => r,
                other => panic!("Bulk{name}: {other:?}"),
            };
            let fields: Vec<&str> = bulk.fields.iter().map(|f| f.name.as_str()).collect();
            match version.bulk_has_version() {
                true => assert_eq!(fields, ["model_version", "events"], "Bulk{name}"),
                false => assert_eq!(fields, ["events"], "Bulk{name}"),
            }
            assert_eq!(
                bulk.fields.last().unwrap().node,
                layout::Node::Array(Box::new(theirs.clone()))
            );
        }
    }
}

fn sample_events(dir: &Path, name: &str) -> Vec<Json> {
    let path = dir.join("azul-backup/testdata/data/samples").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    parse_json_events(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every sample event encodes as v6, survives a bulk round trip and renders back as the
/// same JSON; returns the decoded events.
fn round_trip_sample(dir: &Path, name: &str, model: Model) -> Vec<DecodedEvent> {
    let events = sample_events(dir, name);
    let raws: Vec<Vec<u8>> = events
        .iter()
        .enumerate()
        .map(|(i, e)| from_json(model, e).unwrap_or_else(|err| panic!("{name} event {i}: {err}")))
        .collect();
    let bulk = encode_bulk_from_raw(raws.iter().map(Vec::as_slice));
    let decoded = decode_bulk(model, &bulk).unwrap();
    assert_eq!(decoded.len(), events.len(), "{name}");
    let fully = bulk::decode_bulk_fully(model, &bulk).unwrap();
    assert!(fully == decoded, "{name}: described in part as in full");
    for (i, (event, want)) in decoded.iter().zip(&events).enumerate() {
        assert_eq!(event.raw, raws[i], "{name} event {i}: raw v6 kept");
        assert_datum_round_trip(model, &event.raw, &format!("{name} event {i}"));
        let json = to_json(model, &event.raw).unwrap();
        assert_json_eq(&json, want, SchemaVersion::V6, &format!("{name} event {i}"));
    }
    decoded
}

fn distinct_streams(events: &[DecodedEvent]) -> HashSet<StreamRef> {
    events
        .iter()
        .flat_map(|e| e.streams.iter().cloned())
        .collect()
}

#[test]
fn golden_original_samples() {
    let Some(dir) = reference_dir() else { return };
    let testing = round_trip_sample(&dir, "testing-binary-sourced-100.avro.json", Model::Binary);
    assert_eq!(testing.len(), 100);
    assert!(testing.iter().all(DecodedEvent::is_valid));
    assert_eq!(distinct_streams(&testing).len(), 89);

    let mut samples =
        round_trip_sample(&dir, "samples-binary-sourced-100.avro.json", Model::Binary);
    samples.extend(round_trip_sample(
        &dir,
        "samples-binary-extracted-100.avro.json",
        Model::Binary,
    ));
    assert_eq!(distinct_streams(&samples).len(), 182);

    let inserts = round_trip_sample(&dir, "system-insert-default-100.avro.json", Model::Insert);
    assert_eq!(inserts.len(), 100);
    assert!(inserts.iter().all(|e| e.streams.is_empty()));
    let deletes = round_trip_sample(&dir, "system-delete-default-2.avro.json", Model::Delete);
    assert_eq!(deletes.len(), 2);
    println!(
        "golden samples: {} events round-tripped; streams: testing 89, samples 182",
        testing.len() + samples.len() + inserts.len() + deletes.len()
    );
}
