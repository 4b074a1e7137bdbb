//! The original azul-backup's backup scenarios (its `cmd/backup_test.go`, the rapid shutdown
//! of `RecoveryTestSuite`, `cmd/source_test.go` and `common/settings_test.go`), ported to the
//! real `azul-backup` binary and backup component, a SeaweedFS S3 server and the dispatcher
//! emulator, whose fault rules stand in for the original's mocks. Expected values are derived
//! from the data and the rules (one consumer per source × action, bundles named after their
//! last event, dedupe of stream keys, the consecutive-failure threshold), not copied: a
//! dispatcher whose event fetches fail is polled again with backoff, loses nothing and shows
//! in the metrics; failing stream downloads are all recorded in `backup.stream` (and past the
//! threshold stop the run with a failure status); 404s are recorded as missing; a good batch,
//! a bad answer and another good batch make one bundle; two SIGTERMs while streams are slow
//! record the unfinished streams, so stored + recorded is exactly every distinct stream;
//! excluded sources get no consumer; unknown settings warn and bad ones exit 2.
//!
//! Needs `scripts/start-s3.sh` (S3_ENDPOINT) and `scripts/build-guests.sh`; the sample-based
//! scenarios also need the original's samples under AZUL_REFERENCE_DIR. Without them a test
//! skips loudly, and fails under `CI`. The settings checks need neither.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use azul_backup::avro::rfc3339_nano;
use azul_backup::objectstore::{ExpiryRule, ObjectStore, S3Store};
use azul_dispatcher_emulator::faults::FaultRule;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::{committed, consumer_groups, consumer_name, held_events, serve};
use common::samples::{self, SAMPLES_EXTRACTED, SAMPLES_SOURCED, Samples, TESTING_SOURCED};
use common::store::{Buckets, gunzip, key_counts, read, stream_of_line};
use common::{
    BackupEnv, RUN_TIMEOUT, RunningBackup, eventually, metric, run, s3_or_skip, scrape,
    sources_yaml,
};

/// Sources the original's backup suite configures but excludes from backup.
const EXCLUDED: [&str; 2] = ["assemblyline", "tasking"];
const ACTIONS: [&str; 5] = ["sourced", "extracted", "augmented", "mapped", "enriched"];
const FAILED_FILE: &str = "backup.stream";
const MISSING_FILE: &str = "backup-missing.stream";
const WAIT: Duration = Duration::from_secs(120);

/// An emulator registering `backed_up` and the excluded sources.
fn emulator(backed_up: &[&str], config: impl FnOnce(EmulatorConfig) -> EmulatorConfig) -> Emulator {
    let sources = backed_up.iter().chain(EXCLUDED.iter()).copied();
    Emulator::new(config(EmulatorConfig::new(sources)))
}

fn fault(method: &str, path: &str) -> FaultRule {
    FaultRule {
        method: Some(method.into()),
        path: path.into(),
        ..FaultRule::default()
    }
}

/// Every stream download fails the way an overloaded dispatcher does.
fn failing_stream_downloads() -> FaultRule {
    FaultRule {
        status: Some(503),
        ..fault("GET", "/api/v3/stream/*")
    }
}

/// `(source, "<model>/<action>")` of every consumer a backup of `sources` runs.
fn consumer_labels(sources: &[&str]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = sources
        .iter()
        .flat_map(|s| ACTIONS.map(|a| (s.to_string(), format!("binary/{a}"))))
        .collect();
    labels.push(("system".into(), "insert/default".into()));
    labels.push(("system".into(), "delete/default".into()));
    labels
}

/// The kafka_keys the emulator holds for the backup's consumers, sorted (duplicates kept).
fn held_keys(emulator: &Emulator, env: &BackupEnv, sources: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = held_events(emulator, &env.backup_id, sources)
        .into_iter()
        .map(|h| h.event.kafka_key)
        .collect();
    keys.sort();
    keys
}

/// Every bundled kafka_key, sorted (duplicates kept).
fn bundled_keys(bundles: &[common::store::Bundle]) -> Vec<String> {
    let mut keys: Vec<String> = key_counts(bundles)
        .into_iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k, n))
        .collect();
    keys.sort();
    keys
}

fn streams_in(lines: &[String]) -> BTreeSet<String> {
    lines.iter().map(|l| stream_of_line(l)).collect()
}

