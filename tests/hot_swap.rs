//! Hot swap under load: a backup runs against the dispatcher emulator while events keep
//! arriving; its component file is replaced by a second build of guest-backup that behaves
//! observably differently (its `swap-variant` feature: another version, and bundles flushed
//! at half the batch size), then by a file that is not a component (refused, the variant goes
//! on), then by the first build again. Afterwards every event the emulator handed out is in
//! exactly one bundle (graceful drains lose and duplicate nothing), every referenced stream is
//! stored, and both the version metric and the bundles show which build ran.
//!
//! Needs `scripts/start-s3.sh` and `scripts/build-guests.sh`; skips loudly without S3 and
//! fails under `CI`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use azul_dispatcher_emulator::corpus::{
    CorpusSpec, StreamSizes, SyntheticSpec, seed, seed_synthetic,
};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::{all_handed_out, held_events, serve, unbundled};
use common::store::{Buckets, key_counts, referenced_streams};
use common::{BackupEnv, RunningBackup, eventually, metric, s3_or_skip, scrape, sources_yaml};

const SOURCES: [&str; 2] = ["samples", "testing"];
const PER_FETCH: usize = 5;
const BATCH: usize = 10;
/// 5 actions per source, system insert and delete.
const CONSUMERS: usize = SOURCES.len() * 5 + 2;
const WAIT: Duration = Duration::from_secs(120);

/// Replace `target` the way a deployment should: write aside, then rename over it.
fn install(target: &std::path::Path, bytes: &[u8]) {
    let aside = target.with_extension("new");
    std::fs::write(&aside, bytes).unwrap();
    std::fs::rename(&aside, target).unwrap();
}

async fn backed_up(addr: &str) -> u64 {
    let text = scrape(addr).await;
    ["samples", "testing", "system"]
        .iter()
        .filter_map(|s| {
            metric(
                &text,
                "recovery_backup_stats",
                &[("source", s), ("stat", "events-ok")],
            )
        })
        .sum::<f64>() as u64
}

async fn swaps(addr: &str, result: &str) -> u64 {
    let text = scrape(addr).await;
    metric(
        &text,
        "azul_backup_component_swaps_total",
        &[("kind", "backup"), ("result", result)],
    )
    .unwrap_or(0.0) as u64
}

/// Waits until the backup has copied `more` events beyond what it had.
async fn progress(addr: &str, more: u64) {
    let from = backed_up(addr).await;
    eventually("backup progress", WAIT, async || {
        (backed_up(addr).await >= from + more).then_some(())
    })
    .await;
}

/// Replaces the component and waits for the swap; returns the events the emulator received
/// meanwhile and how long it took.
async fn swap_to(
    addr: &str,
    target: &std::path::Path,
    bytes: &[u8],
    done_before: u64,
    fed: &AtomicUsize,
) -> (usize, Duration) {
    let (fed_before, started) = (fed.load(Ordering::SeqCst), Instant::now());
    install(target, bytes);
    eventually("the swap", WAIT, async || {
        (swaps(addr, "done").await > done_before).then_some(())
    })
    .await;
    (fed.load(Ordering::SeqCst) - fed_before, started.elapsed())
}

