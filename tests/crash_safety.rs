//! Crash safety (promise 1 of the design): a backup killed with SIGKILL at any instant and
//! restarted with `--until-idle` loses nothing it had received. The real binary backs up a synthetic corpus
//! (two sources, every action, inserts and deletes) from the dispatcher emulator, which
//! hands out 10 events per fetch and serves streams slowly, into SeaweedFS; it is killed at
//! three instants — when the first bundle is stored (consumers still catching up), when every
//! event has been handed out (spools holding partial bundles, stream copies in flight), and
//! when half of the streams are stored — and restarted each time. Afterwards every event the
//! emulator handed out is in some bundle (duplicates allowed), except at most the events of
//! one response per consumer: the dispatcher commits a consumer's offset when it takes the
//! events, before the response reaches the backup, and holds a partly filled batch until the
//! long-poll deadline, so a response not yet delivered at the kill is lost by the protocol
//! itself. Those losses are measured, checked to lie in that last response, and printed per
//! consumer. Every stream a bundled binary event references is stored (with its exact
//! content) or recorded as missing, and no work is left in the state directory.
//!
//! Needs `scripts/start-s3.sh` and `scripts/build-guests.sh`; skips loudly without S3, and
//! fails under `CI`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use azul_dispatcher_emulator::corpus::{CorpusSpec, seed};
use azul_dispatcher_emulator::faults::FaultRule;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::{all_handed_out, committed, held_events, serve};
use common::store::{Buckets, gunzip, key_counts, keys, read, referenced_streams};
use common::{BackupEnv, RunningBackup, S3, eventually, run, s3_or_skip, sources_yaml};

const SOURCES: [&str; 2] = ["samples", "testing"];
/// Events the emulator hands out per fetch: the most one in-flight response can carry.
const PER_FETCH: usize = 10;
const WAIT: Duration = Duration::from_secs(180);

/// When the running backup is killed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// The first bundle is stored; consumers are still fetching.
    FirstBundle,
    /// Every event has been handed out; spools hold partial bundles, streams are copying.
    AllHandedOut,
    /// Half of the streams are stored.
    HalfTheStreams,
}

