//! Events as JSON over real HTTP: `GET ...?avro-format=false` and JSON `POST` bodies.

mod common;

use azul_backup::avro::{Model, to_json};
use azul_dispatcher_emulator::canonical_key;
use common::{binary, json_body, key, keys, post_json, serve_fast, sourced};
use serde_json::{Value, json};

const TITLE: &str = "PostEvent TransformEvents invalid events";

fn as_json(raw: &[u8]) -> Value {
    to_json(Model::Binary, raw).unwrap()
}

fn binary_query() -> [(&'static str, &'static str); 1] {
    [("model", "binary")]
}

#[tokio::test]
async fn get_returns_go_json_events() {
    let s = serve_fast().await;
    let raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let response = s
        .get_events(
            "binary",
            &[("name", "j"), ("r-historic", "true"), ("count", "5")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let got = common::Fetched::read(response).await;
    assert_eq!(
        got.info,
        r#"{"filtered":0,"fetched":2,"ready":true,"paused":false}"#
    );
    let text = String::from_utf8(got.events).unwrap();
    assert!(text.starts_with(r#"{"events":[{"#), "{text}");
    let events: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        events,
        json!({ "events": s.emulator.events_json(Model::Binary).unwrap() })
    );
    assert_eq!(events["events"][1]["kafka_key"], key(&raws[1]));
    // An empty answer is an empty list, not null.
    let response = s
        .get_events("binary", &[("name", "j"), ("r-historic", "true")])
        .await;
    let empty = common::Fetched::read(response).await;
    assert_eq!(empty.events, br#"{"events":[]}"#);
}

#[tokio::test]
async fn post_accepts_one_object_or_an_array() {
    let s = serve_fast().await;
    let raws = sourced(3);
    let one = post_json(&s, &binary_query(), as_json(&raws[0]).to_string()).await;
    assert_eq!(one.status(), 200);
    assert_eq!(
        one.text().await.unwrap(),
        r#"{"total_ok":1,"total_failures":0,"failures":[]}"#
    );
    let array = Value::Array(raws[1..].iter().map(|r| as_json(r)).collect());
    let many = post_json(&s, &binary_query(), array.to_string()).await;
    assert_eq!(json_body(many).await["total_ok"], 2);
    let held: Vec<String> = s
        .emulator
        .events(Model::Binary)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect();
    assert_eq!(held, keys(&raws));
}

#[tokio::test]
async fn old_or_corrupt_events_fail_the_whole_request() {
    let s = serve_fast().await;
    let good = as_json(&sourced(1)[0]);
    let with = |field: &str, value: Value| {
        let mut event = good.clone();
        event[field] = value;
        event
    };
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("model_version");
    let too_old = "ensure events were in json format: event message version was too old";
    let corrupt =
        "ensure events were in json format: event message version was too old or was corrupt";
    let cases = [
        (with("model_version", json!(5)).to_string(), too_old),
        (missing.to_string(), too_old),
        (
            json!([good.clone(), with("model_version", json!(4))]).to_string(),
            too_old,
        ),
        (with("model_version", json!("six")).to_string(), corrupt),
        (with("author", json!("not an object")).to_string(), corrupt),
        (json!([good.clone(), 7]).to_string(), corrupt),
        // A leading space hides the array from the dispatcher's `[` check.
        (format!(" {}", json!([good.clone()])), corrupt),
    ];
    for (body, detail) in cases {
        let response = post_json(&s, &binary_query(), body.clone()).await;
        common::assert_error(response, 422, TITLE, detail).await;
    }
    assert!(s.emulator.events(Model::Binary).is_empty());
    // Newer versions pass, as Go only checks for older ones.
    let newer = post_json(
        &s,
        &binary_query(),
        with("model_version", json!(7)).to_string(),
    )
    .await;
    assert_eq!(newer.status(), 200);
}

#[tokio::test]
async fn invalid_events_are_failures_with_their_raw_text() {
    let s = serve_fast().await;
    let valid = as_json(&binary("testing", "sourced", "v", 1)).to_string();
    let invalid = r#"{"model_version": 6, "action": "sourced",  "author": {"name": ""}}"#;
    let body = format!("[{valid}, {invalid}]");
    let response = post_json(&s, &binary_query(), body).await;
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(
        body,
        json!({
            "total_ok": 1,
            "total_failures": 1,
            "failures": [{
                "event": invalid,
                "error": "innerNewMsgInFlight event is missing 'author' field",
            }],
        })
    );
    assert_eq!(s.emulator.events(Model::Binary).len(), 1);

    // Nothing valid: 425, with the failures in the detail.
    let response = post_json(&s, &binary_query(), invalid.to_string()).await;
    assert_eq!(response.status(), 425);
    let body = json_body(response).await;
    assert_eq!(
        body["detail"],
        "failed to produce any of the provided events as they were all filtered out by the \
         following filters [], with 1 response failures which are: [innerNewMsgInFlight event \
         is missing 'author' field]"
    );
    assert_eq!(body["error_enum"], "ErrorStringEnumAllEventsFiltered");
}

#[tokio::test]
async fn include_ok_answers_the_published_events() {
    let s = serve_fast().await;
    let raw = binary("testing", "sourced", "ok", 1);
    let query = [("model", "binary"), ("include_ok", "1")];
    let response = post_json(&s, &query, as_json(&raw).to_string()).await;
    let body = json_body(response).await;
    assert_eq!(body["ok"][0]["kafka_key"], key(&raw));
    assert_eq!(
        body["ok"][0]["track_source_references"],
        s.emulator.events_json(Model::Binary).unwrap()[0]["track_source_references"]
    );
}

/// Go keeps a JSON time's zone, and the key holds the first 19 characters of its RFC 3339
/// text: the wall-clock time where it was written, not UTC.
#[tokio::test]
async fn json_keys_use_the_written_time_zone() {
    let s = serve_fast().await;
    let mut event = as_json(&binary("testing", "sourced", "zone", 1));
    let mut post_with = async |time: &str| {
        event["source"]["timestamp"] = json!(time);
        let query = [("model", "binary"), ("include_ok", "true")];
        let body = json_body(post_json(&s, &query, event.to_string()).await).await;
        body["ok"][0]["kafka_key"].as_str().unwrap().to_string()
    };
    let sydney = post_with("2021-02-07T21:38:56+11:00").await;
    let utc_same_wall_clock = post_with("2021-02-07T21:38:56Z").await;
    let utc_same_instant = post_with("2021-02-07T10:38:56Z").await;
    assert_eq!(sydney, utc_same_wall_clock);
    assert_ne!(sydney, utc_same_instant);
    // Through avro the time is UTC: the key is the same-instant one.
    let held = s.emulator.raw_events(Model::Binary);
    assert_eq!(
        canonical_key(Model::Binary, &held[0]).unwrap(),
        utc_same_instant
    );
}
