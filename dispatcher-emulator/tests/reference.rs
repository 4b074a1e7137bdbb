//! Azul's own reference data through the emulator: the original backup's sample bundles
//! (`--load`), bedrock's v4/v5 avro fixtures (POST) and sources files. Skipped loudly when
//! the data is absent; failing under `CI`.

mod common;

use std::{io::Write, path::Path};

use azul_backup::avro::{Model, encode_bulk_from_raw, to_json};
use azul_dispatcher_emulator::{
    Emulator, EmulatorConfig, canonical_key,
    load::{LoadSpec, load, placeholder},
    sources::Sources,
};
use common::{json_body, reference_dir, serve_fast, sourced};
use serde_json::Value;

const SAMPLES: [(&str, Model, &str); 5] = [
    (
        "samples-binary-extracted-100.avro.json",
        Model::Binary,
        "samples",
    ),
    (
        "samples-binary-sourced-100.avro.json",
        Model::Binary,
        "samples",
    ),
    (
        "testing-binary-sourced-100.avro.json",
        Model::Binary,
        "testing",
    ),
    (
        "system-insert-default-100.avro.json",
        Model::Insert,
        "system",
    ),
    ("system-delete-default-2.avro.json", Model::Delete, "system"),
];

fn sample(dir: &Path, file: &str) -> std::path::PathBuf {
    dir.join("azul-backup/testdata/data/samples").join(file)
}

#[test]
fn the_original_samples_load_with_canonical_keys() {
    let Some(dir) = reference_dir("the_original_samples_load_with_canonical_keys") else {
        return;
    };
    let emulator = Emulator::new(EmulatorConfig::new(["samples", "testing"]));
    let mut expected = std::collections::HashMap::new();
    for (file, model, _) in SAMPLES {
        let path = sample(&dir, file);
        let in_file = serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(&path).unwrap())
            .unwrap()
            .len();
        let summary = load(&emulator, &LoadSpec { model, path }, None).unwrap();
        assert_eq!(
            summary.published + summary.invalid.len(),
            in_file,
            "{file}: {:?}",
            summary.invalid
        );
        assert!(summary.published > 0, "{file}: {:?}", summary.invalid);
        *expected.entry(model).or_insert(0) += summary.published;
    }
    for (model, count) in expected {
        let held = emulator.events(model);
        assert_eq!(held.len(), count, "{model}");
        if model != Model::Delete {
            for event in &held {
                assert_eq!(
                    event.kafka_key,
                    canonical_key(model, &event.raw).unwrap(),
                    "{model} events hold the dispatcher's keys"
                );
            }
        }
    }
    // Every stream the binary events reference is there, as a placeholder.
    let streams = emulator.streams();
    assert!(!streams.is_empty());
    for event in emulator.events(Model::Binary) {
        for s in &event.streams {
            let data = emulator.stream(&s.source, &s.label, &s.sha256).unwrap();
            assert_eq!(
                data,
                placeholder(&s.source, &s.label, &s.sha256, data.len() as u64)
            );
        }
    }
}