/// What one kill and restart showed.
#[derive(Debug)]
struct Outcome {
    point: KillPoint,
    bundles_at_kill: usize,
    streams_at_kill: usize,
    journaled_at_kill: usize,
    /// Events of the response in flight at the kill, per consumer.
    lost_in_flight: BTreeMap<String, usize>,
    duplicates: usize,
    events: usize,
    streams: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_restart_loses_nothing() {
    let Some(s3) = s3_or_skip("kill_9_then_restart_loses_nothing") else {
        return;
    };
    let mut outcomes = Vec::new();
    for (seed_value, point) in [
        KillPoint::FirstBundle,
        KillPoint::AllHandedOut,
        KillPoint::HalfTheStreams,
    ]
    .into_iter()
    .enumerate()
    {
        outcomes.push(kill_and_restart(&s3, point, seed_value as u64 + 11).await);
    }
    for o in &outcomes {
        println!(
            "{:?}: at the kill {} bundles, {} streams stored, {} stream requests journaled; \
             after the restart {} events ({} duplicates), {} streams; lost in flight: {:?}",
            o.point,
            o.bundles_at_kill,
            o.streams_at_kill,
            o.journaled_at_kill,
            o.events,
            o.duplicates,
            o.streams,
            o.lost_in_flight
        );
    }
}

async fn kill_and_restart(s3: &S3, point: KillPoint, seed_value: u64) -> Outcome {
    let emulator =
        Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(PER_FETCH)));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 30,
        insert_events: 40,
        delete_events: 3,
        seed: seed_value,
        max_stream_size: 16 * 1024,
    };
    let corpus = seed(&emulator, &spec).expect("seed the corpus");
    // Slow streams keep copies in flight at every kill point.
    emulator
        .add_fault(FaultRule {
            method: Some("GET".into()),
            path: "/api/v3/stream/*".into(),
            delay_ms: 150,
            ..FaultRule::default()
        })
        .unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 25);
    let buckets = Buckets::connect(s3, &env).await;
    let id = env.backup_id.clone();

    let backup = RunningBackup::start(&["backup"], &env);
    let total_streams = corpus.streams.len();
    eventually(&format!("the kill point {point:?}"), WAIT, async || {
        let reached = match point {
            KillPoint::FirstBundle => !keys(&buckets.events, "").await.is_empty(),
            KillPoint::AllHandedOut => all_handed_out(&emulator, &id, &SOURCES),
            KillPoint::HalfTheStreams => buckets.stream_keys().await.len() * 2 >= total_streams,
        };
        reached.then_some(())
    })
    .await;
    let killed = backup.kill_hard().await;
    assert_eq!(killed.status.signal(), Some(9), "{}", killed.transcript());
    // Let the emulator finish answering requests it received before the kill, so the
    // offsets read next are final.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let offsets_at_kill = committed(&emulator, &id);
    let bundles_at_kill = buckets.bundles().await.len();
    let streams_at_kill = buckets.stream_keys().await.len();
    let journaled_at_kill = env.journal_outstanding().len();

    emulator.clear_faults();
    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    assert!(
        all_handed_out(&emulator, &id, &SOURCES),
        "the restart consumed everything"
    );

    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&emulator, &id, &SOURCES);
    let mut lost_per_consumer: BTreeMap<&str, usize> = BTreeMap::new();
    for h in held
        .iter()
        .filter(|h| !counts.contains_key(&h.event.kafka_key))
    {
        let offset = offsets_at_kill
            .get(&h.consumer)
            .and_then(|topics| topics.get(&h.topic))
            .copied()
            .unwrap_or(0);
        assert!(
            h.position < offset && h.position + PER_FETCH >= offset,
            "{point:?}: {} event {} (position {} of {}) is in no bundle, and was not in the \
             last response handed out before the kill (offset then {offset})",
            h.model,
            h.event.kafka_key,
            h.position,
            h.topic,
        );
        *lost_per_consumer.entry(&h.consumer).or_default() += 1;
    }
    assert!(
        lost_per_consumer.values().all(|n| *n <= PER_FETCH),
        "{point:?}: at most one response per consumer: {lost_per_consumer:?}"
    );

    let referenced = referenced_streams(&bundles);
    let stored = buckets.stream_keys().await;
    let missing: BTreeSet<String> = env
        .state_lines("backup-missing.stream")
        .iter()
        .map(|l| common::store::stream_of_line(l))
        .collect();
    let unaccounted: Vec<&String> = referenced
        .iter()
        .filter(|k| !stored.contains(*k) && !missing.contains(*k))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "{point:?}: referenced streams neither stored nor missing: {unaccounted:?}"
    );
    assert!(
        missing.is_empty(),
        "{point:?}: the emulator has every stream"
    );
    for key in &stored {
        let mut parts = key.splitn(3, '/');
        let (source, label, sha256) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let original = emulator
            .stream(source, label, sha256)
            .unwrap_or_else(|| panic!("{point:?}: stored {key} is not a dispatcher stream"));
        assert_eq!(
            gunzip(&read(&buckets.streams, key).await),
            original,
            "{point:?}: {key} is stored whole"
        );
    }
    assert!(
        env.state_lines("backup.stream").is_empty(),
        "{point:?}: no failures"
    );
    assert!(
        env.journal_outstanding().is_empty(),
        "{point:?}: no stream request left over"
    );
    server.shutdown().await.ok();
    Outcome {
        point,
        bundles_at_kill,
        streams_at_kill,
        journaled_at_kill,
        lost_in_flight: lost_per_consumer
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect(),
        duplicates: counts.values().map(|n| n - 1).sum(),
        events: counts.len(),
        streams: stored.len(),
    }
}