/// Port of `TestBadDPGetEvents`: while every event fetch fails, consumers keep polling with
/// backoff, nothing is handed out (so nothing can be lost) and every consumer's failures
/// show in `recovery_backup_events_error`; once the dispatcher recovers, everything is
/// backed up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_event_fetches_are_retried_and_lose_nothing() {
    let test = "failing_event_fetches_are_retried_and_lose_nothing";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["testing"], |c| c.early_return(true));
    samples.load_all(&emulator, TESTING_SOURCED);
    let outage = FaultRule {
        status: Some(503),
        count: Some(1_000_000),
        ..fault("GET", "/api/v2/event/*/passive")
    };
    emulator.add_fault(outage).unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &EXCLUDED),
    );

    let backup = RunningBackup::start(&["backup", "--until-idle"], &env);
    let metrics = backup.metrics_addr().await;
    // Liveness at once; readiness once the run is set up (it stays ready through the outage:
    // the process is working, retrying).
    azul_backup::tls::install_default_provider();
    let status = |path: &'static str| {
        let url = format!("http://{metrics}{path}");
        async move { reqwest::get(url).await.map(|r| r.status().as_u16()).ok() }
    };
    assert_eq!(status("/healthz").await, Some(200));
    eventually("readiness", WAIT, async || {
        (status("/readyz").await == Some(200)).then_some(())
    })
    .await;
    let consumers = consumer_labels(&["testing"]);
    let during_outage = eventually(
        "every consumer to report failed fetches",
        WAIT,
        async || {
            let text = scrape(&metrics).await;
            consumers
                .iter()
                .all(|(source, event)| {
                    let labels = [
                        ("source", source.as_str()),
                        ("event", event.as_str()),
                        ("keyword", "FetchEvents"),
                    ];
                    metric(&text, "recovery_backup_events_error", &labels) >= Some(1.0)
                })
                .then_some(text)
        },
    )
    .await;
    // Every failure was retried first (BK__RETRY_COUNT=5: 4 retries each), counted by cause;
    // each consumer's spool is open and empty.
    let retries = metric(
        &during_outage,
        "azul_backup_retries_total",
        &[("cause", "fetch")],
    );
    assert!(
        retries >= Some(4.0 * consumers.len() as f64),
        "fetch retries {retries:?}"
    );
    let spool = [("spool", "testing-binary-sourced")];
    assert_eq!(
        metric(&during_outage, "azul_backup_spool_events", &spool),
        Some(0.0)
    );
    let refused = 1_000_000 - u64::from(emulator.faults()[0].count.unwrap());
    assert!(
        committed(&emulator, &env.backup_id).is_empty(),
        "a failed fetch hands nothing out"
    );
    let events_ok = [("source", "testing"), ("stat", "events-ok")];
    assert_eq!(
        metric(&during_outage, "recovery_backup_stats", &events_ok).unwrap_or(0.0),
        0.0,
        "no events are backed up during the outage (the original's expectation)"
    );
    // Each consumer reports a failure only after its retries: 5 attempts (BK__RETRY_COUNT).
    assert!(
        refused >= 5 * consumers.len() as u64,
        "{refused} refused fetches for {} consumers",
        consumers.len()
    );
    emulator.clear_faults();

    let finished = backup.finish(RUN_TIMEOUT).await;
    finished.assert_success();
    assert!(
        finished.stderr.contains("fetch failed"),
        "{}",
        finished.transcript()
    );
    let buckets = Buckets::connect(&s3, &env).await;
    let bundles = buckets.bundles().await;
    assert_eq!(
        bundled_keys(&bundles),
        held_keys(&emulator, &env, &["testing"]),
        "every held event is bundled exactly once"
    );
    let streams = samples.stream_keys(TESTING_SOURCED, 0..100);
    assert_eq!(buckets.stream_keys().await, streams);
    let stats = finished.backup_stats();
    assert_eq!(stats.get("testing", "events-ok"), 100);
    assert_eq!(stats.get("testing", "streams-ok"), streams.len() as u64);
    assert_eq!(stats.get("system", "events-ok"), 0);
    println!("{refused} fetches refused during the outage");
    server.shutdown().await.ok();
}

/// Port of `TestBadDPGetBinary`: every stream download fails; each distinct stream is tried,
/// counted in streams-fail and recorded in `backup.stream` (with the id of an event that
/// references it) for a later attempt; the events are all backed up. Below the
/// consecutive-failure threshold the run completes, but unlike the original's it says that
/// streams were left behind: exit status 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_stream_downloads_are_all_recorded() {
    let test = "failing_stream_downloads_are_all_recorded";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["testing"], |c| c.early_return(true));
    samples.load_all(&emulator, TESTING_SOURCED);
    emulator.add_fault(failing_stream_downloads()).unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &EXCLUDED),
    )
    // Every stream is tried: the threshold is out of reach.
    .with("BK__CONSECUTIVE_BACKUP_STREAM_FAILURES", 1000)
    .with("BK__STREAM_ROUTINE_COUNT", 20)
    .with("BK__RETRY_COUNT", 2);

    let finished = run(&["backup", "--until-idle"], &env).await;
    assert_eq!(finished.status.code(), Some(3), "{}", finished.transcript());
    assert!(
        finished.stderr.contains("could not be copied"),
        "{}",
        finished.transcript()
    );

    let streams = samples.stream_keys(TESTING_SOURCED, 0..100);
    let stats = finished.backup_stats();
    assert_eq!(stats.get("testing", "events-ok"), 100);
    assert_eq!(stats.get("testing", "streams-fail"), streams.len() as u64);
    assert_eq!(stats.get("testing", "streams-ok"), 0);
    let recorded = env.state_lines(FAILED_FILE);
    assert_eq!(
        recorded.len(),
        streams.len(),
        "one line per distinct stream"
    );
    assert_eq!(streams_in(&recorded), streams);
    let referencing: BTreeMap<String, BTreeSet<String>> = {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for held in held_events(&emulator, &env.backup_id, &["testing"]) {
            for s in &held.event.streams {
                let key = format!("{}/{}/{}", s.source, s.label, s.sha256);
                map.entry(key)
                    .or_default()
                    .insert(held.event.kafka_key.clone());
            }
        }
        map
    };
    for line in &recorded {
        let (event_id, stream) = line.split_once('/').unwrap();
        assert!(
            referencing[stream].contains(event_id),
            "{line}: {event_id} does not reference {stream}"
        );
    }
    assert!(
        env.journal_outstanding().is_empty(),
        "every request handled"
    );
    let buckets = Buckets::connect(&s3, &env).await;
    assert!(buckets.stream_keys().await.is_empty());
    assert_eq!(
        bundled_keys(&buckets.bundles().await),
        held_keys(&emulator, &env, &["testing"])
    );
    server.shutdown().await.ok();
}

