//! `/emulator/v1/` over real HTTP: reading state back and injecting faults. Also the
//! configuration switches tests lean on (partial batches, unverified uploads).

mod common;

use std::time::{Duration, Instant};

use azul_backup::avro::{Model, encode_bulk_from_raw};
use azul_dispatcher_emulator::{EmulatorConfig, faults::FaultRule, inspect::Stats};
use common::{Served, json_body, keys, serve, serve_fast, sourced};
use serde_json::{Value, json};

const RESTORE_QUERY: [(&str, &str); 3] = [
    ("avro-format", "true"),
    ("model", "binary"),
    ("pause_plugins", "true"),
];

fn bulk(raws: &[Vec<u8>]) -> Vec<u8> {
    encode_bulk_from_raw(raws.iter().map(Vec::as_slice))
}

async fn admin_get(s: &Served, path: &str) -> Value {
    let response = s.client.get(s.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], "application/json");
    json_body(response).await
}

async fn add_fault(s: &Served, rule: Value) -> reqwest::Response {
    s.client
        .post(s.url("/emulator/v1/faults"))
        .header("content-type", "application/json")
        .body(rule.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn events_streams_and_stats_read_back() {
    let s = serve_fast().await;
    let raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let sha = s.emulator.put_stream("testing", "content", &b"abc"[..]);
    s.fetch("binary", "backup", &[("count", "1")]).await;
    let events = admin_get(&s, "/emulator/v1/events/binary").await;
    assert_eq!(
        events,
        Value::Array(s.emulator.events_json(Model::Binary).unwrap())
    );
    let held: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kafka_key"].as_str().unwrap())
        .collect();
    assert_eq!(held, keys(&raws));
    assert_eq!(admin_get(&s, "/emulator/v1/events/insert").await, json!([]));

    let streams = admin_get(&s, "/emulator/v1/streams").await;
    assert_eq!(
        streams,
        json!([{"source": "testing", "label": "content", "sha256": sha, "size": 3}])
    );

    let post = s.post_events(&RESTORE_QUERY, bulk(&raws[..1])).await;
    assert_eq!(post.status(), 200);
    let stats: Stats = serde_json::from_value(admin_get(&s, "/emulator/v1/stats").await).unwrap();
    assert_eq!(stats, s.emulator.stats());
    assert_eq!(stats.topics["azul.test01.testing.binary.sourced"], 3);
    assert_eq!(stats.topics["azul.test01.system.insert"], 0);
    let group = "azul-backup-3.0.0-binary-allsrc-alltype-H-historic";
    assert_eq!(
        stats.consumer_groups[group]["azul.test01.testing.binary.sourced"],
        1
    );
    assert!(stats.last_pause.unwrap().ends_with('Z'));
    assert_eq!((stats.streams, stats.stream_bytes), (1, 3));

    let unknown = s
        .client
        .get(s.url("/emulator/v1/events/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn status_faults_count_down_and_can_be_cleared() {
    let s = serve_fast().await;
    let rule =
        json!({"method": "GET", "path": "/api/v2/event/*/passive", "status": 503, "count": 2});
    let listed = json_body(add_fault(&s, rule).await).await;
    assert_eq!(listed[0]["count"], 2);
    for _ in 0..2 {
        let response = s.get_events("binary", &[("r-historic", "true")]).await;
        assert_eq!(response.status(), 503);
        let body = json_body(response).await;
        assert_eq!(body["title"], "injected fault");
    }
    let response = s.get_events("binary", &[("r-historic", "true")]).await;
    assert_eq!(response.status(), 200);

    add_fault(&s, json!({"path": "*", "status": 500})).await;
    assert_eq!(s.client.get(s.url("/")).send().await.unwrap().status(), 500);
    // The admin routes are never faulted.
    let cleared = s
        .client
        .delete(s.url("/emulator/v1/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(s.client.get(s.url("/")).send().await.unwrap().status(), 200);
    assert!(s.emulator.faults().is_empty());

    let bad = add_fault(&s, json!({"path": "/x"})).await;
    assert_eq!(bad.status(), 400);
    let unknown_field = add_fault(&s, json!({"path": "/x", "status": 500, "bogus": 1})).await;
    assert_eq!(unknown_field.status(), 400);
}

#[tokio::test]
async fn a_dropped_connection_still_commits_the_offsets() {
    let s = serve_fast().await;
    let raws = sourced(3);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    s.emulator
        .add_fault(FaultRule {
            path: "/api/v2/event/binary/passive".into(),
            drop_connection: true,
            count: Some(1),
            ..FaultRule::default()
        })
        .unwrap();
    let query = [
        ("name", "backup"),
        ("version", "3.0.0"),
        ("avro-format", "true"),
        ("r-historic", "true"),
        ("count", "2"),
    ];
    let url = s.url("/api/v2/event/binary/passive");
    // Depending on timing the break shows before or after the response head.
    let broken = match s.client.get(url).query(&query).send().await {
        Ok(response) => response.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(broken, "the connection should have broken off");
    // At-most-once: the two events handed to the lost response are gone for this consumer.
    let next = s.fetch("binary", "backup", &[("count", "5")]).await;
    assert_eq!(next.keys(Model::Binary), keys(&raws[2..]));
}

#[tokio::test]
async fn truncation_delay_and_failure_after_publishing() {
    let s = serve_fast().await;
    let raws = sourced(3);
    s.emulator
        .add_fault(FaultRule {
            method: Some("POST".into()),
            path: "/api/v2/event".into(),
            truncate_at: Some(1),
            delay_ms: 300,
            count: Some(1),
            ..FaultRule::default()
        })
        .unwrap();
    let started = Instant::now();
    let response = s.post_events(&RESTORE_QUERY, bulk(&raws)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"total_ok":1,"total_failures":0,"failures":null}"#
    );
    assert_eq!(s.emulator.events(Model::Binary).len(), 1);

    // A 500 after the events were published: a client that retries duplicates them.
    s.emulator
        .add_fault(FaultRule {
            path: "/api/v2/event".into(),
            status: Some(500),
            after_processing: true,
            count: Some(1),
            ..FaultRule::default()
        })
        .unwrap();
    let response = s.post_events(&RESTORE_QUERY, bulk(&raws[1..])).await;
    assert_eq!(response.status(), 500);
    assert_eq!(s.emulator.events(Model::Binary).len(), 3);
}

#[tokio::test]
async fn not_ready_batches_consume_nothing() {
    let s = serve_fast().await;
    let raws = sourced(1);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    s.emulator
        .add_fault(FaultRule {
            path: "/api/v2/event/binary/passive".into(),
            not_ready: true,
            count: Some(1),
            ..FaultRule::default()
        })
        .unwrap();
    let first = s.fetch("binary", "backup", &[]).await;
    assert_eq!(
        first.info,
        r#"{"filtered":0,"fetched":0,"ready":false,"paused":false,"consumers_not_ready":"historic"}"#
    );
    assert_eq!(first.events, [0x0c, 0x00]);
    let second = s.fetch("binary", "backup", &[]).await;
    assert_eq!(second.keys(Model::Binary), keys(&raws));
}

#[tokio::test]
async fn batches_are_capped_by_max_events_per_fetch() {
    let config = EmulatorConfig::default()
        .early_return(true)
        .max_events_per_fetch(Some(2));
    let s = serve(config).await;
    let raws = sourced(5);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let query = [("count", "1000")];
    let mut seen = Vec::new();
    for want in [2, 2, 1, 0] {
        let got = s
            .fetch("binary", "backup", &query)
            .await
            .keys(Model::Binary);
        assert_eq!(got.len(), want);
        seen.extend(got);
    }
    assert_eq!(seen, keys(&raws));
}

#[tokio::test]
async fn unverified_uploads_keep_the_claimed_hash() {
    let s = serve(EmulatorConfig::default().verify_sha256(false)).await;
    let claimed = "ab".repeat(32);
    let response = s
        .client
        .post(s.url("/api/v3/stream/testing/content"))
        .query(&[
            ("skip-identify", "true"),
            ("expected-sha256", claimed.as_str()),
        ])
        .body("placeholder")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_body(response).await["data"]["sha256"], claimed);
    assert_eq!(
        s.emulator.stream("testing", "content", &claimed).as_deref(),
        Some(&b"placeholder"[..])
    );
}
