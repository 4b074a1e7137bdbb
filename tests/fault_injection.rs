//! Faults on both sides, each test printing its figures.
//!
//! S3: backup and restore through a proxy that disturbs 20 % of the S3 requests (500
//! InternalError, 503 SlowDown, connections cut before or after the server applied the
//! request, stalls past the response timeout, answers cut short). Both finish with exit 0 and
//! nothing lost: every event the dispatcher handed out is in a bundle, every stream is stored
//! byte for byte (checked on the server directly), and the restored dispatcher holds every
//! event and stream. `AZUL_CHAOS_SEED=S` picks another fault sequence.
//!
//! Dispatcher: the emulator's fault rules on fetches, stream downloads, event posts and
//! stream uploads; the only loss is the fetch protocol's own window, measured.
//!
//! Needs `scripts/start-s3.sh` and `scripts/build-guests.sh`; skips loudly without S3, and
//! fails under `CI`.

#[path = "common/chaos.rs"]
mod chaos;
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use azul_backup::avro::Model;
use azul_dispatcher_emulator::corpus::{
    CorpusSpec, StreamSizes, SyntheticSpec, seed, seed_synthetic,
};
use azul_dispatcher_emulator::faults::FaultRule;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use chaos::ChaosProxy;
use common::emulator::{deletes_without_keys, held_events, serve};
use common::store::{Buckets, gunzip, key_counts, read};
use common::{BackupEnv, S3, run, s3_or_skip, sources_yaml};

const SOURCES: [&str; 2] = ["samples", "testing"];
const FAULT_RATE: f64 = 0.2;
/// Twice the response timeout the runs are given.
const STALL: Duration = Duration::from_secs(4);

fn keys(emulator: &Emulator, model: Model) -> BTreeSet<String> {
    emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_through_a_faulty_s3_lose_nothing() {
    let test = "backup_and_restore_through_a_faulty_s3_lose_nothing";
    let Some(s3) = s3_or_skip(test) else { return };
    let source = Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(10)));
    let corpus = seed(
        &source,
        &CorpusSpec {
            sources: SOURCES.map(String::from).to_vec(),
            events_per_action: 10,
            insert_events: 12,
            delete_events: 3,
            seed: 77,
            max_stream_size: 32 * 1024,
        },
    )
    .expect("seed the corpus");
    // One stream large enough for a multipart upload (three 5 MiB parts).
    let big = SyntheticSpec {
        sources: vec!["samples".into()],
        binary_events: 1,
        insert_events: 0,
        delete_events: 0,
        seed: 78,
        sizes: StreamSizes::Fixed(11 << 20),
    };
    seed_synthetic(&source, &big).expect("seed the big stream");
    let source_server = serve(&source).await;
    let chaos_seed: u64 = std::env::var("AZUL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2026);
    let proxy = ChaosProxy::start(&s3.endpoint, FAULT_RATE, chaos_seed, STALL).await;
    let faulty = S3 {
        endpoint: proxy.url.clone(),
        ..s3.clone()
    };
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &faulty,
        &source_server.base_url,
        state.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 10)
    .with("BK__EXTERNAL_BACKUP__RESPONSE_TIMEOUT_SECS", 2)
    .with("BK__EXTERNAL_BACKUP__MULTIPART_THRESHOLD_MIB", 5)
    .with("BK__EXTERNAL_BACKUP__MULTIPART_PART_MIB", 5);
    let backup = run(&["backup", "--until-idle"], &env).await;
    backup.assert_success();
    let (backup_requests, backup_faults) = proxy.figures();

    // Checked on the server itself, past the proxy.
    let buckets = Buckets::connect(&s3, &env).await;
    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&source, &env.backup_id, &SOURCES);
    let lost: Vec<&str> = held
        .iter()
        .map(|h| h.event.kafka_key.as_str())
        .filter(|k| !counts.contains_key(*k))
        .collect();
    assert!(lost.is_empty(), "events lost: {lost:?}");
    let stored = buckets.stream_keys().await;
    for (src, label, sha256) in source.stream_keys() {
        let key = format!("{src}/{label}/{sha256}");
        assert!(stored.contains(&key), "stream {key} stored");
        let original = source.stream(&src, &label, &sha256).unwrap();
        assert!(
            gunzip(&read(&buckets.streams, &key).await) == original,
            "stream {key} stored byte for byte"
        );
    }
    source_server.shutdown().await.ok();

    // Restore through the same faulty S3 into an empty dispatcher.
    let dest = Emulator::new(EmulatorConfig::new(SOURCES));
    let dest_server = serve(&dest).await;
    let restore_state = tempfile::tempdir().unwrap();
    let restore_env = restoring_into(&env, &dest_server.base_url, restore_state.path());
    run(&["restore"], &restore_env).await.assert_success();
    for model in [Model::Binary, Model::Insert] {
        assert_eq!(keys(&dest, model), keys(&source, model), "{model} events");
    }
    let restored_deletes: BTreeSet<String> = deletes_without_keys(&dest).into_iter().collect();
    assert!(
        deletes_without_keys(&source)
            .iter()
            .all(|d| restored_deletes.contains(d)),
        "every delete event restored"
    );
    for (src, label, sha256) in source.stream_keys() {
        assert_eq!(
            dest.stream(&src, &label, &sha256),
            source.stream(&src, &label, &sha256),
            "stream {src}/{label}/{sha256} restored"
        );
    }
    let (requests, faults) = proxy.figures();
    let injected: u64 = faults.values().sum();
    println!(
        "S3 faults: backup {backup_requests} requests, {} disturbed; backup + restore {requests} \
         requests, {injected} disturbed ({:.1} %): {faults:?}; {} events and {} streams ({} \
         bytes) backed up and restored, none lost",
        backup_faults.values().sum::<u64>(),
        100.0 * injected as f64 / requests.max(1) as f64,
        held.len(),
        stored.len(),
        corpus.stream_bytes + (11 << 20),
    );
    dest_server.shutdown().await.ok();
}

