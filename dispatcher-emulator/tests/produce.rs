//! The produce pipeline over real HTTP: recomputed keys and tracking ids, topic choice,
//! ageoff and the message size limit.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azul_backup::avro::{Model, encode_bulk_from_raw, synthetic::delete_event, to_json};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};
use common::{binary, json_body, key, keys, post_json, serve, serve_fast, sourced};
use serde_json::json;

const RESTORE_QUERY: [(&str, &str); 5] = [
    ("avro-format", "true"),
    ("include_ok", "false"),
    ("model", "binary"),
    ("pause_plugins", "true"),
    ("sync", "true"),
];

fn bulk(raws: &[Vec<u8>]) -> Vec<u8> {
    encode_bulk_from_raw(raws.iter().map(Vec::as_slice))
}

fn held_keys(emulator: &Emulator, model: Model) -> Vec<String> {
    emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect()
}

#[tokio::test]
async fn reposting_reproduces_binary_keys_but_not_delete_keys() {
    let s = serve_fast().await;
    let raws = sourced(3);
    for _ in 0..2 {
        let response = s.post_events(&RESTORE_QUERY, bulk(&raws)).await;
        assert_eq!(response.status(), 200);
    }
    let held = held_keys(&s.emulator, Model::Binary);
    assert_eq!(held[..3], keys(&raws));
    assert_eq!(held[3..], keys(&raws));

    let delete = delete_event("client-key", 5, "testing.abc").unwrap();
    let query = [("model", "delete"), ("avro-format", "true")];
    for _ in 0..2 {
        let response = s
            .post_events(&query, bulk(std::slice::from_ref(&delete)))
            .await;
        assert_eq!(response.status(), 200);
    }
    let deletes = held_keys(&s.emulator, Model::Delete);
    assert_eq!(deletes.len(), 2);
    assert_ne!(deletes[0], deletes[1]);
    assert!(deletes.iter().all(|k| k.len() == 32 && k != "client-key"));
}

#[tokio::test]
async fn seeded_events_hold_canonical_keys_and_tracking_ids() {
    let emulator = Emulator::new(EmulatorConfig::default());
    let raw = binary("samples", "extracted", "seeded", 1_700_000_000_000_000);
    emulator.publish(Model::Binary, [&raw]).unwrap();
    let held = &emulator.events_json(Model::Binary).unwrap()[0];
    assert_eq!(held["kafka_key"], key(&raw));
    let references = held["track_source_references"].as_str().unwrap();
    // `<source>.<md5 of the sorted references>`; these events have none.
    assert_eq!(references, "samples.d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(held["track_authors"], json!(["plugin.tester."]));
    // One path node: no links.
    assert!(held.get("track_links").is_none());
    // The client's key is gone from the held event.
    assert_ne!(held["kafka_key"], "seeded");
}

#[tokio::test]
async fn expedite_and_retry_flags_pick_system_topics() {
    let s = serve_fast().await;
    let mut expedite = to_json(Model::Binary, &binary("testing", "sourced", "e", 1)).unwrap();
    expedite["flags"] = json!({ "expedite": true });
    let mut retry = to_json(Model::Binary, &binary("testing", "sourced", "r", 2)).unwrap();
    retry["flags"] = json!({ "retry": true });
    let body = json!([expedite, retry]).to_string();
    let response = post_json(&s, &[("model", "binary")], body).await;
    assert_eq!(json_body(response).await["total_ok"], 2);

    let topics = s.emulator.stats().topics;
    assert_eq!(topics["azul.test01.system.expedite"], 1);
    assert_eq!(topics["azul.test01.system.error"], 1);
    assert_eq!(topics["azul.test01.testing.binary.sourced"], 0);
    // Expedite consumers start at the latest offset, so only what comes next reaches them.
    let expedite_only = [
        ("r-historic", "false"),
        ("r-expedite", "true"),
        ("count", "5"),
    ];
    assert!(
        s.fetch("binary", "x", &expedite_only)
            .await
            .keys(Model::Binary)
            .is_empty()
    );
    let again = json!([expedite]).to_string();
    post_json(&s, &[("model", "binary")], again).await;
    let got = s.fetch("binary", "x", &expedite_only).await;
    assert_eq!(got.keys(Model::Binary).len(), 1);
    // Historic source topics never see them.
    assert!(
        s.fetch("binary", "h", &[("count", "5")])
            .await
            .keys(Model::Binary)
            .is_empty()
    );
}

fn micros_ago(age: Duration) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now - age).as_micros() as i64
}