/// The threshold half of the bad-download scenario: with one stream worker, more than
/// BK__CONSECUTIVE_BACKUP_STREAM_FAILURES (5) consecutive failures stop the run with a failure
/// status; the worker tried threshold + 1 streams and recorded every other one untried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_stream_failures_stop_the_run_and_record_the_rest() {
    let test = "consecutive_stream_failures_stop_the_run_and_record_the_rest";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["testing"], |c| c.early_return(true));
    samples.load_all(&emulator, TESTING_SOURCED);
    emulator.add_fault(failing_stream_downloads()).unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let threshold = 5;
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &EXCLUDED),
    )
    .with("BK__CONSECUTIVE_BACKUP_STREAM_FAILURES", threshold)
    .with("BK__STREAM_ROUTINE_COUNT", 1)
    .with("BK__RETRY_COUNT", 2);

    let finished = run(&["backup", "--until-idle"], &env).await;
    assert!(
        !finished.status.success(),
        "a run stopped by its failure threshold must not exit 0:\n{}",
        finished.transcript()
    );
    assert!(
        finished.stderr.contains("consecutive stream failures"),
        "{}",
        finished.transcript()
    );

    let streams = samples.stream_keys(TESTING_SOURCED, 0..100);
    let stats = finished.backup_stats();
    assert_eq!(stats.get("testing", "streams-fail"), threshold + 1);
    assert_eq!(stats.get("testing", "events-ok"), 100);
    let recorded = env.state_lines(FAILED_FILE);
    assert_eq!(
        recorded.len(),
        streams.len(),
        "tried and untried, once each"
    );
    assert_eq!(streams_in(&recorded), streams);
    assert!(
        env.journal_outstanding().is_empty(),
        "every request handled"
    );
    let buckets = Buckets::connect(&s3, &env).await;
    assert_eq!(
        bundled_keys(&buckets.bundles().await),
        held_keys(&emulator, &env, &["testing"]),
        "a stopped run still flushes every fetched event"
    );
    server.shutdown().await.ok();
}

/// Port of `TestGetMissingBinary`: the dispatcher has none of the streams (404); each distinct
/// stream is counted in streams-missing and listed in `backup-missing.stream`, nothing is
/// recorded as failed, and the run succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_streams_are_recorded_as_missing() {
    let test = "missing_streams_are_recorded_as_missing";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["testing"], |c| c.early_return(true));
    samples.publish_without_streams(&emulator, TESTING_SOURCED, 0..100);
    assert_eq!(emulator.stats().streams, 0);
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &EXCLUDED),
    );

    let finished = run(&["backup", "--until-idle"], &env).await;
    finished.assert_success();

    let streams = samples.stream_keys(TESTING_SOURCED, 0..100);
    let stats = finished.backup_stats();
    assert_eq!(stats.get("testing", "events-ok"), 100);
    assert_eq!(
        stats.get("testing", "streams-missing"),
        streams.len() as u64
    );
    assert_eq!(stats.get("testing", "streams-fail"), 0);
    let missing = env.state_lines(MISSING_FILE);
    assert_eq!(missing.len(), streams.len());
    assert_eq!(streams_in(&missing), streams);
    assert!(env.state_lines(FAILED_FILE).is_empty());
    let buckets = Buckets::connect(&s3, &env).await;
    assert!(buckets.stream_keys().await.is_empty());
    server.shutdown().await.ok();
}

