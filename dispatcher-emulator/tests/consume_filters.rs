//! The passive consume filters over real HTTP: filtered events are consumed and counted in
//! `info.filters`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azul_backup::avro::{Model, synthetic::EventDraft, to_json};
use azul_dispatcher_emulator::EmulatorConfig;
use common::{Served, binary, json_body, key, post_json, serve, serve_fast};
use serde_json::json;

/// Publish sourced (content, 3 bytes), mapped (report) and enriched (no streams) events.
fn publish_three(s: &Served) -> [String; 3] {
    let raws = [
        binary("testing", "sourced", "s", 1),
        binary("testing", "mapped", "m", 2),
        binary("testing", "enriched", "e", 3),
    ];
    s.emulator.publish(Model::Binary, &raws).unwrap();
    raws.each_ref().map(|r| key(r))
}

async fn filtered(s: &Served, name: &str, extra: &[(&str, &str)]) -> (Vec<String>, String) {
    let mut query = vec![("count", "10")];
    query.extend_from_slice(extra);
    let got = s.fetch("binary", name, &query).await;
    (got.keys(Model::Binary), got.info)
}

fn info(fetched: usize, filters: &str) -> String {
    let filtered: usize = filters
        .split(',')
        .filter_map(|f| f.rsplit(':').next()?.parse::<usize>().ok())
        .sum();
    format!(
        r#"{{"filtered":{filtered},"fetched":{fetched},"ready":true,"paused":false,"filters":{{{filters}}}}}"#
    )
}

#[tokio::test]
async fn content_size_rules() {
    let s = serve_fast().await;
    let [sourced, _, _] = publish_three(&s);
    let (got, i) = filtered(&s, "a", &[("r-under-content-size", "2")]).await;
    assert!(got.is_empty());
    assert_eq!(
        i,
        info(
            0,
            r#""FilterConsumerRules-reject_content_too_large":1,"FilterConsumerRules-reject_no_content":2"#
        )
    );
    let (got, i) = filtered(&s, "b", &[("r-over-content-size", "3")]).await;
    assert_eq!(got, [sourced]);
    assert_eq!(i, info(1, r#""FilterConsumerRules-reject_no_content":2"#));
    let (_, i) = filtered(&s, "c", &[("r-over-content-size", "4")]).await;
    assert!(
        i.contains(r#""FilterConsumerRules-reject_content_too_small":1"#),
        "{i}"
    );
}

#[tokio::test]
async fn stream_rules() {
    let s = serve_fast().await;
    let [sourced, _, enriched] = publish_three(&s);
    let (got, i) = filtered(&s, "a", &[("r-streams", "content")]).await;
    // Events without streams have nothing to reject.
    assert_eq!(got, [sourced.clone(), enriched.clone()]);
    assert_eq!(i, info(2, r#""FilterConsumerRules-reject_stream":1"#));
    let (got, _) = filtered(&s, "b", &[("r-streams", "*")]).await;
    assert_eq!(got.len(), 3);
    // A file format prefix: synthetic streams have none.
    let (got, i) = filtered(&s, "c", &[("r-streams", "report,text/")]).await;
    assert_eq!(got, std::slice::from_ref(&enriched));
    assert_eq!(
        i,
        info(
            1,
            r#""FilterConsumerRules-reject_file_format":1,"FilterConsumerRules-reject_stream":1"#
        )
    );
    // Several labels: each must be present, so none of these passes.
    let both = [("r-streams", "content"), ("r-streams", "report")];
    let (got, i) = filtered(&s, "d", &both).await;
    assert!(got.is_empty());
    assert_eq!(i, info(0, r#""FilterConsumerRules-reject_stream":3"#));
}

#[tokio::test]
async fn deny_self_and_actions() {
    let s = serve_fast().await;
    let [_, mapped, _] = publish_three(&s);
    // The helper's events are authored by "tester".
    let (got, i) = filtered(&s, "tester", &[("d-self", "true")]).await;
    assert!(got.is_empty());
    assert_eq!(i, info(0, r#""FilterConsumerRules-reject_self":3"#));
    let (got, _) = filtered(&s, "other", &[("d-self", "true"), ("r-action", "mapped")]).await;
    assert_eq!(got, [mapped]);
}

#[tokio::test]
async fn too_deep_paths_are_filtered() {
    let s = serve_fast().await;
    let mut event = to_json(Model::Binary, &binary("testing", "extracted", "deep", 1)).unwrap();
    let node = event["source"]["path"][0].clone();
    event["source"]["path"] = json!(vec![node; 12]);
    let response = post_json(&s, &[("model", "binary")], event.to_string()).await;
    assert_eq!(json_body(response).await["total_ok"], 1);
    let (got, i) = filtered(&s, "a", &[]).await;
    assert!(got.is_empty());
    assert_eq!(i, info(0, r#""FilterTooDeep-too_deep":1"#));
}

#[tokio::test]
async fn aged_off_events_are_filtered_on_fetch() {
    let mut config = EmulatorConfig::default().early_return(true);
    config
        .ageoff
        .insert("testing".into(), Duration::from_secs(3600));
    let s = serve(config).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let old = binary("testing", "sourced", "old", now - 2 * 3_600_000_000);
    let fresh = binary("testing", "sourced", "fresh", now);
    // Seeding skips the produce-side ageoff; the consume side still applies.
    s.emulator.publish(Model::Binary, [&old, &fresh]).unwrap();
    let (got, i) = filtered(&s, "a", &[]).await;
    assert_eq!(got, [key(&fresh)]);
    assert_eq!(i, info(1, r#""PipelineAgeoff-ageoff":1"#));
}

#[tokio::test]
async fn status_events_are_filtered_on_their_input() {
    let s = serve_fast().await;
    let status = |source: &str, dequeued: &str| {
        let mut d = EventDraft::new(Model::Status);
        d.set_str("author.name", "plugin")
            .set_str("entity.input.dequeued", dequeued)
            .set_str("entity.input.source.name", source)
            .set_str("entity.input.action", "sourced")
            .set_str("entity.status", "completed");
        d.encode().unwrap()
    };
    s.emulator
        .publish(
            Model::Status,
            [status("testing", "1"), status("samples", "2")],
        )
        .unwrap();
    let got = s
        .fetch("status", "a", &[("count", "5"), ("r-source", "samples")])
        .await;
    assert_eq!(got.keys(Model::Status).len(), 1);
    assert_eq!(
        got.info,
        info(1, r#""FilterConsumerRules-reject_source":1"#)
    );
}