fn rule(method: &str, path: &str) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        path: path.into(),
        ..FaultRule::default()
    }
}

/// Dispatcher faults, backup then restore: fetches answered 503 and 429, slow, `ready=false`,
/// or dropped after the dispatcher committed their offsets; stream downloads failing or cut;
/// event posts answered 500 after publishing, cut after publishing, 503, or silently
/// truncated; stream uploads failing (425 answers are covered by the restore scenarios).
/// Both runs finish. The only events
/// not backed up are those of the dropped fetch answers — the dispatcher handed them out and
/// committed them, the answer never arrived (the at-most-once window of the fetch protocol,
/// measured here) — and everything backed up is restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_through_a_faulty_dispatcher() {
    let test = "backup_and_restore_through_a_faulty_dispatcher";
    let Some(s3) = s3_or_skip(test) else { return };
    const PER_FETCH: usize = 5;
    let source = Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(PER_FETCH)));
    seed(
        &source,
        &CorpusSpec {
            sources: SOURCES.map(String::from).to_vec(),
            events_per_action: 10,
            insert_events: 12,
            delete_events: 3,
            seed: 79,
            max_stream_size: 16 * 1024,
        },
    )
    .expect("seed the corpus");
    let fetch = "/api/v2/event/*/passive";
    let dropped_fetches = 3u32;
    for r in [
        FaultRule {
            status: Some(503),
            count: Some(4),
            ..rule("GET", fetch)
        },
        FaultRule {
            status: Some(429),
            count: Some(2),
            ..rule("GET", fetch)
        },
        FaultRule {
            not_ready: true,
            count: Some(3),
            ..rule("GET", fetch)
        },
        FaultRule {
            delay_ms: 1500,
            count: Some(2),
            ..rule("GET", fetch)
        },
        FaultRule {
            drop_connection: true,
            count: Some(dropped_fetches),
            ..rule("GET", fetch)
        },
        FaultRule {
            status: Some(500),
            count: Some(5),
            ..rule("GET", "/api/v3/stream/*")
        },
        FaultRule {
            drop_connection: true,
            count: Some(3),
            ..rule("GET", "/api/v3/stream/*")
        },
    ] {
        source.add_fault(r).unwrap();
    }
    let source_server = serve(&source).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &source_server.base_url,
        state.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 10);
    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();

    let buckets = Buckets::connect(&s3, &env).await;
    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&source, &env.backup_id, &SOURCES);
    let lost = held
        .iter()
        .filter(|h| !counts.contains_key(&h.event.kafka_key))
        .count();
    assert!(
        lost <= dropped_fetches as usize * PER_FETCH,
        "{lost} events lost: more than the {dropped_fetches} dropped answers could hold"
    );
    let stored = buckets.stream_keys().await;
    let referenced = common::store::referenced_streams(&bundles);
    assert!(
        referenced.is_subset(&stored),
        "every referenced stream stored"
    );
    source_server.shutdown().await.ok();

    let dest = Emulator::new(EmulatorConfig::new(SOURCES));
    for r in [
        FaultRule {
            status: Some(500),
            after_processing: true,
            count: Some(2),
            ..rule("POST", "/api/v2/event")
        },
        FaultRule {
            drop_connection: true,
            count: Some(2),
            ..rule("POST", "/api/v2/event")
        },
        FaultRule {
            status: Some(503),
            count: Some(3),
            ..rule("POST", "/api/v2/event")
        },
        FaultRule {
            truncate_at: Some(1),
            count: Some(2),
            ..rule("POST", "/api/v2/event")
        },
        FaultRule {
            status: Some(500),
            count: Some(4),
            ..rule("POST", "/api/v3/stream/*")
        },
    ] {
        dest.add_fault(r).unwrap();
    }
    let dest_server = serve(&dest).await;
    let restore_state = tempfile::tempdir().unwrap();
    let restore_env = restoring_into(&env, &dest_server.base_url, restore_state.path());
    run(&["restore"], &restore_env).await.assert_success();
    let backed_up: BTreeSet<String> = bundles
        .iter()
        .flat_map(|b| &b.events)
        .filter(|e| b_model(&bundles, &e.kafka_key) != Some(Model::Delete))
        .map(|e| e.kafka_key.clone())
        .collect();
    let restored: BTreeSet<String> = [Model::Binary, Model::Insert]
        .into_iter()
        .flat_map(|m| keys(&dest, m))
        .collect();
    let missing: Vec<&String> = backed_up.difference(&restored).collect();
    assert!(
        missing.is_empty(),
        "backed-up events not restored: {missing:?}"
    );
    for key in &stored {
        let mut parts = key.splitn(3, '/');
        let (s, l, h) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(dest.stream(s, l, h).is_some(), "stream {key} restored");
    }
    println!(
        "dispatcher faults: {} events handed out, {lost} lost in the {dropped_fetches} dropped \
         fetch answers (at most {} by the protocol), {} duplicates; {} streams stored; \
         restore: {} events and {} streams restored despite 500s, cuts, 503s and truncation",
        held.len(),
        dropped_fetches as usize * PER_FETCH,
        counts.values().map(|n| n - 1).sum::<usize>(),
        stored.len(),
        restored.len(),
        dest.stream_keys().len(),
    );
    dest_server.shutdown().await.ok();
}

/// The model of the bundle holding the event `kafka_key`.
fn b_model(bundles: &[common::store::Bundle], kafka_key: &str) -> Option<Model> {
    bundles
        .iter()
        .find(|b| b.events.iter().any(|e| e.kafka_key == kafka_key))
        .map(|b| b.name.model)
}

/// The backup's environment, restoring into the dispatcher at `url` with its own state dir.
fn restoring_into(env: &BackupEnv, url: &str, state: &std::path::Path) -> BackupEnv {
    env.clone()
        .with("BK__DISPATCHER_EVENTS", url)
        .with("BK__DISPATCHER_STREAMS", url)
        .with("BK__LOCAL_DATA__ROOTDIR", state.display())
}