/// Port of `TestCombined`. The emulator cannot serve a corrupt avro batch, so the bad batch
/// is a failing answer (500, nothing handed out) between two good batches of 50 events: the
/// first batch waits in the spool through the failures, and the two make exactly one bundle
/// of 100 named after the last event; every stream is stored once, gzip of its content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_answer_between_good_batches_loses_nothing() {
    let test = "a_bad_answer_between_good_batches_loses_nothing";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["testing"], |c| c.max_events_per_fetch(Some(50)));
    samples.load(&emulator, TESTING_SOURCED, 0..50);
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &EXCLUDED),
    )
    .with("BK__EVENT_BATCH_SIZE", 100);
    let sourced = consumer_name("testing", "sourced", &env.backup_id);

    let backup = RunningBackup::start(&["backup"], &env);
    let metrics = backup.metrics_addr().await;
    eventually("the first batch to be handed out", WAIT, async || {
        let offsets = committed(&emulator, &env.backup_id);
        (offsets.get(&sourced)?.values().sum::<usize>() == 50).then_some(())
    })
    .await;
    emulator
        .add_fault(FaultRule {
            status: Some(500),
            ..fault("GET", "/api/v2/event/binary/passive")
        })
        .unwrap();
    eventually("the consumer to see the bad answers", WAIT, async || {
        let labels = [
            ("source", "testing"),
            ("event", "binary/sourced"),
            ("keyword", "FetchEvents"),
        ];
        (metric(
            &scrape(&metrics).await,
            "recovery_backup_events_error",
            &labels,
        ) >= Some(1.0))
        .then_some(())
    })
    .await;
    emulator.clear_faults();
    samples.load(&emulator, TESTING_SOURCED, 50..100);
    let streams = samples.stream_keys(TESTING_SOURCED, 0..100);
    let buckets = Buckets::connect(&s3, &env).await;
    eventually("the bundle and every stream", WAIT, async || {
        let bundled = !buckets.bundles().await.is_empty();
        (bundled && buckets.stream_keys().await.len() == streams.len()).then_some(())
    })
    .await;
    backup.signal("TERM");
    let finished = backup.finish(RUN_TIMEOUT).await;
    finished.assert_success();

    let held = held_events(&emulator, &env.backup_id, &["testing"]);
    let last = &held.last().unwrap().event;
    let expected_key = format!(
        "testing/binary/sourced/{}-100-{}",
        rfc3339_nano(last.timestamp_micros),
        last.kafka_key
    );
    let bundles = buckets.bundles().await;
    let names: Vec<&str> = bundles.iter().map(|b| b.name.key.as_str()).collect();
    assert_eq!(names, [expected_key.as_str()]);
    let bundled: Vec<&str> = bundles[0]
        .events
        .iter()
        .map(|e| e.kafka_key.as_str())
        .collect();
    let in_order: Vec<&str> = held.iter().map(|h| h.event.kafka_key.as_str()).collect();
    assert_eq!(bundled, in_order, "the bundle holds both batches, in order");
    assert_eq!(buckets.stream_keys().await, streams);
    for key in &streams {
        let sha256 = key.rsplit('/').next().unwrap();
        assert_eq!(
            gunzip(&read(&buckets.streams, key).await),
            samples.content(sha256),
            "{key}"
        );
    }
    let stats = finished.backup_stats();
    assert_eq!(stats.get("testing", "events-ok"), 100);
    assert_eq!(stats.get("testing", "streams-ok"), streams.len() as u64);
    server.shutdown().await.ok();
}

/// Port of `TestRapidBackupShutdown`: samples sourced + extracted, streams slowed down by the
/// dispatcher. Once every event is bundled and some streams are stored, two SIGTERMs: the
/// first stops consuming and flushes, the second records the streams not yet copied instead
/// of copying them. Stored + recorded is exactly every distinct stream, none in both; a
/// restart re-attempts the recorded ones and completes the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_shutdown_records_what_it_did_not_copy() {
    let test = "rapid_shutdown_records_what_it_did_not_copy";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(dir) = samples::dir_or_skip(test) else {
        return;
    };
    let samples = Samples::read(&dir);
    let emulator = emulator(&["samples"], |c| c.max_events_per_fetch(Some(10)));
    samples.load_all(&emulator, SAMPLES_SOURCED);
    samples.load_all(&emulator, SAMPLES_EXTRACTED);
    let all_streams: BTreeSet<String> = [SAMPLES_SOURCED, SAMPLES_EXTRACTED]
        .iter()
        .flat_map(|f| samples.stream_keys(f, 0..100))
        .collect();
    emulator
        .add_fault(FaultRule {
            delay_ms: 400,
            ..fault("GET", "/api/v3/stream/*")
        })
        .unwrap();
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["samples"], &EXCLUDED),
    )
    .with("BK__EVENT_BATCH_SIZE", 20);
    let held = held_keys(&emulator, &env, &["samples"]);
    let buckets = Buckets::connect(&s3, &env).await;

    let backup = RunningBackup::start(&["backup"], &env);
    eventually(
        "every event bundled and some streams stored",
        WAIT,
        async || {
            let bundles = buckets.bundles().await;
            let stored = buckets.stream_keys().await.len();
            (bundled_keys(&bundles).len() == held.len() && stored >= 10).then_some(())
        },
    )
    .await;
    backup.signal("TERM");
    eventually("the first stop request to be taken", WAIT, async || {
        backup.stderr().contains("stop requested").then_some(())
    })
    .await;
    backup.signal("TERM");
    let finished = backup.finish(RUN_TIMEOUT).await;
    finished.assert_success();
    assert!(
        finished.stderr.contains("second stop request"),
        "{}",
        finished.transcript()
    );

    let stored = buckets.stream_keys().await;
    let recorded_lines = env.state_lines(FAILED_FILE);
    let recorded = streams_in(&recorded_lines);
    println!(
        "rapid shutdown: {} streams stored, {} recorded, {} in total",
        stored.len(),
        recorded.len(),
        all_streams.len()
    );
    assert_eq!(recorded.len(), recorded_lines.len(), "recorded once each");
    assert!(
        stored.is_disjoint(&recorded),
        "nothing both stored and recorded"
    );
    assert_eq!(stored.len() + recorded.len(), all_streams.len());
    assert_eq!(&stored | &recorded, all_streams);
    assert!(
        !recorded.is_empty(),
        "slow streams were still pending at the second signal"
    );
    assert_eq!(bundled_keys(&buckets.bundles().await), held);
    assert!(
        env.journal_outstanding().is_empty(),
        "every request handled"
    );

    emulator.clear_faults();
    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    assert_eq!(buckets.stream_keys().await, all_streams);
    assert!(env.state_lines(FAILED_FILE).is_empty());
    assert_eq!(
        bundled_keys(&buckets.bundles().await),
        held,
        "the restart re-reads nothing"
    );
    server.shutdown().await.ok();
}