fn with_ageoff() -> EmulatorConfig {
    let mut config = EmulatorConfig::default().early_return(true);
    config
        .ageoff
        .insert("testing".into(), Duration::from_secs(7 * 24 * 3600));
    config
}

#[tokio::test]
async fn ageoff_drops_old_events_on_post() {
    let s = serve(with_ageoff()).await;
    let week_and_a_day = Duration::from_secs(8 * 24 * 3600);
    let old = binary("testing", "sourced", "old", micros_ago(week_and_a_day));
    let fresh = binary(
        "testing",
        "sourced",
        "fresh",
        micros_ago(Duration::from_secs(60)),
    );
    // Other sources have no ageoff.
    let other = binary("samples", "sourced", "other", micros_ago(week_and_a_day));

    let response = s
        .post_events(&RESTORE_QUERY, bulk(std::slice::from_ref(&old)))
        .await;
    assert_eq!(response.status(), 425);
    let body = json_body(response).await;
    assert_eq!(
        body["detail"],
        "all submitted events aged off immediately, is the submission time older than ageoff?"
    );
    assert_eq!(
        body["error_enum"],
        "ErrorStringEnumAllEventsAgedOffImmediately"
    );

    let batch = [old, fresh.clone(), other.clone()];
    let response = s.post_events(&RESTORE_QUERY, bulk(&batch)).await;
    // total_ok counts what was decoded, not what survived the pipeline.
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"total_ok":3,"total_failures":0,"failures":null}"#
    );
    assert_eq!(
        held_keys(&s.emulator, Model::Binary),
        [key(&fresh), key(&other)]
    );
}

#[tokio::test]
async fn events_over_the_kafka_limit_are_a_partial_500() {
    let s = serve_fast().await;
    let mut big = to_json(Model::Binary, &binary("testing", "sourced", "big", 1)).unwrap();
    big["entity"]["info"] = json!({ "blob": "x".repeat(3 * 1024 * 1024) });
    let small = to_json(Model::Binary, &binary("testing", "sourced", "small", 2)).unwrap();
    let response = post_json(&s, &[("model", "binary")], json!([big, small]).to_string()).await;
    assert_eq!(response.status(), 500);
    let body = json_body(response).await;
    assert_eq!(body["title"], "failed ProduceAnyEvents");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "successfully submitted 1/2 events with the failed events providing the following \
             errors: message too large for kafka: "
        ),
        "{detail}"
    );
    assert!(detail.ends_with(" vs 3145728 bytes;\n"), "{detail}");
    assert_eq!(s.emulator.events(Model::Binary).len(), 1);
}

#[tokio::test]
async fn deleted_submissions_are_dropped_and_filtered() {
    let s = serve_fast().await;
    let raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    // The helper's testing events have no references: md5 of "".
    let references = "testing.d41d8cd98f00b204e9800998ecf8427e";
    let delete = delete_event("d", 5, references).unwrap();
    let query = [("model", "delete"), ("avro-format", "true")];
    let response = s.post_events(&query, bulk(&[delete])).await;
    assert_eq!(response.status(), 200);

    let got = s.fetch("binary", "backup", &[("count", "5")]).await;
    assert!(got.keys(Model::Binary).is_empty());
    assert_eq!(
        got.info,
        r#"{"filtered":2,"fetched":0,"ready":true,"paused":false,"filters":{"FilterPreviouslyDeleted-deleted":2}}"#
    );

    // Posted events are judged on the tracking ids they carry (the dispatcher recomputes them
    // only later): ids from an earlier publish, as a restore posts them, are caught...
    let published = s.emulator.raw_events(Model::Binary);
    let again = s.post_events(&RESTORE_QUERY, bulk(&published)).await;
    assert_eq!(again.status(), 425);
    assert_eq!(
        json_body(again).await["detail"],
        "failed to produce any of the provided events as they were all filtered out by the \
         following filters [FilterPreviouslyDeleted:2], with 0 response failures which are: []"
    );
    // ...events without tracking ids are not (and are filtered once fetched).
    let untracked = s.post_events(&RESTORE_QUERY, bulk(&raws)).await;
    assert_eq!(untracked.status(), 200);
    let elsewhere = binary("samples", "sourced", "kept", 1);
    let response = s.post_events(&RESTORE_QUERY, bulk(&[elsewhere])).await;
    assert_eq!(response.status(), 200);
}
