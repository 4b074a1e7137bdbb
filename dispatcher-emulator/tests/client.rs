//! The project's own dispatcher client against the emulator: a hand-driven backup of a seeded
//! emulator restored into an empty one, then the client's retries against injected faults.

mod common;

use std::{collections::BTreeMap, time::Duration};

use azul_backup::{
    avro::{Model, decode_bulk, encode_bulk_from_raw, to_json},
    dispatcher::{DispatcherClient, DispatcherError, FetchRequest, RequestBody, RetryPolicy},
};
use azul_dispatcher_emulator::{
    ACTIONS, Emulator, EmulatorConfig, Running,
    corpus::{CorpusSpec, seed},
    faults::FaultRule,
};
use bytes::Bytes;

const SOURCES: [&str; 2] = ["samples", "testing"];

async fn served(emulator: &Emulator) -> Running {
    emulator
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn client(running: &Running) -> DispatcherClient {
    DispatcherClient::new(
        &running.base_url,
        &running.base_url,
        Duration::from_secs(30),
    )
    .unwrap()
    .with_retry(RetryPolicy {
        attempts: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    })
}

/// Every event of one consumer, fetched until a batch comes back empty.
async fn drain(
    client: &DispatcherClient,
    model: Model,
    source: Option<&str>,
    action: Option<&str>,
) -> Vec<Vec<u8>> {
    let request = FetchRequest {
        consumer: format!(
            "backup-events-{}-{}-1",
            source.unwrap_or("system"),
            action.unwrap_or("default")
        ),
        version: "3.0.0".into(),
        model,
        source: source.map(String::from),
        action: action.map(String::from),
        count: 7,
        deadline_secs: 1,
        deployment_key: "recovery".into(),
    };
    let mut raws = Vec::new();
    loop {
        let (info, bulk) = client.fetch_events(&request).await.unwrap();
        assert!(info.ready);
        let events = decode_bulk(model, &bulk).unwrap();
        assert_eq!(events.len(), info.fetched as usize);
        if events.is_empty() {
            return raws;
        }
        raws.extend(events.into_iter().map(|e| e.raw));
    }
}

fn sorted_keys(emulator: &Emulator, model: Model) -> Vec<String> {
    let mut keys: Vec<String> = emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect();
    keys.sort();
    keys
}

/// Delete events without their (random) keys, sorted.
fn deletes_without_keys(emulator: &Emulator) -> Vec<String> {
    let mut events: Vec<String> = emulator
        .raw_events(Model::Delete)
        .iter()
        .map(|raw| {
            let mut json = to_json(Model::Delete, raw).unwrap();
            json.as_object_mut().unwrap().remove("kafka_key");
            json.to_string()
        })
        .collect();
    events.sort();
    events
}

#[tokio::test]
async fn backup_and_restore_through_the_client() {
    let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 3,
        ..CorpusSpec::default()
    };
    let corpus = seed(&source, &spec).unwrap();
    let dest = Emulator::new(EmulatorConfig::new(SOURCES));
    let (source_server, dest_server) = (served(&source).await, served(&dest).await);
    let (from, to) = (client(&source_server), client(&dest_server));

    // Back up: system models, then binary events per source and action.
    let mut bundles: Vec<(Model, Vec<Vec<u8>>)> = Vec::new();
    for model in [Model::Insert, Model::Delete] {
        bundles.push((model, drain(&from, model, None, None).await));
    }
    for src in SOURCES {
        for action in ACTIONS {
            let raws = drain(&from, Model::Binary, Some(src), Some(action)).await;
            bundles.push((Model::Binary, raws));
        }
    }
    // Streams: every one the binary events reference, via HEAD and GET.
    let mut streams = BTreeMap::new();
    for (model, raws) in &bundles {
        if *model != Model::Binary {
            continue;
        }
        for raw in raws {
            let event = azul_backup::avro::describe_raw(Model::Binary, raw).unwrap();
            for s in event.streams {
                assert!(from.stream_exists(&s).await.unwrap());
                let body = from.open_stream(&s).await.unwrap().bytes().await.unwrap();
                streams.insert(s, body);
            }
        }
    }
    assert_eq!(streams.len(), corpus.streams.len());

    // Restore: streams first, then system events, then binary events.
    for (s, body) in &streams {
        assert!(!to.stream_exists(s).await.unwrap());
        to.post_stream(s, &RequestBody::Bytes(body.clone()))
            .await
            .unwrap();
    }
    for (model, raws) in &bundles {
        if raws.is_empty() {
            continue;
        }
        let bulk = encode_bulk_from_raw(raws.iter().map(Vec::as_slice));
        let result = to
            .post_events(*model, &RequestBody::Bytes(Bytes::from(bulk)))
            .await
            .unwrap();
        assert_eq!(result.total_ok as usize, raws.len());
        assert_eq!(result.failures, None);
    }

    // The dispatcher recomputes keys: binary and insert keys come back the same...
    for model in [Model::Binary, Model::Insert] {
        assert_eq!(
            sorted_keys(&dest, model),
            sorted_keys(&source, model),
            "{model}"
        );
    }
    // ...delete keys are random, so deletes compare by count and content.
    assert_eq!(deletes_without_keys(&dest), deletes_without_keys(&source));
    assert_ne!(
        sorted_keys(&dest, Model::Delete),
        sorted_keys(&source, Model::Delete)
    );
    for s in &corpus.streams {
        assert_eq!(
            dest.stream(&s.source, &s.label, &s.sha256),
            source.stream(&s.source, &s.label, &s.sha256)
        );
    }
    let missing = azul_backup::avro::StreamRef {
        source: "testing".into(),
        label: "content".into(),
        sha256: "00".repeat(32),
    };
    assert!(matches!(
        to.open_stream(&missing).await,
        Err(DispatcherError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_client_retries_injected_failures() {
    let emulator = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
    let server = served(&emulator).await;
    let client = client(&server);
    let raws = common::sourced(2);
    let bulk = RequestBody::Bytes(Bytes::from(encode_bulk_from_raw(
        raws.iter().map(Vec::as_slice),
    )));

    // A 503 before publishing: the retry publishes once.
    let unavailable = FaultRule {
        path: "/api/v2/event".into(),
        status: Some(503),
        count: Some(1),
        ..FaultRule::default()
    };
    emulator.add_fault(unavailable).unwrap();
    let result = client.post_events(Model::Binary, &bulk).await.unwrap();
    assert_eq!(result.total_ok, 2);
    assert_eq!(emulator.events(Model::Binary).len(), 2);

    // A 500 after publishing: the retry publishes again. Keys are deterministic, so the
    // duplicates carry the same keys (a compacted topic keeps one of each).
    let after = FaultRule {
        path: "/api/v2/event".into(),
        status: Some(500),
        after_processing: true,
        count: Some(1),
        ..FaultRule::default()
    };
    emulator.add_fault(after).unwrap();
    client.post_events(Model::Binary, &bulk).await.unwrap();
    let keys = sorted_keys(&emulator, Model::Binary);
    assert_eq!(keys.len(), 6);
    assert_eq!(
        keys.iter().collect::<std::collections::BTreeSet<_>>().len(),
        2
    );

    // Uploads retry a dropped connection.
    let data = Bytes::from_static(b"stream bytes");
    let stream = azul_backup::avro::StreamRef {
        source: "testing".into(),
        label: "content".into(),
        sha256: common::sha256_hex(&data),
    };
    let dropped = FaultRule {
        path: "/api/v3/stream/*".into(),
        drop_connection: true,
        count: Some(1),
        ..FaultRule::default()
    };
    emulator.add_fault(dropped).unwrap();
    client
        .post_stream(&stream, &RequestBody::Bytes(data.clone()))
        .await
        .unwrap();
    assert_eq!(
        emulator.stream("testing", "content", &stream.sha256),
        Some(data)
    );

    // Everything aged off: 425, not retried.
    let mut config = EmulatorConfig::new(SOURCES);
    config
        .ageoff
        .insert("testing".into(), Duration::from_secs(1));
    let aging = Emulator::new(config);
    let aging_server = served(&aging).await;
    let result = self::client(&aging_server)
        .post_events(Model::Binary, &bulk)
        .await;
    assert!(
        matches!(result, Err(DispatcherError::Filtered(_))),
        "{result:?}"
    );
}
