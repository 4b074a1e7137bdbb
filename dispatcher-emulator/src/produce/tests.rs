//! Keys and tracking ids checked against the dispatcher's own test vectors
//! (`pipeline_produce/key_test.go`) and bedrock's tracking formats.

use std::collections::HashMap;

use apache_avro::types::Value;
use azul_backup::avro::{
    Datum, Model,
    synthetic::{EventDraft, set_path},
};

use super::*;
use crate::avro_value::{array_at, str_at};

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect::<HashMap<_, _>>(),
    )
}

/// A path node: (author name, category, version, security, action, sha256, time).
fn node(
    draft: &EventDraft,
    author: (&str, &str, &str, &str),
    action: &str,
    sha256: &str,
    micros: i64,
) -> Value {
    let mut n = draft.zero_of("EventSourcePathNode");
    let (name, category, version, security) = author;
    for (path, v) in [
        ("author.name", name),
        ("author.category", category),
        ("author.version", version),
        ("author.security", security),
        ("action", action),
        ("sha256", sha256),
    ] {
        set_path(&mut n, path, Value::String(v.into()));
    }
    set_path(&mut n, "timestamp", Value::TimestampMicros(micros));
    n
}

fn value_of(draft: EventDraft, model: Model) -> Datum {
    avro_value::decode(model, &draft.encode().unwrap()).unwrap()
}

fn none() -> Origin<'static> {
    Origin(None)
}

/// `key_generator/simple.json`: four path nodes, references, no security.
#[test]
fn binary_key_matches_the_dispatcher() {
    let mut d = EventDraft::new(Model::Binary);
    let vt = "b9debe8afbdc6d0f552ca4d41fc8a5760778f2724d1560f6b4b0fc28bd837a82";
    let gif = "ee303d3c6d7cfa24d42e6348bdd1103a26de77a887e9dbee3dd1fe6304414f69";
    let path = vec![
        node(
            &d,
            ("vtfileloader", "loader", "1.1", ""),
            "sourced",
            &format!("{vt}-1612629803"),
            1,
        ),
        node(
            &d,
            ("vtselect", "plugin", "1.1", ""),
            "download_requested",
            vt,
            2,
        ),
        node(&d, ("vtdownload", "plugin", "1.1", ""), "downloaded", vt, 3),
        node(
            &d,
            ("MimeDecoder", "plugin", "2021.02.14", ""),
            "extracted",
            gif,
            4,
        ),
    ];
    d.set_str("source.name", "virustotal")
        .set(
            "source.references",
            map(&[
                ("interface", "web"),
                ("submitter_city", "kharkiv"),
                ("submitter_country", "UA"),
                ("submitter_id", "0a9e3094"),
                ("submitter_region", "63"),
            ]),
        )
        .set("source.path", Value::Array(path))
        // 2021-02-06T16:43:23Z plus a fraction, which the key ignores.
        .set(
            "source.timestamp",
            Value::TimestampMicros(1_612_629_803_426_232),
        )
        .set_str("kafka_key", "whatever the client sent");
    let event = value_of(d, Model::Binary);
    assert_eq!(
        descriptor(Model::Binary, &event, &none()).unwrap().unwrap(),
        format!(
            "virustotal..2021-02-06T16:43:23.interface.web.submitter_city.kharkiv.\
             submitter_country.UA.submitter_id.0a9e3094.submitter_region.63.vtdownload.\
             downloaded.{vt}.MimeDecoder.extracted.{gif}."
        )
    );
    assert_eq!(
        kafka_key(Model::Binary, &event, &none()).unwrap(),
        "b77549952b9354551975192f6c09e3c7"
    );
}

/// `key_generator/ancestor_diffs.jsonlines`: path securities count, the first node does not.
#[test]
fn binary_key_ignores_ancestors_but_not_securities() {
    let mut d = EventDraft::new(Model::Binary);
    let off = "OFFICIAL";
    let parent = "731fcd36832ec3885bb535640fb7f704cb130168a7c1bdb7cada92b04e3c3a14";
    let current = "f852600ceec04601167cf9862af09bc6da99a70ec77b8296af3144e46a50ad4a";
    let path = vec![
        node(&d, ("bob", "user", "", off), "sourced", &"d2".repeat(32), 1),
        node(
            &d,
            ("Malcarve", "plugin", "2024.04.29", off),
            "extracted",
            &"53".repeat(32),
            2,
        ),
        node(
            &d,
            ("DotnetDeob", "plugin", "1", off),
            "extracted",
            parent,
            3,
        ),
        node(
            &d,
            ("LiefPE", "plugin", "2024.05.29", off),
            "extracted",
            current,
            4,
        ),
    ];
    d.set_str("source.name", "samples")
        .set_str("source.security", off)
        .set(
            "source.references",
            map(&[
                ("user", "bob@email.com"),
                ("description", "File uploaded by Azul Stress tester."),
            ]),
        )
        .set("source.path", Value::Array(path))
        .set(
            "source.timestamp",
            Value::TimestampMicros(1_720_106_860_000_000),
        );
    let event = value_of(d, Model::Binary);
    assert_eq!(
        kafka_key(Model::Binary, &event, &none()).unwrap(),
        "fc7a850c00afabef06eb986dbb3cf184"
    );
}