#[test]
fn a_stream_dir_supplies_real_content_and_bundles_load_gzipped() {
    // A backup bundle: gzip of a raw avro bulk.
    let tmp = tempfile::tempdir().unwrap();
    let raws = sourced(3);
    let bundle = tmp.path().join("bundle.avro.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&encode_bulk_from_raw(raws.iter().map(Vec::as_slice)))
        .unwrap();
    std::fs::write(&bundle, gz.finish().unwrap()).unwrap();
    // The helper's events all reference the stream "abab..."; give it real content.
    let streams = tmp.path().join("streams");
    std::fs::create_dir(&streams).unwrap();
    std::fs::write(streams.join("ab".repeat(32)), b"real bytes").unwrap();

    let emulator = Emulator::new(EmulatorConfig::default());
    let spec: LoadSpec = format!("binary:{}", bundle.display()).parse().unwrap();
    let summary = load(&emulator, &spec, Some(&streams)).unwrap();
    assert_eq!(
        (
            summary.published,
            summary.streams_from_dir,
            summary.placeholders
        ),
        (3, 1, 0)
    );
    assert_eq!(
        emulator
            .stream("testing", "content", &"ab".repeat(32))
            .as_deref(),
        Some(&b"real bytes"[..])
    );
}

/// bedrock's v4 and v5 fixtures, posted as avro, come out as the v6 JSON bedrock expects
/// (apart from what the dispatcher rewrites).
#[tokio::test]
async fn old_schema_versions_are_upgraded_on_post() {
    let Some(dir) = reference_dir("old_schema_versions_are_upgraded_on_post") else {
        return;
    };
    let events = dir.join("bedrock/testdata/events");
    for (model, version) in [
        (Model::Insert, "v4"),
        (Model::Insert, "v5"),
        (Model::Plugin, "v4"),
        (Model::Plugin, "v5"),
        (Model::Delete, "v4"),
        (Model::Retrohunt, "v5"),
    ] {
        let s = serve_fast().await;
        let folder = events.join(model.as_str()).join(version);
        let body = std::fs::read(folder.join("bulk.json.avro")).unwrap();
        let query = [("model", model.as_str()), ("avro-format", "true")];
        let response = s.post_events(&query, body).await;
        assert_eq!(response.status(), 200, "{model} {version}");
        assert_eq!(
            json_body(response).await["total_ok"],
            2,
            "{model} {version}"
        );

        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("bulk.json")).unwrap())
                .unwrap();
        let held = s.emulator.events_json(model).unwrap();
        for (got, want) in held.iter().zip(expected["events"].as_array().unwrap()) {
            assert_eq!(
                without_rewrites(got),
                without_rewrites(want),
                "{model} {version}"
            );
        }
        if model != Model::Delete && model != Model::Retrohunt {
            let raws = s.emulator.raw_events(model);
            let held_key = held[0]["kafka_key"].as_str().unwrap();
            assert_eq!(held_key, canonical_key(model, &raws[0]).unwrap());
        }
        // The held events are v6 and render back to themselves.
        assert_eq!(
            held[0],
            to_json(model, &s.emulator.raw_events(model)[0]).unwrap()
        );
    }
}

/// An event without the fields the dispatcher recomputes.
fn without_rewrites(event: &Value) -> Value {
    let mut event = event.clone();
    let fields = event.as_object_mut().unwrap();
    for rewritten in [
        "kafka_key",
        "track_link",
        "track_author",
        "track_links",
        "track_authors",
        "track_source_references",
    ] {
        fields.remove(rewritten);
    }
    event
}

#[test]
fn sources_files_parse_as_bedrock_does() {
    let Some(dir) = reference_dir("sources_files_parse_as_bedrock_does") else {
        return;
    };
    let sources = dir.join("bedrock/testdata/sources");
    let parsed = Sources::read_yaml(&sources.join("sources1.yaml")).unwrap();
    assert_eq!(
        parsed.list(),
        [
            "incidents",
            "reporting",
            "samples",
            "tasking",
            "testing",
            "virustotal",
            "watch"
        ]
    );
    let day = std::time::Duration::from_secs(24 * 3600);
    assert_eq!(parsed.expiry["testing"], Some(day * 7));
    assert_eq!(parsed.expiry["virustotal"], Some(day * 90));
    assert_eq!(parsed.expiry["incidents"], None);
    let config = EmulatorConfig::from_sources(&parsed);
    assert_eq!(config.ageoff.len(), 2);
    for bad in [
        "sources_bad_expiry_inner_spaces.yaml",
        "sources_bad_expiry_no_number.yaml",
        "sources_bad_expiry_outer_spaces_lead.yaml",
        "sources_bad_expiry_outer_spaces_trail.yaml",
    ] {
        let err = Sources::read_yaml(&sources.join(bad)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("couldn't parse the expire_events_after setting"),
            "{bad}: {err}"
        );
    }
}
