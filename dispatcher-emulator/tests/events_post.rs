//! `POST /api/v2/event` over real HTTP.

mod common;

use azul_backup::avro::{Model, encode_bulk_from_raw};
use azul_dispatcher_emulator::{EmulatorConfig, canonical_key};
use common::{
    Served, assert_error, binary, binary_with, held_bulk, key, keys, serve, serve_fast, sourced,
};

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

/// A binary event failing Azul's rules: `sourced` without a `content` stream.
fn invalid(key: &str) -> Vec<u8> {
    binary_with("testing", "sourced", key, 7, vec![])
}

async fn post_ok(s: &Served, query: &[(&str, &str)], body: Vec<u8>) -> String {
    let response = s.post_events(query, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.text().await.unwrap()
}

#[tokio::test]
async fn an_avro_restore_round_trips() {
    let s = serve_fast().await;
    assert!(s.emulator.last_pause_time().is_none());
    let raws = vec![
        binary("testing", "sourced", "a", 1),
        binary("samples", "augmented", "b", 2),
        binary("testing", "enriched", "c", 3),
    ];
    let body = post_ok(&s, &RESTORE_QUERY, bulk(&raws)).await;
    assert_eq!(body, r#"{"total_ok":3,"total_failures":0,"failures":null}"#);
    assert!(s.emulator.last_pause_time().is_some());

    // Held with the dispatcher's keys, not the ones the client sent.
    assert_eq!(held_keys(&s, Model::Binary), keys(&raws));
    let fetched = s.fetch("binary", "backup", &[("count", "10")]).await;
    assert_eq!(fetched.events, held_bulk(&s.emulator, Model::Binary));
    let samples = s
        .fetch(
            "binary",
            "b2",
            &[("r-source", "samples"), ("r-action", "augmented")],
        )
        .await;
    assert_eq!(samples.keys(Model::Binary), [key(&raws[1])]);
}

#[tokio::test]
async fn other_models_post_to_their_system_topic() {
    let s = serve_fast().await;
    let insert =
        azul_backup::avro::synthetic::insert_event("ins", 5, &"aa".repeat(32), &"bb".repeat(32))
            .unwrap();
    let query = [
        ("model", "insert"),
        ("avro-format", "1"),
        ("pause_plugins", "T"),
    ];
    let body = post_ok(&s, &query, bulk(std::slice::from_ref(&insert))).await;
    assert_eq!(body, r#"{"total_ok":1,"total_failures":0,"failures":null}"#);
    assert_eq!(
        held_keys(&s, Model::Insert),
        [canonical_key(Model::Insert, &insert).unwrap()]
    );
    assert!(s.emulator.events(Model::Binary).is_empty());
    // Only `true` and `1` are truthy here: pause_plugins=T does not pause.
    assert!(s.emulator.last_pause_time().is_none());
}

#[tokio::test]
async fn model_and_body_are_checked_first() {
    let s = serve_fast().await;
    let response = s
        .post_events(&[("avro-format", "true")], bulk(&sourced(1)))
        .await;
    assert_error(
        response,
        400,
        "not a registered model type",
        "not a registered model type: ",
    )
    .await;
    let response = s
        .post_events(&[("model", "binaries"), ("pause_plugins", "1")], vec![1])
        .await;
    assert_error(
        response,
        400,
        "not a registered model type",
        "not a registered model type: binaries",
    )
    .await;
    // The dispatcher starts the pause before validating the model.
    assert!(s.emulator.last_pause_time().is_some());

    let response = s
        .post_events(&[("model", "binary"), ("avro-format", "true")], vec![])
        .await;
    assert_error(
        response,
        400,
        "Empty Request",
        "no events were provided to be published",
    )
    .await;
}

#[tokio::test]
async fn undecodable_bodies_are_422() {
    let s = serve_fast().await;
    let title = "PostEvent TransformEvents invalid events";
    let avro = [("model", "binary"), ("avro-format", "true")];
    let response = s
        .post_events(&avro, br#"[{"kafka_key":"x"}]"#.to_vec())
        .await;
    assert_error(
        response,
        422,
        title,
        "supplied events were in json format, not avro",
    )
    .await;

    let response = s.post_events(&avro, vec![0x0c, 0x02, 0xff, 0xff]).await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("avro event did not match expected bulk schema: failed to parse avro bulk event with len(4): "),
        "{detail}"
    );

    // Without the avro flag the body is JSON: the dispatcher's own checks, then a refusal.
    let json = [("model", "binary")];
    let response = s.post_events(&json, b"[]".to_vec()).await;
    assert_error(
        response,
        422,
        title,
        "ensure events were in json format: event message too small",
    )
    .await;
    let response = s.post_events(&json, b"{not json".to_vec()).await;
    assert_error(
        response,
        422,
        title,
        "ensure events were in json format: event message invalid json",
    )
    .await;
    assert!(s.emulator.events(Model::Binary).is_empty());
}

#[tokio::test]
async fn the_first_invalid_event_truncates_the_batch() {
    let s = serve_fast().await;
    let raws = vec![
        binary("testing", "sourced", "a", 1),
        invalid("bad"),
        binary("testing", "sourced", "c", 3),
    ];
    let body = post_ok(&s, &RESTORE_QUERY, bulk(&raws)).await;
    assert_eq!(body, r#"{"total_ok":1,"total_failures":0,"failures":null}"#);
    assert_eq!(held_keys(&s, Model::Binary), [key(&raws[0])]);
}

#[tokio::test]
async fn without_the_quirk_invalid_events_are_reported() {
    let config = EmulatorConfig {
        truncate_at_invalid: false,
        ..EmulatorConfig::default().early_return(true)
    };
    let s = serve(config).await;
    let raws = vec![
        binary("testing", "sourced", "a", 1),
        invalid("bad"),
        binary("testing", "sourced", "c", 3),
    ];
    let body = post_ok(&s, &RESTORE_QUERY, bulk(&raws)).await;
    assert_eq!(
        body,
        r#"{"total_ok":2,"total_failures":1,"failures":[{"event":"","error":"innerNewMsgInFlight sourced must have entity.datastreams with label=content"}]}"#
    );
    assert_eq!(held_keys(&s, Model::Binary), [key(&raws[0]), key(&raws[2])]);
}

#[tokio::test]
async fn nothing_to_publish_is_425() {
    let s = serve_fast().await;
    let want = r#"{"status":"425","title":"All events to be published have been filtered out","detail":"failed to produce any of the provided events as they were all filtered out by the following filters [], with 0 response failures which are: []","error_enum":"ErrorStringEnumAllEventsFiltered"}"#;
    for body in [
        vec![0x0c, 0x00],
        bulk(&[invalid("x"), binary("testing", "sourced", "y", 1)]),
    ] {
        let response = s.post_events(&RESTORE_QUERY, body).await;
        assert_eq!(response.status(), 425);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(response.text().await.unwrap(), want);
    }
    assert!(s.emulator.events(Model::Binary).is_empty());
}

#[tokio::test]
async fn an_unregistered_source_is_a_partial_500() {
    let s = serve_fast().await;
    let raws = vec![
        binary("testing", "sourced", "a", 1),
        binary("elsewhere", "sourced", "b", 2),
    ];
    let response = s.post_events(&RESTORE_QUERY, bulk(&raws)).await;
    assert_error(
        response,
        500,
        "failed ProduceAnyEvents",
        "successfully submitted 1/2 events with the failed events providing the following errors: \
         bad push with unregistered topic 'azul.test01.elsewhere.binary.sourced' partition '0';\n",
    )
    .await;
    // The events with a topic were published all the same.
    assert_eq!(held_keys(&s, Model::Binary), [key(&raws[0])]);
}

fn held_keys(s: &Served, model: Model) -> Vec<String> {
    s.emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect()
}

#[tokio::test]
async fn include_ok_returns_the_events_as_published() {
    let s = serve_fast().await;
    let raws = sourced(2);
    let query = [
        ("model", "binary"),
        ("avro-format", "true"),
        ("include_ok", "true"),
    ];
    let body = post_ok(&s, &query, bulk(&raws)).await;
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["total_ok"], 2);
    assert_eq!(body["failures"], serde_json::Value::Null);
    let ok = body["ok"].as_array().unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0]["kafka_key"], key(&raws[0]));
    assert_eq!(
        ok[0]["track_authors"],
        serde_json::json!(["plugin.tester."])
    );
    assert_eq!(
        serde_json::Value::Array(ok.clone()),
        serde_json::Value::Array(s.emulator.events_json(Model::Binary).unwrap())
    );
}