/// The `{:?}` duration logged after `prefix` on the first line holding it.
fn logged_duration(stderr: &str, prefix: &str) -> String {
    stderr
        .lines()
        .filter_map(|l| l.split(prefix).nth(1))
        .map(|rest| {
            rest.split([' ', ')', ';'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .next()
        .unwrap_or_else(|| panic!("no {prefix:?} in the log"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_under_load_loses_and_duplicates_nothing() {
    let Some(s3) = s3_or_skip("hot_swap") else {
        return;
    };
    let emulator = Arc::new(Emulator::new(
        EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(PER_FETCH)),
    ));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 10,
        insert_events: 10,
        delete_events: 3,
        seed: 7,
        max_stream_size: 4096,
    };
    seed(&emulator, &spec).expect("seed the corpus");
    let server = serve(&emulator).await;

    // Load: more events every 100 ms until told to stop.
    let (feeding, fed) = (
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicUsize::new(0)),
    );
    let feeder = {
        let (emulator, feeding, fed) = (emulator.clone(), feeding.clone(), fed.clone());
        tokio::spawn(async move {
            let mut round = 1000;
            while feeding.load(Ordering::SeqCst) {
                let more = SyntheticSpec {
                    sources: SOURCES.map(String::from).to_vec(),
                    binary_events: 40,
                    insert_events: 2,
                    delete_events: 0,
                    seed: round,
                    sizes: StreamSizes::Uniform { min: 1, max: 2048 },
                };
                seed_synthetic(&emulator, &more).expect("feed events");
                fed.fetch_add(42, Ordering::SeqCst);
                round += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("guest_backup.wasm");
    let plain = std::fs::read(common::component("guest_backup.wasm")).unwrap();
    let variant = std::fs::read(common::component("guest_backup_swap_variant.wasm")).unwrap();
    assert_ne!(plain, variant, "two different builds");
    std::fs::write(&component, &plain).unwrap();
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", BATCH)
    // Its own component cache, so that the first loads compile (and show what that costs).
    .without("BK__WASM_CACHE_DIR")
    // Bundles are flushed only when full or when a component drains: smaller ones come
    // from drains (at most one per consumer each) or from the variant.
    .with("BK__FLUSH_INTERVAL_MS", 600_000)
    .with("BK__COMPONENT_WATCH_INTERVAL_MS", 100);
    let running = RunningBackup::start(
        &["backup", "--component", &component.display().to_string()],
        &env,
    );
    let addr = running.metrics_addr().await;
    progress(&addr, 100).await;

    let (during_first, first_took) = swap_to(&addr, &component, &variant, 0, &fed).await;
    progress(&addr, 400).await;
    let text = scrape(&addr).await;
    let variant_running = text.lines().any(|l| {
        l.starts_with("azul_backup_component_info")
            && l.contains("+swap-variant")
            && l.ends_with(" 1")
    });
    assert!(
        variant_running,
        "the variant is the running component:\n{text}"
    );

    install(&component, b"\0asm but not a component");
    eventually("the refusal", WAIT, async || {
        (swaps(&addr, "refused").await == 1).then_some(())
    })
    .await;
    progress(&addr, 100).await;

    let (during_second, second_took) = swap_to(&addr, &component, &plain, 1, &fed).await;
    progress(&addr, 100).await;

    feeding.store(false, Ordering::SeqCst);
    feeder.await.unwrap();
    let id = env.backup_id.clone();
    eventually("every event to be handed out", WAIT, async || {
        all_handed_out(&emulator, &id, &SOURCES).then_some(())
    })
    .await;
    let text = scrape(&addr).await;
    let stored = metric(&text, "azul_backup_bytes_total", &[("direction", "stored")]);
    assert!(stored > Some(0.0), "bytes stored: {stored:?}");
    let queued = metric(
        &text,
        "azul_backup_queue_depth",
        &[("queue", "stream-requests")],
    );
    assert!(queued.is_some(), "the stream queue's depth is exported");
    running.signal("TERM");
    let finished = running.finish(WAIT).await;
    finished.assert_success();
    let stderr = &finished.stderr;

    for said in [
        "guest-backup 0.1.0+swap-variant: starting",
        "component swap refused, the running component goes on",
    ] {
        assert!(stderr.contains(said), "{said:?} in the log:\n{stderr}");
    }
    assert_eq!(stderr.matches("component swapped").count(), 2, "{stderr}");
    assert_eq!(
        metric(
            &text,
            "azul_backup_component_swaps_total",
            &[("kind", "backup"), ("result", "done")]
        ),
        Some(2.0)
    );
    let plain_running = text.lines().any(|l| {
        l.starts_with("azul_backup_component_info")
            && !l.contains("+swap-variant")
            && l.ends_with(" 1")
    });
    assert!(plain_running, "the first build runs again:\n{text}");

    let buckets = Buckets::connect(&s3, &env).await;
    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&emulator, &id, &SOURCES);
    let lost = unbundled(&held, &counts);
    let duplicated: usize = counts.values().map(|n| n - 1).sum();
    assert!(lost.is_empty(), "{} events lost: {lost:?}", lost.len());
    assert_eq!(duplicated, 0, "events in more than one bundle");
    let unstored: Vec<String> = referenced_streams(&bundles)
        .difference(&buckets.stream_keys().await)
        .cloned()
        .collect();
    assert!(unstored.is_empty(), "streams not stored: {unstored:?}");
    // The first build writes partial bundles only when it drains (two swaps and the stop);
    // the variant flushes at 5 events, so it adds many more.
    let partial = bundles.iter().filter(|b| b.name.count < BATCH).count();
    let drains = CONSUMERS * 3;
    assert!(
        partial > drains,
        "{partial} partial bundles: no more than the {drains} drains could make"
    );
    println!(
        "hot swap: {} events handed out and backed up in {} bundles ({partial} partial), lost {}, \
         duplicated {duplicated}; swap 1 (to the variant): {during_first} events arrived during \
         it, done in {first_took:.1?}, drained in {}; swap 2 (back): {during_second} events, \
         done in {second_took:.1?}, drained in {}; component loads: first {}, variant {} \
         (both compiled), first again {} (cached)",
        held.len(),
        bundles.len(),
        lost.len(),
        logged_duration(stderr, "drained in "),
        stderr
            .split("drained in ")
            .nth(2)
            .and_then(|r| r.split(';').next())
            .unwrap_or("?"),
        logged_duration(stderr, "component loaded in "),
        logged_duration(stderr, "accepted (loaded in "),
        stderr
            .split("accepted (loaded in ")
            .nth(2)
            .and_then(|r| r.split(')').next())
            .unwrap_or("?"),
    );
    server.shutdown().await.ok();
}

/// `bytes` with a custom section appended: still the same component, but another build as
/// far as the watcher can tell (its sha256 differs).
fn rebuilt(bytes: &[u8], marker: &str) -> Vec<u8> {
    let name = b"azul-test-build";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(marker.as_bytes());
    assert!(payload.len() < 128, "a one-byte section size");
    let mut out = bytes.to_vec();
    out.push(0); // custom section
    out.push(payload.len() as u8);
    out.extend_from_slice(&payload);
    out
}

/// A restore swaps its component mid-run too: the running one drains (finishes the bundle
/// it is posting and saves its cursor), the next resumes from the cursors, and the
/// destination ends up with every event and stream of the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_swaps_mid_run_and_resumes_from_its_cursors() {
    let Some(s3) = s3_or_skip("hot_swap restore") else {
        return;
    };
    let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 12,
        insert_events: 6,
        delete_events: 2,
        seed: 5,
        max_stream_size: 2048,
    };
    seed(&source, &spec).unwrap();
    let source_server = serve(&source).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &source_server.base_url,
        &state.path().join("backup"),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 3);
    common::run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();

    // A slow destination, so that the restore is still posting when the swap comes.
    let dest = Emulator::new(EmulatorConfig::new(SOURCES));
    dest.add_fault(azul_dispatcher_emulator::faults::FaultRule {
        method: Some("POST".into()),
        path: "/api/v2/event".into(),
        delay_ms: 2000,
        ..Default::default()
    })
    .unwrap();
    let dest_server = serve(&dest).await;
    let restore_env = env
        .clone()
        .with("BK__DISPATCHER_EVENTS", &dest_server.base_url)
        .with("BK__DISPATCHER_STREAMS", &dest_server.base_url)
        .with(
            "BK__LOCAL_DATA__ROOTDIR",
            state.path().join("restore").display(),
        )
        .with("BK__COMPONENT_WATCH_INTERVAL_MS", 100);
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("guest_restore.wasm");
    let plain = std::fs::read(common::component("guest_restore.wasm")).unwrap();
    std::fs::write(&component, &plain).unwrap();
    let mut running = RunningBackup::start(
        &["restore", "--component", &component.display().to_string()],
        &restore_env,
    );
    let addr = running.metrics_addr().await;
    eventually("the first events restored", WAIT, async || {
        (dest.events(azul_backup::avro::Model::Binary).len()
            + dest.events(azul_backup::avro::Model::Insert).len()
            > 0)
        .then_some(())
    })
    .await;
    let started = Instant::now();
    install(&component, &rebuilt(&plain, "second"));
    let labels = [("kind", "restore"), ("result", "done")];
    loop {
        assert!(
            !running.has_exited() && started.elapsed() < WAIT,
            "the restore ended (or waited {WAIT:?}) before the swap:\n{}",
            running.stderr()
        );
        let text = scrape(&addr).await;
        if metric(&text, "azul_backup_component_swaps_total", &labels) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    // A finished restore waits for one more scrape once it has been scraped: give it one.
    let deadline = Instant::now() + WAIT;
    while !running.has_exited() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = reqwest::get(format!("http://{addr}/metrics")).await;
    }
    let finished = running.finish(WAIT).await;
    finished.assert_success();
    assert!(
        finished.stderr.contains("component swapped"),
        "{}",
        finished.stderr
    );

    let mut repeated = 0;
    for model in [
        azul_backup::avro::Model::Binary,
        azul_backup::avro::Model::Insert,
    ] {
        let want: BTreeSet<String> = source
            .events(model)
            .into_iter()
            .map(|e| e.kafka_key)
            .collect();
        let got: Vec<String> = dest
            .events(model)
            .into_iter()
            .map(|e| e.kafka_key)
            .collect();
        let distinct: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(distinct, want, "{model}: every event restored");
        repeated += got.len() - distinct.len();
    }
    assert_eq!(
        dest.events(azul_backup::avro::Model::Delete).len(),
        source.events(azul_backup::avro::Model::Delete).len()
    );
    assert_eq!(
        dest.stream_keys(),
        source.stream_keys(),
        "every stream restored"
    );
    println!(
        "restore hot swap: swap done {took:.1?} after it was installed, drained in {}; \
         {repeated} events posted again after it",
        logged_duration(&finished.stderr, "drained in "),
    );
    source_server.shutdown().await.ok();
    dest_server.shutdown().await.ok();
}