/// Port of `TestPrepareSources`: sources assemblyline, testing (excluded) and tasking. The
/// backup consumes as `backup-events-<source>-<action>-<id>` (every binary action of each
/// included source, filtered on that source and action) and `backup-events-system-<model>-<id>`,
/// version 3.0.0 — and never as testing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_sources_get_no_consumer() {
    let test = "excluded_sources_get_no_consumer";
    let Some(s3) = s3_or_skip(test) else { return };
    let emulator = Emulator::new(
        EmulatorConfig::new(["assemblyline", "testing", "tasking"]).early_return(true),
    );
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["assemblyline", "tasking"], &["testing"]),
    );
    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    assert_consumers(&emulator, &env, &["assemblyline", "tasking"]);
    server.shutdown().await.ok();
}

/// Port of `TestReadAllConfig`: a full Azul sources file (bedrock's `sources1.yaml`, with
/// partition units, kafka, elastic and references) given in the dot style `BK.SOURCES`, with
/// `BK.DISPATCHER_EVENTS`; its excluded sources (testing, virustotal) get no consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sources_file_in_dot_style_settings_is_honoured() {
    let test = "a_full_sources_file_in_dot_style_settings_is_honoured";
    let Some(s3) = s3_or_skip(test) else { return };
    if samples::dir_or_skip(test).is_none() {
        return;
    }
    let sources_file = samples::reference_root().join("bedrock/testdata/sources/sources1.yaml");
    let yaml = std::fs::read_to_string(&sources_file)
        .unwrap_or_else(|e| panic!("{}: {e}", sources_file.display()));
    let included = ["incidents", "reporting", "samples", "tasking", "watch"];
    let emulator = Emulator::new(
        EmulatorConfig::new(included.iter().chain(&["testing", "virustotal"]).copied())
            .early_return(true),
    );
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(&s3, &server.base_url, state.path(), "")
        .without("BK__SOURCES")
        .without("BK__DISPATCHER_EVENTS")
        .with("BK.SOURCES", &yaml)
        .with("BK.DISPATCHER_EVENTS", &server.base_url);
    let finished = run(&["backup", "--until-idle"], &env).await;
    finished.assert_success();
    assert!(
        finished.stdout.contains(&server.base_url),
        "the settings table shows the dot-style dispatcher URL:\n{}",
        finished.stdout
    );
    assert_consumers(&emulator, &env, &included);
    server.shutdown().await.ok();
}

/// Port of the original's age-off (its §3.6) with B14 fixed: backup keeps a rule
/// `BackupExpiryFor-<source>` expiring `1 + expire_events_after` days on both buckets, for
/// excluded sources too; a source Azul keeps forever gets none (the original's one-day rule
/// for it is removed); rules that are not the service's stay. With age-off off, the cleanup
/// setting (given here on the command line) removes exactly the service's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ageoff_rules_follow_the_sources_and_cleanup_removes_them() {
    let test = "ageoff_rules_follow_the_sources_and_cleanup_removes_them";
    let Some(s3) = s3_or_skip(test) else { return };
    let emulator = emulator(&["samples", "forever", "testing"], |c| c.early_return(true));
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let yaml = "sources:\n  samples:\n    expire_events_after: 3 months\n  forever: {}\n  \
                testing:\n    exclude_from_backup: true\n    expire_events_after: 7 days\n";
    let env = BackupEnv::new(&s3, &server.base_url, state.path(), yaml)
        .with("BK__ENABLE_AUTOMATIC_AGEOFF", true);
    let buckets = Buckets::connect(&s3, &env).await;
    let rule = |id: &str, prefix: &str, days| ExpiryRule {
        id: id.into(),
        prefix: prefix.into(),
        days,
    };
    let operators = rule("operator-logs", "logs/", 3);
    for store in [&buckets.events, &buckets.streams] {
        let original_one_day = rule("BackupExpiryFor-forever", "forever/", 1);
        store
            .sync_expiry_rules(&[operators.clone(), original_one_day], &[])
            .await
            .unwrap();
    }

    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    for store in [&buckets.events, &buckets.streams] {
        assert_eq!(
            expiry_rules(store).await,
            vec![
                rule("BackupExpiryFor-samples", "samples/", 91),
                rule("BackupExpiryFor-testing", "testing/", 8),
                operators.clone(),
            ],
            "{}",
            store.describe()
        );
    }

    let cleanup = [
        "backup",
        "--until-idle",
        "--set",
        "enable_automatic_ageoff=false",
        "--set",
        "enable_automatic_ageoff_cleanup=true",
    ];
    run(&cleanup, &env).await.assert_success();
    for store in [&buckets.events, &buckets.streams] {
        assert_eq!(expiry_rules(store).await, vec![operators.clone()]);
    }
    server.shutdown().await.ok();
}

