//! `GET /api/v2/event/{model}/passive` over real HTTP.

mod common;

use std::time::{Duration, Instant};

use azul_backup::avro::{Model, synthetic::insert_event};
use azul_dispatcher_emulator::{EmulatorConfig, canonical_key};
use common::{Fetched, assert_error, binary, held_bulk, key, keys, serve, serve_fast, sourced};

#[tokio::test]
async fn framing_is_byte_exact() {
    let s = serve_fast().await;
    let raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws).unwrap();

    let response = s
        .get_events(
            "binary",
            &[
                ("name", "n"),
                ("avro-format", "true"),
                ("r-historic", "true"),
                ("count", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let got = Fetched::read(response).await;
    assert_eq!(
        got.info,
        r#"{"filtered":0,"fetched":2,"ready":true,"paused":false}"#
    );
    // The events as published: same content, the dispatcher's keys and tracking ids.
    assert_eq!(got.events, held_bulk(&s.emulator, Model::Binary));
    assert_eq!(got.keys(Model::Binary), keys(&raws));
}

#[tokio::test]
async fn an_empty_fetch_is_the_two_byte_bulk() {
    let s = serve_fast().await;
    let got = s.fetch("binary", "nobody", &[]).await;
    assert_eq!(
        got.info,
        r#"{"filtered":0,"fetched":0,"ready":true,"paused":false}"#
    );
    assert_eq!(got.events, [0x0c, 0x00]);
    // Boundaries are random per response.
    let again = s.fetch("binary", "nobody", &[]).await;
    assert_ne!(got.boundary, again.boundary);
}

#[tokio::test]
async fn offsets_are_committed_at_fetch() {
    let s = serve_fast().await;
    let raws = sourced(5);
    s.emulator.publish(Model::Binary, &raws).unwrap();

    let first = s.fetch("binary", "backup", &[("count", "3")]).await;
    assert_eq!(first.keys(Model::Binary), keys(&raws[..3]));
    let second = s.fetch("binary", "backup", &[("count", "3")]).await;
    assert_eq!(second.keys(Model::Binary), keys(&raws[3..]));
    let third = s.fetch("binary", "backup", &[("count", "3")]).await;
    assert!(third.keys(Model::Binary).is_empty());

    // A different consumer name is a different group: it starts from the earliest event.
    let other = s.fetch("binary", "other", &[("count", "10")]).await;
    assert_eq!(other.keys(Model::Binary), keys(&raws));
    // So does a different version, or a different filter set.
    let filtered = s
        .fetch(
            "binary",
            "backup",
            &[("count", "10"), ("r-source", "testing")],
        )
        .await;
    assert_eq!(filtered.keys(Model::Binary), keys(&raws));

    // reset=true forgets the group's offsets.
    let reset = s
        .fetch("binary", "backup", &[("count", "10"), ("reset", "true")])
        .await;
    assert_eq!(reset.keys(Model::Binary), keys(&raws));
}

#[tokio::test]
async fn live_starts_at_the_end_and_doubles_with_historic() {
    let s = serve_fast().await;
    let raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let live = [("r-historic", "false"), ("r-live", "true"), ("count", "10")];
    assert!(
        s.fetch("binary", "live", &live)
            .await
            .keys(Model::Binary)
            .is_empty()
    );
    let both = [("r-live", "true"), ("count", "10")];
    assert_eq!(
        s.fetch("binary", "both", &both).await.keys(Model::Binary),
        keys(&raws)
    );

    let new = binary("testing", "sourced", "new", 1_800_000_000_000_000);
    s.emulator.publish(Model::Binary, [&new]).unwrap();
    assert_eq!(
        s.fetch("binary", "live", &live).await.keys(Model::Binary),
        [key(&new)]
    );
    // Live and historic are separate groups, so the new event comes once from each.
    assert_eq!(
        s.fetch("binary", "both", &both).await.keys(Model::Binary),
        [key(&new), key(&new)]
    );
}

#[tokio::test]
async fn count_is_clamped_to_1_through_1000() {
    let s = serve_fast().await;
    let raws = sourced(1005);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    for (name, count, want) in [
        ("zero", "0", 1),
        ("negative", "-5", 1),
        ("empty", "", 1),
        ("big", "5000", 1000),
    ] {
        let got = s.fetch("binary", name, &[("count", count)]).await;
        assert_eq!(got.keys(Model::Binary).len(), want, "count={count}");
        assert_eq!(
            got.info,
            format!(r#"{{"filtered":0,"fetched":{want},"ready":true,"paused":false}}"#)
        );
    }
    let absent = s.fetch("binary", "absent", &[]).await;
    assert_eq!(absent.keys(Model::Binary), [key(&raws[0])]);
}

#[tokio::test]
async fn topics_follow_source_and_action() {
    let s = serve_fast().await;
    let raws = [
        binary("testing", "sourced", "t-sourced", 1),
        binary("samples", "extracted", "s-extracted", 2),
        binary("samples", "mapped", "s-mapped", 3),
        binary("testing", "enriched", "t-enriched", 4),
    ];
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let [t_sourced, s_extracted, s_mapped, t_enriched] = raws.each_ref().map(|r| key(r));

    let by_source = s
        .fetch("binary", "a", &[("count", "10"), ("r-source", "samples")])
        .await;
    assert_eq!(
        by_source.keys(Model::Binary),
        [s_extracted.clone(), s_mapped.clone()]
    );
    let by_action = s
        .fetch(
            "binary",
            "b",
            &[
                ("count", "10"),
                ("r-action", "sourced"),
                ("r-action", "mapped"),
            ],
        )
        .await;
    assert_eq!(
        by_action.keys(Model::Binary),
        [t_sourced.clone(), s_mapped.clone()]
    );
    // Across topics, events come back in publish order.
    let all = s.fetch("binary", "c", &[("count", "10")]).await;
    assert_eq!(
        all.keys(Model::Binary),
        [t_sourced.clone(), s_extracted.clone(), s_mapped, t_enriched]
    );

    // d-action is a consume filter: the events are consumed and counted as filtered.
    let denied = s
        .fetch(
            "binary",
            "d",
            &[
                ("count", "10"),
                ("d-action", "mapped"),
                ("d-action", "enriched"),
            ],
        )
        .await;
    assert_eq!(denied.keys(Model::Binary), [t_sourced, s_extracted]);
    assert_eq!(
        denied.info,
        r#"{"filtered":2,"fetched":2,"ready":true,"paused":false,"filters":{"FilterConsumerRules-reject_event_type":2}}"#
    );
}

#[tokio::test]
async fn other_models_read_their_system_topic() {
    let s = serve_fast().await;
    let inserts: Vec<Vec<u8>> = (0..3)
        .map(|i| insert_event("client-key", 10 + i, &"aa".repeat(32), &format!("{i:064}")).unwrap())
        .collect();
    s.emulator.publish(Model::Insert, &inserts).unwrap();
    let insert_keys: Vec<String> = inserts
        .iter()
        .map(|raw| canonical_key(Model::Insert, raw).unwrap())
        .collect();
    s.emulator.publish(Model::Binary, sourced(1)).unwrap();
    let got = s
        .fetch(
            "insert",
            "backup-events-system-insert-1",
            &[("count", "1000"), ("deadline", "30")],
        )
        .await;
    assert_eq!(got.keys(Model::Insert), insert_keys);
    assert_eq!(got.events, held_bulk(&s.emulator, Model::Insert));
}

#[tokio::test]
async fn bad_parameters_are_422() {
    let s = serve_fast().await;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 9] = [
        (
            "nope",
            &[("r-historic", "true")],
            "bad parameter for model: not a registered model type: nope",
        ),
        (
            "binary",
            &[],
            "requires at least one of r-expedite, r-live or r-historic",
        ),
        (
            "binary",
            &[("r-historic", "false")],
            "requires at least one of r-expedite, r-live or r-historic",
        ),
        (
            "insert",
            &[("r-expedite", "true")],
            "can only r-expedite with binary events",
        ),
        (
            "binary",
            &[("r-historic", "yes")],
            r#"bad parameter for r-historic: strconv.ParseBool: parsing "yes": invalid syntax"#,
        ),
        (
            "binary",
            &[("avro-format", "<x>"), ("r-historic", "1")],
            r#"bad parameter for avro-format: strconv.ParseBool: parsing "<x>": invalid syntax"#,
        ),
        (
            "binary",
            &[("r-historic", "T"), ("count", "ten")],
            r#"bad parameter for count: strconv.Atoi: parsing "ten": invalid syntax"#,
        ),
        (
            "binary",
            &[("r-live", "1"), ("r-action", "sorced")],
            "bad parameter for r-action: invalid event type 'sorced'",
        ),
        (
            "binary",
            &[
                ("r-live", "1"),
                ("r-content", "true"),
                ("r-action", "sourced"),
            ],
            "cannot combine r-action with r-content or d-action",
        ),
    ];
    for (model, query, detail) in cases {
        let response = s.get_events(model, query).await;
        assert_error(response, 422, "bad parameters", detail).await;
    }
    // The raw body escapes HTML characters as Go's encoder does.
    let response = s.get_events("binary", &[("avro-format", "<x>")]).await;
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#"parsing \"\u003cx\u003e\": invalid syntax"#),
        "{body}"
    );
}

#[tokio::test]
async fn max_security_is_refused_without_consuming() {
    let s = serve_fast().await;
    let raws = sourced(1);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let refused = s
        .get_events(
            "binary",
            &[
                ("name", "j"),
                ("r-historic", "true"),
                ("avro-format", "true"),
                ("max-security", "OFFICIAL"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("does not apply max-security")
    );
    // Nothing was consumed by the refused request.
    assert_eq!(
        s.fetch("binary", "j", &[]).await.keys(Model::Binary),
        keys(&raws)
    );
}

#[tokio::test]
async fn the_deadline_is_honoured_without_early_return() {
    let s = serve(EmulatorConfig::default()).await;
    let mut raws = sourced(2);
    s.emulator.publish(Model::Binary, &raws[..1]).unwrap();

    // Fewer events than asked for: the answer comes at the deadline, with what there is.
    let started = Instant::now();
    let got = s
        .fetch("binary", "slow", &[("count", "5"), ("deadline", "1")])
        .await;
    let waited = started.elapsed();
    assert_eq!(got.keys(Model::Binary), keys(&raws[..1]));
    assert!(
        waited >= Duration::from_millis(950),
        "answered after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");

    // Enough events: no waiting.
    s.emulator.publish(Model::Binary, &raws[1..]).unwrap();
    let started = Instant::now();
    let got = s
        .fetch("binary", "quick", &[("count", "2"), ("deadline", "1")])
        .await;
    raws.truncate(2);
    assert_eq!(got.keys(Model::Binary), keys(&raws));
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_waiting_get_wakes_when_events_arrive() {
    let s = serve(EmulatorConfig::default()).await;
    let client = s.client.clone();
    let url = s.url("/api/v2/event/binary/passive");
    // deadline=0 waits until `count` events exist.
    let waiting = tokio::spawn(async move {
        let query = [
            ("name", "w"),
            ("avro-format", "true"),
            ("r-historic", "true"),
            ("count", "2"),
            ("deadline", "0"),
        ];
        let response = client.get(url).query(&query).send().await.unwrap();
        Fetched::read(response).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = sourced(1);
    s.emulator.publish(Model::Binary, &first).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "answered with fewer than count events"
    );
    let started = Instant::now();
    let late = binary("samples", "mapped", "late", 5);
    s.emulator.publish(Model::Binary, [&late]).unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.keys(Model::Binary), [key(&first[0]), key(&late)]);
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn shutdown_answers_waiting_consumers() {
    let s = serve(EmulatorConfig::default()).await;
    let raws = sourced(1);
    s.emulator.publish(Model::Binary, &raws).unwrap();
    let client = s.client.clone();
    let url = s.url("/api/v2/event/binary/passive");
    let waiting = tokio::spawn(async move {
        let query = [
            ("name", "w"),
            ("avro-format", "true"),
            ("r-historic", "true"),
            ("count", "9"),
            ("deadline", "0"),
        ];
        let response = client.get(url).query(&query).send().await.unwrap();
        Fetched::read(response).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(Duration::from_secs(2), s.running.shutdown())
        .await
        .unwrap()
        .unwrap();
    let got = waiting.await.unwrap();
    assert_eq!(got.keys(Model::Binary), keys(&raws));
}