#[test]
fn status_plugin_and_insert_keys() {
    let mut d = EventDraft::new(Model::Status);
    d.set_str("author.name", "MimeDecoder").set_str(
        "entity.input.dequeued",
        "dac804f3662b2228e43af80f6e0769614bf53d6c8ea16241c80d779de1308c20-pluigin-2023.01.01",
    );
    let status = value_of(d, Model::Status);
    assert_eq!(
        kafka_key(Model::Status, &status, &none()).unwrap(),
        "52bfc3a94719718fabb7d50f39ce52f5"
    );

    let mut d = EventDraft::new(Model::Plugin);
    d.set_str("entity.name", "RatConfigs-JRat")
        .set_str("entity.version", "2020.06.02");
    let plugin = value_of(d, Model::Plugin);
    assert_eq!(
        kafka_key(Model::Plugin, &plugin, &none()).unwrap(),
        "68e3d23d6ab9facfbd4e3d5f7543c636"
    );

    let mut d = EventDraft::new(Model::Insert);
    d.set_str("entity.parent_sha256", "p")
        .set_str("entity.child.sha256", "c")
        .set_str("entity.child_history.author.name", "a");
    let insert = value_of(d, Model::Insert);
    assert_eq!(
        descriptor(Model::Insert, &insert, &none())
            .unwrap()
            .unwrap(),
        "p.c.a"
    );
}

#[test]
fn other_models_get_random_keys() {
    let delete = value_of(EventDraft::new(Model::Delete), Model::Delete);
    assert_eq!(descriptor(Model::Delete, &delete, &none()), Ok(None));
    let a = kafka_key(Model::Delete, &delete, &none()).unwrap();
    let b = kafka_key(Model::Delete, &delete, &none()).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    let binary = value_of(EventDraft::new(Model::Binary), Model::Binary);
    assert_eq!(kafka_key(Model::Binary, &binary, &none()), Err(EmptyPath));
}

#[test]
fn tracking_fields_follow_bedrock() {
    let mut d = EventDraft::new(Model::Binary);
    let (a, b) = ("aa".repeat(32), "bb".repeat(32));
    let path = vec![
        node(&d, ("bob", "user", "", "OFFICIAL"), "sourced", &a, 0),
        node(
            &d,
            ("LiefPE", "plugin", "2025.04.08", ""),
            "extracted",
            &b,
            1_753_855_318_854_356,
        ),
    ];
    d.set_str("source.name", "testing")
        .set("source.references", map(&[("user", "azul-client-test")]))
        .set("source.path", Value::Array(path));
    let mut event = value_of(d, Model::Binary);
    tracking::update(Model::Binary, &mut event, &none());
    // The value a real dispatcher stamped on these references.
    assert_eq!(
        str_at(&event, "track_source_references"),
        "testing.dce67027d4521d41b064a150e919b98d"
    );
    let strings = |path| -> Vec<&str> {
        array_at(&event, path)
            .iter()
            .map(|v| match v {
                Datum::String(s) => s.as_str(),
                _ => "",
            })
            .collect()
    };
    assert_eq!(
        strings("track_authors"),
        ["user.bob.", "plugin.LiefPE.2025.04.08"]
    );
    assert_eq!(
        strings("track_links"),
        [format!(
            "{a}.{b}.2025_07_30T06_01_58Z.plugin.LiefPE.2025.04.08"
        )]
    );
}

#[test]
fn settings_go_at_their_removal_depth_after_the_key() {
    let mut d = EventDraft::new(Model::Binary);
    let path = vec![node(
        &d,
        ("bob", "user", "", ""),
        "sourced",
        &"aa".repeat(32),
        0,
    )];
    d.set_str("author.name", "bob")
        .set_str("source.name", "testing")
        .set_str("action", "sourced")
        .set(
            "source.settings",
            map(&[("remove_at_depth", "1"), ("x", "y")]),
        )
        .set("source.path", Value::Array(path));
    let event = value_of(d, Model::Binary);
    let with_settings = kafka_key(Model::Binary, &event, &none()).unwrap();
    let out = transform(
        Model::Binary,
        vec![InFlight {
            value: event,
            json: None,
        }],
        &Ageoff::new(),
        &Graveyard::default(),
    );
    let kept = &out.events[0].value;
    assert!(avro_value::string_map_at(kept, "source.settings").is_empty());
    assert_eq!(str_at(kept, "kafka_key"), with_settings);
}

#[test]
fn ageoff_uses_the_source_time() {
    let mut d = EventDraft::new(Model::Binary);
    d.set_str("source.name", "testing")
        .set("source.timestamp", Value::TimestampMicros(1_000_000));
    let event = value_of(d, Model::Binary);
    let ageoff = Ageoff::from([("testing".to_string(), Duration::from_secs(10))]);
    assert!(!aged_off(Model::Binary, &event, &ageoff, 5_000_000));
    assert!(aged_off(Model::Binary, &event, &ageoff, 20_000_000));
    assert!(!aged_off(Model::Binary, &event, &Ageoff::new(), 20_000_000));
    assert!(!aged_off(Model::Insert, &event, &ageoff, 20_000_000));
}