/// A bucket's lifecycle rules as (id, prefix, days), by id.
async fn expiry_rules(store: &S3Store) -> Vec<ExpiryRule> {
    let mut rules: Vec<ExpiryRule> = store
        .lifecycle_rules()
        .await
        .unwrap()
        .iter()
        .map(|r| ExpiryRule {
            id: r.id().unwrap_or_default().to_owned(),
            prefix: r
                .filter()
                .and_then(|f| f.prefix())
                .unwrap_or_default()
                .to_owned(),
            days: r.expiration().and_then(|e| e.days()).unwrap_or_default(),
        })
        .collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    rules
}

/// The consumer groups of `env`'s backup are exactly those of `included` and system.
fn assert_consumers(emulator: &Emulator, env: &BackupEnv, included: &[&str]) {
    let id = &env.backup_id;
    let mut expected: BTreeMap<String, String> = included
        .iter()
        .flat_map(|s| ACTIONS.map(|a| (consumer_name(s, a, id), format!("binary-{s}-{a}-"))))
        .collect();
    for model in ["insert", "delete"] {
        expected.insert(consumer_name("system", model, id), format!("{model}-"));
    }
    let seen: BTreeMap<String, String> = consumer_groups(emulator)
        .into_iter()
        .filter(|(name, _, _)| name.ends_with(&format!("-{id}")))
        .map(|(name, version, rest)| {
            assert_eq!(version, "3.0.0");
            (name, rest)
        })
        .collect();
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "one consumer per included source × action, plus system insert and delete"
    );
    for (name, filters) in &expected {
        assert!(
            seen[name].starts_with(filters.as_str()),
            "{name} reads {} (expected {filters}…)",
            seen[name]
        );
    }
}

/// An `azul-backup` environment with a reachable (empty) dispatcher and the local-directory
/// store: settings checks need no S3.
async fn offline_env(state: &std::path::Path) -> (BackupEnv, azul_dispatcher_emulator::Running) {
    let server = serve(&Emulator::new(
        EmulatorConfig::new(["testing"]).early_return(true),
    ))
    .await;
    let env = BackupEnv::offline(state)
        .with("BK__DISPATCHER_EVENTS", &server.base_url)
        .with("BK__SOURCES", sources_yaml(&["testing"], &[]))
        .with("BK__FETCH_DEADLINE_SECS", 1);
    (env, server)
}

/// The original's log settings: `BED__LOG_PRETTY=false` writes one JSON object per line
/// (every stderr line parses, with level, message and fields), `BED__LOG_LEVEL` sets the level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_the_original_bed_variables() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let json = run(
        &["backup", "--until-idle"],
        &env.clone()
            .with("BED__LOG_PRETTY", "false")
            .with("BED__LOG_LEVEL", "DEBUG"),
    )
    .await;
    json.assert_success();
    let lines: Vec<serde_json::Value> = json
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    let levels: BTreeSet<&str> = lines.iter().filter_map(|l| l["level"].as_str()).collect();
    assert!(
        levels.contains("DEBUG") && levels.contains("INFO"),
        "{levels:?}"
    );
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("component loaded in"))),
        "{}",
        json.stderr
    );
    let quiet = run(
        &["backup", "--until-idle"],
        &env.with("BED__LOG_LEVEL", "ERROR"),
    )
    .await;
    quiet.assert_success();
    assert!(
        !quiet.stderr.contains(" INFO ") && !quiet.stderr.contains(" WARN "),
        "{}",
        quiet.stderr
    );
    server.shutdown().await.ok();
}

/// Backup needs the dispatcher's URL: without it the process exits 2 (a settings error) before
/// it starts anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_dispatcher_url_exits_2() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let finished = run(
        &["backup", "--until-idle"],
        &env.without("BK__DISPATCHER_EVENTS"),
    )
    .await;
    assert_eq!(finished.status.code(), Some(2), "{}", finished.transcript());
    assert!(
        finished.stderr.contains("BK__DISPATCHER_EVENTS is not set"),
        "{}",
        finished.transcript()
    );
    assert!(
        !finished.stdout.contains("Backup stats:"),
        "nothing ran:\n{}",
        finished.transcript()
    );
    server.shutdown().await.ok();
}

/// Port of the settings checks: an unknown `BK__` key is a warning on stderr (with the
/// original's wording) and the run goes on; a misspelt key does not silently take effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_settings_warn_and_the_run_goes_on() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let env = env.with("BK__BACKUP_IDD", "2");
    let finished = run(&["backup", "--until-idle"], &env).await;
    finished.assert_success();
    assert!(
        finished
            .stderr
            .contains("WARNING unknown config option supplied (check spelling): BK.BACKUP_IDD"),
        "{}",
        finished.transcript()
    );
    assert!(
        finished
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["BK__BACKUP_ID", &env.backup_id]),
        "the misspelt key does not replace BK__BACKUP_ID:\n{}",
        finished.stdout
    );
    server.shutdown().await.ok();
}

/// A value that does not parse stops every command before it does anything, with exit
/// status 2 and a message naming the setting and the value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_setting_values_exit_2_with_a_clear_message() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let cases = [
        (
            "BK__RETRY_COUNT",
            "five",
            "setting retry_count = \"five\" is not a valid number",
        ),
        (
            "BK__EXTERNAL_BACKUP__SECURE",
            "maybe",
            "setting external_backup.secure = \"maybe\" is not a valid boolean",
        ),
        ("BK__SOURCES", "sources: [", "bad sources load"),
        (
            "BK__SOURCES",
            "sources:\n  testing:\n    expire_events_after: seven days\n",
            "source testing: expire_events_after \"seven days\" is not",
        ),
    ];
    for (key, value, message) in cases {
        for command in [
            &["backup", "--until-idle"][..],
            &["list-failed-backup-streams"],
        ] {
            let finished = run(command, &env.clone().with(key, value)).await;
            assert_eq!(
                finished.status.code(),
                Some(2),
                "{key}={value} {command:?}:\n{}",
                finished.transcript()
            );
            assert!(
                finished.stderr.contains(message),
                "{key}={value} {command:?}: expected {message:?}:\n{}",
                finished.transcript()
            );
        }
    }
    assert!(
        emulator_untouched(&server).await,
        "nothing was fetched with bad settings"
    );
    server.shutdown().await.ok();
}

/// `--set KEY=VALUE` overrides the environment, for every command; a malformed override is a
/// settings error (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_settings_override_the_environment() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let finished = run(
        &[
            "backup",
            "--until-idle",
            "--set",
            "backup_id=override-7",
            "-s",
            "BK__EVENT_BATCH_SIZE=33",
        ],
        &env,
    )
    .await;
    finished.assert_success();
    let shown = |key: &str, value: &str| {
        finished
            .stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == [key, value])
    };
    assert!(shown("BK__BACKUP_ID", "override-7"), "{}", finished.stdout);
    assert!(shown("BK__EVENT_BATCH_SIZE", "33"), "{}", finished.stdout);
    let groups = consumer_group_names(&server).await;
    assert!(
        groups
            .iter()
            .any(|g| g.contains("backup-events-testing-sourced-override-7")),
        "the consumers carry the overridden backup id: {groups:?}"
    );
    let bad = run(
        &["list-failed-backup-streams", "--set", "retry_count"],
        &env,
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{}", bad.transcript());
    assert!(bad.stderr.contains("KEY=VALUE"), "{}", bad.transcript());
    server.shutdown().await.ok();
}

/// The original's `AES_STATE=enabled` wrote objects in clear under `.aesc1` names; backup
/// refuses it (exit 2, nothing fetched) rather than promise encryption it would not do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_enabled_is_refused_before_anything_runs() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let env = env
        .with("BK__EXTERNAL_BACKUP__AES_STATE", "enabled")
        .with("BK__EXTERNAL_BACKUP__AES_KEY", "abcdefghijklmnopqrstuvwx");
    let finished = run(&["backup", "--until-idle"], &env).await;
    assert_eq!(finished.status.code(), Some(2), "{}", finished.transcript());
    assert!(
        finished.stderr.contains("AES_STATE=enabled is refused"),
        "{}",
        finished.transcript()
    );
    assert!(!finished.transcript().contains("abcdefghijklmnop"));
    assert!(emulator_untouched(&server).await, "nothing was fetched");
    server.shutdown().await.ok();
}

/// No consumer group exists: no fetch ever reached the dispatcher.
async fn emulator_untouched(server: &azul_dispatcher_emulator::Running) -> bool {
    consumer_group_names(server).await.is_empty()
}

/// The consumer groups the emulator behind `server` has seen, from its admin API.
async fn consumer_group_names(server: &azul_dispatcher_emulator::Running) -> Vec<String> {
    azul_backup::tls::install_default_provider();
    let body = reqwest::get(format!("{}/emulator/v1/stats", server.base_url))
        .await
        .expect("admin stats")
        .bytes()
        .await
        .expect("read admin stats");
    let stats: serde_json::Value = serde_json::from_slice(&body).expect("stats JSON");
    stats["consumer_groups"]
        .as_object()
        .expect("consumer_groups object")
        .keys()
        .cloned()
        .collect()
}

/// The sandbox: a component whose workers spin without calling the host, allocate past the
/// memory limit (abruptly, and gently with `try_reserve`), and reach for files, sockets and
/// environment variables, next to one well-behaved worker and one that traps once. The spinner
/// is stopped as hung after `BK__GUEST_BUSY_LIMIT_SECS`, the abrupt allocator traps, the
/// gentle one is refused memory, every file, socket and variable is out of reach, each failure
/// is reported with its worker's role, the well-behaved worker finishes, and the flaky one is
/// started again and finishes. The spinner and the allocator trap again past their restart
/// budget (`BK__WORKER_RESTART_BUDGET=1`), so the run stops cleanly: the component still
/// writes its report, and the exit status is 1 with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_component_is_contained_worker_by_worker() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let env = env
        .with("BK__GUEST_BUSY_LIMIT_SECS", 2)
        .with("BK__WORKER_RESTART_BUDGET", 1);
    let sandbox = common::component("guest_sandbox.wasm");
    let started = std::time::Instant::now();
    let finished = run(
        &[
            "backup",
            "--until-idle",
            "--component",
            &sandbox.display().to_string(),
        ],
        &env,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(finished.status.code(), Some(1), "{}", finished.transcript());
    assert!(
        finished.stderr.contains("stopped: worker") && finished.stderr.contains("restart budget 1"),
        "the reason is given:\n{}",
        finished.stderr
    );
    let report = std::fs::read_to_string(env.state_file("sandbox-report"))
        .unwrap_or_else(|e| panic!("no sandbox report ({e}):\n{}", finished.transcript()));
    let outcome = |role: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{role}: ")))
            .unwrap_or_else(|| panic!("no outcome for {role}:\n{report}"))
            .to_string()
    };
    assert!(!report.contains("sandbox escape"), "{report}");
    let spin = outcome("spin");
    assert!(
        spin.contains("worker spin trapped") && spin.contains("without calling the host"),
        "{spin}"
    );
    let hog = outcome("hog");
    assert!(hog.contains("worker hog trapped"), "{hog}");
    for role in ["hog-gently", "files", "sockets", "env", "flaky", "ok"] {
        assert_eq!(outcome(role), "Ok(())", "{role}:\n{report}");
    }
    for said in [
        "hog-gently: refused after",
        "files: every access refused",
        "sockets: every connection refused",
        "env: no variables",
        "flaky: first life traps",
        "starting it again (1 of 1)",
        "flaky: second life, finishing",
    ] {
        assert!(
            finished.stderr.contains(said),
            "{said}:\n{}",
            finished.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(env.state_file("ok-worker")).unwrap(),
        "finished"
    );
    let gentle = finished
        .stderr
        .lines()
        .find(|l| l.contains("hog-gently: refused after"))
        .unwrap_or_default()
        .to_string();
    println!("sandbox: contained in {elapsed:.1?}; {report}{gentle}");
    server.shutdown().await.ok();
}

/// A component built against another version of the WIT contract is refused when it is
/// loaded, with the import it lacks named, before anything is fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_wit_version_is_refused_at_load() {
    let state = tempfile::tempdir().unwrap();
    let (env, server) = offline_env(state.path()).await;
    let original = std::fs::read(common::component("guest_backup.wasm")).unwrap();
    // Same-length rewrite of every versioned name: `azul:backup/…@0.1.0` → `@0.9.0`.
    let mut other = original.clone();
    let (from, to) = (b"azul:backup/", b"@0.9.0");
    let mut rewritten = 0;
    let mut i = 0;
    while i + from.len() < other.len() {
        if other[i..].starts_with(from)
            && let Some(at) = other[i..].windows(6).position(|w| w == b"@0.1.0")
            && at < 64
        {
            other[i + at..i + at + 6].copy_from_slice(to);
            rewritten += 1;
        }
        i += 1;
    }
    assert!(rewritten > 0, "the component names its WIT package version");
    let path = state.path().join("other-version.wasm");
    std::fs::write(&path, other).unwrap();
    let finished = run(
        &[
            "backup",
            "--until-idle",
            "--component",
            &path.display().to_string(),
        ],
        &env,
    )
    .await;
    assert_eq!(finished.status.code(), Some(1), "{}", finished.transcript());
    assert!(
        finished.stderr.contains("@0.9.0"),
        "the error names the missing import:\n{}",
        finished.stderr
    );
    assert!(emulator_untouched(&server).await, "nothing was fetched");
    println!(
        "wrong WIT version ({rewritten} names rewritten): {}",
        finished
            .stderr
            .lines()
            .find(|l| l.contains("@0.9.0"))
            .unwrap_or_default()
    );
    server.shutdown().await.ok();
}
