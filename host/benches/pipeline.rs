//! The performance figures of the README, measured side by side in one run: the machines
//! here are shared and noisy, so every figure that has a target is a ratio of two runs made
//! one after the other under the same conditions, never an absolute time checked against a
//! constant. Run it with `scripts/bench.sh` (S3 server, components, then
//! `cargo bench -p azul-backup --bench pipeline`); `BENCH_SCALE=0.1` for a quick smoke run,
//! `BENCH_ONLY=1,3` for some of them.
//!
//! 1. Stream copy: a corpus of streams (many small, some 1–64 MiB, one of 256 MiB) backed up
//!    from the emulator into SeaweedFS by `azul-backup backup --until-idle`, next to a plain
//!    native copy written here (concurrent GET → gzip level 1 → PUT, same concurrency).
//! 2. Events only: 200 000 binary events (their few streams deduplicated) backed up; events/s
//!    and the host's time by stage.
//! 3. Memory: peak RSS of backup and of restore, one 1 MiB stream against one 1 GiB stream.
//! 4. Restore: the backups of 1 and 2 restored into fresh emulators, throughput against the
//!    backup's.
//! 5. Start-up: component load compiled and cached, and the time from start to first fetch.
//! 6. Wasm cost: the backup policy compiled natively against the same host (an adapter from
//!    its `Host` trait to the host's capabilities) next to the component, on 2's workload,
//!    both in this process.

#[path = "../../tests/common/mod.rs"]
mod common;
mod native_policy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use azul_backup::avro::Model;
use azul_backup::avro::synthetic::{SyntheticBinary, SyntheticStream, binary_event};
use azul_backup::objectstore::{MultipartConfig, ObjectStore, PutBody, S3Store};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig, Running};
use futures::StreamExt;

use common::emulator::serve;
use common::{BackupEnv, Finished, RunningBackup, S3, noise, s3_or_skip, sources_yaml};

const MIB: usize = 1 << 20;
/// Stream copies in flight, ours (`BK__STREAM_ROUTINE_COUNT`) and the baseline's.
const CONCURRENCY: usize = 4;
const SOURCE: &str = "bench";
const RUN_LIMIT: Duration = Duration::from_secs(1800);

/// One line of the table.
struct Row {
    name: &'static str,
    ours: String,
    reference: String,
    ratio: Option<f64>,
    target: &'static str,
    met: Option<bool>,
}

fn scale() -> f64 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

/// `BENCH_ONLY=1,2`: run only those benchmarks (by their number in the table).
fn selected(number: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|n| n.trim() == number))
}

fn scaled(n: usize) -> usize {
    ((n as f64 * scale()) as usize).max(1)
}

/// A valid binary event of `action` (Azul's rules: which labels each action needs)
/// referencing `streams` (`(label, sha256, size)`).
fn event(action: &str, n: usize, streams: &[(&str, &str, usize)]) -> Vec<u8> {
    let sha256 = streams
        .iter()
        .find(|(label, ..)| *label == "content")
        .map_or_else(|| format!("{n:064x}"), |(_, sha256, _)| sha256.to_string());
    binary_event(&SyntheticBinary {
        source: SOURCE.into(),
        action: action.into(),
        author: "bench".into(),
        kafka_key: format!("{n:032x}"),
        timestamp_micros: 1_735_689_600_000_000 + n as i64,
        sha256,
        streams: streams
            .iter()
            .map(|(label, sha256, size)| SyntheticStream {
                label: label.to_string(),
                sha256: sha256.to_string(),
                size: *size as u64,
            })
            .collect(),
    })
    .expect("encode a bench event")
}

/// An emulator holding `streams` (one `sourced` event each) and `events` more events that
/// all reference one small stream.
async fn emulator_with(streams: &[usize], events: usize) -> (Arc<Emulator>, Running, u64) {
    let emulator = Arc::new(Emulator::new(
        EmulatorConfig::new([SOURCE]).early_return(true),
    ));
    let mut raws = Vec::new();
    let mut bytes = 0;
    for (i, size) in streams.iter().enumerate() {
        let sha256 = emulator.put_stream(SOURCE, "content", noise(*size, i as u64));
        raws.push(event("sourced", i, &[("content", &sha256, *size)]));
        bytes += *size as u64;
    }
    if events > 0 {
        // Every event references one of three small streams: copied once, then deduplicated.
        let shared = |label: &str, seed| emulator.put_stream(SOURCE, label, noise(1024, seed));
        let (content, png, report) = (
            shared("content", u64::MAX),
            shared("safe_png", u64::MAX - 1),
            shared("report", u64::MAX - 2),
        );
        let content = ("content", content.as_str(), 1024);
        let png = ("safe_png", png.as_str(), 1024);
        let report = ("report", report.as_str(), 1024);
        for i in 0..events {
            let n = streams.len() + i;
            raws.push(match i % 5 {
                0 => event("sourced", n, &[content]),
                1 => event("extracted", n, &[content]),
                2 => event("augmented", n, &[content, png]),
                3 => event("mapped", n, &[report]),
                _ => event("enriched", n, &[]),
            });
        }
    }
    for chunk in raws.chunks(10_000) {
        emulator
            .publish(Model::Binary, chunk.to_vec())
            .expect("publish bench events");
    }
    let server = serve(&emulator).await;
    (emulator, server, bytes)
}

/// The runs' settings; `BENCH_SET="K=V K=V"` adds or replaces some (to try a change).
fn env(s3: &S3, url: &str, state: &std::path::Path) -> BackupEnv {
    let mut env = BackupEnv::new(s3, url, state, &sources_yaml(&[SOURCE], &[]))
        .with("BK__STREAM_ROUTINE_COUNT", CONCURRENCY);
    for pair in std::env::var("BENCH_SET")
        .unwrap_or_default()
        .split_whitespace()
    {
        if let Some((key, value)) = pair.split_once('=') {
            env = env.with(key, value);
        }
    }
    env
}

/// Runs `azul-backup args` to success; returns the wall time and the run.
async fn timed(args: &[&str], env: &BackupEnv) -> (Duration, Finished) {
    let started = Instant::now();
    let finished = RunningBackup::start(args, env).finish(RUN_LIMIT).await;
    let took = started.elapsed();
    finished.assert_success();
    (took, finished)
}

/// The host's time-by-stage line of a run.
fn stages(finished: &Finished) -> String {
    finished
        .stderr
        .lines()
        .find_map(|l| l.split("time by stage (summed over workers): ").nth(1))
        .unwrap_or("?")
        .to_string()
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MIB as f64 / took.as_secs_f64()
}

/// The native baseline: every stream downloaded, gzipped at level 1 and uploaded, with the
/// same number in flight, and nothing else (no journal, no hashing, no wasm).
async fn baseline_copy(s3: &S3, url: &str, emulator: &Emulator) -> Duration {
    let bucket = format!("bench-baseline-{}", common::unique_id());
    let no_multipart = MultipartConfig {
        threshold: u64::MAX,
        ..MultipartConfig::default()
    };
    let store = S3Store::connect(&s3.config(), &bucket, true)
        .await
        .expect("baseline bucket")
        .with_multipart(no_multipart);
    let http = reqwest::Client::new();
    let keys: Vec<(String, String, String)> = emulator.stream_keys().into_iter().collect();
    let started = Instant::now();
    let copies = futures::stream::iter(keys)
        .map(|(source, label, sha256)| {
            let (http, store) = (http.clone(), &store);
            async move {
                let body = http
                    .get(format!("{url}/api/v3/stream/{source}/{label}/{sha256}"))
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .expect("baseline GET")
                    .bytes()
                    .await
                    .expect("baseline body");
                let gz = tokio::task::spawn_blocking(move || {
                    use std::io::Write;
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len()),
                        flate2::Compression::fast(),
                    );
                    enc.write_all(&body).expect("gzip");
                    enc.finish().expect("gzip")
                })
                .await
                .expect("gzip task");
                let key = format!("{source}/{label}/{sha256}");
                store
                    .put(&key, PutBody::Bytes(gz.into()))
                    .await
                    .expect("baseline PUT");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>();
    copies.await;
    started.elapsed()
}

/// A fresh emulator to restore into, and the environment of that restore.
async fn restore_target(
    backup: &BackupEnv,
    state: &std::path::Path,
) -> (Emulator, Running, BackupEnv) {
    let dest = Emulator::new(EmulatorConfig::new([SOURCE]));
    let server = serve(&dest).await;
    let env = backup
        .clone()
        .with("BK__DISPATCHER_EVENTS", &server.base_url)
        .with("BK__DISPATCHER_STREAMS", &server.base_url)
        .with("BK__LOCAL_DATA__ROOTDIR", state.display())
        .with("BK__METRICS_ADDR", "");
    (dest, server, env)
}

fn ratio_row(
    name: &'static str,
    ours: String,
    reference: String,
    ratio: f64,
    target: &'static str,
    met: bool,
) -> Row {
    Row {
        name,
        ours,
        reference,
        ratio: Some(ratio),
        target,
        met: Some(met),
    }
}

async fn stream_copy_and_restore(s3: &S3, rows: &mut Vec<Row>) {
    let mut sizes: Vec<usize> = (0..scaled(400))
        .map(|i| 1024 + (i * 7919) % (63 * 1024))
        .collect();
    sizes.extend([1, 2, 4, 8, 16, 24, 32, 64].map(|m| scaled(m * MIB).max(MIB)));
    sizes.push(scaled(256 * MIB).max(8 * MIB));
    let (emulator, server, bytes) = emulator_with(&sizes, 0).await;
    let state = tempfile::tempdir().unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"));
    // Native, ours, ours, native (ABBA): whatever the server still does after a run (it
    // flushes and compacts what it was sent) weighs on both sides alike. Each side's figure
    // is its faster run (noise on a shared machine only ever adds time); ours backs up into
    // fresh buckets each time.
    let first_native = baseline_copy(s3, &server.base_url, &emulator).await;
    let (first_ours, _) = timed(&["backup", "--until-idle"], &env).await;
    let again = self::env(s3, &server.base_url, &state.path().join("again"));
    let (second_ours, run) = timed(&["backup", "--until-idle"], &again).await;
    let second_native = baseline_copy(s3, &server.base_url, &emulator).await;
    let baseline = first_native.min(second_native);
    let ours = first_ours.min(second_ours);
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64();
    rows.push(ratio_row(
        "1. stream copy (wall time)",
        format!(
            "{:.1}s, {:.0} MiB/s",
            ours.as_secs_f64(),
            mib_per_s(bytes, ours)
        ),
        format!(
            "native {:.1}s, {:.0} MiB/s",
            baseline.as_secs_f64(),
            mib_per_s(bytes, baseline)
        ),
        ratio,
        "<= 1.25x native",
        ratio <= 1.25,
    ));
    println!(
        "stream copy: {} streams, {:.0} MiB; ours {first_ours:.1?} and {second_ours:.1?} \
         (stages of the second: {}), native {first_native:.1?} and {second_native:.1?}",
        sizes.len(),
        bytes as f64 / MIB as f64,
        stages(&run)
    );
    let (_dest, dest_server, restore_env) =
        restore_target(&env, &state.path().join("restore")).await;
    let (restored, _) = timed(&["restore"], &restore_env).await;
    let ratio = ours.as_secs_f64() / restored.as_secs_f64();
    rows.push(ratio_row(
        "4a. restore of 1 (throughput)",
        format!(
            "{:.1}s, {:.0} MiB/s",
            restored.as_secs_f64(),
            mib_per_s(bytes, restored)
        ),
        format!("backup {:.1}s", ours.as_secs_f64()),
        ratio,
        ">= 0.8x backup",
        ratio >= 0.8,
    ));
    dest_server.shutdown().await.ok();
    server.shutdown().await.ok();
}

async fn events_only_and_restore(s3: &S3, rows: &mut Vec<Row>) {
    let count = scaled(200_000);
    let (_emulator, server, _) = emulator_with(&[], count).await;
    let state = tempfile::tempdir().unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"));
    let (took, run) = timed(&["backup", "--until-idle"], &env).await;
    let rate = count as f64 / took.as_secs_f64();
    rows.push(Row {
        name: "2. events only (events/s)",
        ours: format!("{rate:.0}/s ({count} in {:.1}s)", took.as_secs_f64()),
        reference: format!("stages: {}", stages(&run)),
        ratio: None,
        target: ">= 50000/s",
        met: Some(rate >= 50_000.0),
    });
    let (dest, dest_server, restore_env) =
        restore_target(&env, &state.path().join("restore")).await;
    let (restored, restore_run) = timed(&["restore"], &restore_env).await;
    assert_eq!(
        dest.events(Model::Binary).len(),
        count,
        "every event restored"
    );
    let ratio = took.as_secs_f64() / restored.as_secs_f64();
    rows.push(ratio_row(
        "4b. restore of 2 (throughput)",
        format!("{:.0}/s", count as f64 / restored.as_secs_f64()),
        format!("backup {rate:.0}/s; stages: {}", stages(&restore_run)),
        ratio,
        ">= 0.8x backup",
        ratio >= 0.8,
    ));
    let limit = ingest_limit(dest.raw_events(Model::Binary)).await;
    rows.push(Row {
        name: "4c. restore of 2 vs the emulator's ingest",
        ours: format!("{:.0}/s", count as f64 / restored.as_secs_f64()),
        reference: format!("direct POSTs {:.0}/s", count as f64 / limit.as_secs_f64()),
        ratio: Some(limit.as_secs_f64() / restored.as_secs_f64()),
        target: "(how near the limit)",
        met: None,
    });
    dest_server.shutdown().await.ok();
    server.shutdown().await.ok();
}

/// How fast a fresh emulator takes `raws` when they are simply POSTed as the restore posts
/// them (bulks of 1000, `sync`, five sequences in parallel) by a plain client: the most any
/// restore into it can reach.
async fn ingest_limit(raws: Vec<Vec<u8>>) -> Duration {
    let dest = Emulator::new(EmulatorConfig::new([SOURCE]));
    let server = serve(&dest).await;
    let http = reqwest::Client::new();
    let lanes: Vec<Vec<Vec<u8>>> = (0..5)
        .map(|lane| raws.iter().skip(lane).step_by(5).cloned().collect())
        .collect();
    let started = Instant::now();
    let posts = lanes.into_iter().map(|lane| {
        let (http, url) = (http.clone(), format!("{}/api/v2/event", server.base_url));
        async move {
            for chunk in lane.chunks(1000) {
                let bulk = azul_backup::avro::encode_bulk_from_raw(chunk.iter().map(Vec::as_slice));
                http.post(&url)
                    .query(&[
                        ("avro-format", "true"),
                        ("include_ok", "false"),
                        ("model", "binary"),
                        ("pause_plugins", "true"),
                        ("sync", "true"),
                    ])
                    .header("content-type", "application/avro")
                    .body(bulk)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .expect("direct POST");
            }
        }
    });
    futures::future::join_all(posts).await;
    let took = started.elapsed();
    assert_eq!(
        dest.events(Model::Binary).len(),
        raws.len(),
        "every event taken"
    );
    server.shutdown().await.ok();
    took
}

/// Peak RSS (VmHWM, KiB) of a run, sampled until it exits.
async fn peak_rss(args: &[&str], env: &BackupEnv) -> u64 {
    let mut running = RunningBackup::start(args, env);
    let mut peak = 0;
    while !running.has_exited() {
        peak = peak.max(running.peak_rss_kib().unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.finish(RUN_LIMIT).await.assert_success();
    peak
}

async fn memory(s3: &S3, rows: &mut Vec<Row>) {
    // One compiled-component cache for every run, warmed by a first 1 MiB round that is not
    // counted: compiling a component takes more memory than any copy, once per machine, and
    // would otherwise weigh on whichever run compiled.
    let cache = tempfile::tempdir().unwrap();
    let mut peaks = Vec::new();
    for size in [MIB, MIB, scaled(1 << 30).max(16 * MIB)] {
        let (_emulator, server, _) = emulator_with(&[size], 0).await;
        let state = tempfile::tempdir().unwrap();
        let env = env(s3, &server.base_url, &state.path().join("backup"))
            .with("BK__WASM_CACHE_DIR", cache.path().display());
        let backup = peak_rss(&["backup", "--until-idle"], &env).await;
        let (_dest, dest_server, restore_env) =
            restore_target(&env, &state.path().join("restore")).await;
        let restore = peak_rss(&["restore"], &restore_env).await;
        peaks.push((size, backup, restore));
        dest_server.shutdown().await.ok();
        server.shutdown().await.ok();
    }
    let (small, large) = (peaks[1], peaks[2]);
    for (name, pick) in [
        ("3a. peak RSS, backup", (small.1, large.1)),
        ("3b. peak RSS, restore", (small.2, large.2)),
    ] {
        let ratio = pick.1 as f64 / pick.0 as f64;
        rows.push(ratio_row(
            name,
            format!(
                "{:.1} MiB for {} MiB",
                pick.1 as f64 / 1024.0,
                large.0 / MIB
            ),
            format!("{:.1} MiB for 1 MiB", pick.0 as f64 / 1024.0),
            ratio,
            "<= 1.2x",
            ratio <= 1.2,
        ));
    }
}

/// The `{:?}` duration logged after `prefix`.
fn logged(stderr: &str, prefix: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split(prefix).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_string()
}

async fn start_up(s3: &S3, rows: &mut Vec<Row>) {
    let state = tempfile::tempdir().unwrap();
    let cache = state.path().join("wasm-cache");
    let mut runs = Vec::new();
    for _ in 0..2 {
        // A fresh emulator each time: its first consumer group appears with the first fetch.
        let (emulator, server, _) = emulator_with(&[1024], 0).await;
        let env = env(s3, &server.base_url, &state.path().join("backup"))
            .with("BK__WASM_CACHE_DIR", cache.display());
        let started = Instant::now();
        let running = RunningBackup::start(&["backup", "--until-idle"], &env);
        while emulator.stats().consumer_groups.is_empty() && started.elapsed() < RUN_LIMIT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let first_fetch = started.elapsed();
        let finished = running.finish(RUN_LIMIT).await;
        finished.assert_success();
        runs.push((
            logged(&finished.stderr, "component loaded in "),
            first_fetch,
        ));
        server.shutdown().await.ok();
    }
    rows.push(Row {
        name: "5. start-up",
        ours: format!(
            "component load: compiled {}, cached {}",
            runs[0].0, runs[1].0
        ),
        reference: format!(
            "start to first fetch: {:.0?} compiling, {:.0?} cached",
            runs[0].1, runs[1].1
        ),
        ratio: None,
        target: "(figures)",
        met: None,
    });
}

/// How long a running backup takes to change its component: from SIGHUP (the file already
/// replaced) to the "component swapped" line, and the old component's drain within that.
/// First to another build (compiled while the old one runs), then back (from the cache).
async fn swap(s3: &S3, rows: &mut Vec<Row>) {
    let (emulator, server, _) = emulator_with(&[1024], scaled(20_000)).await;
    let state = tempfile::tempdir().unwrap();
    let component = state.path().join("guest_backup.wasm");
    let plain = std::fs::read(common::component("guest_backup.wasm")).unwrap();
    let variant = std::fs::read(common::component("guest_backup_swap_variant.wasm")).unwrap();
    std::fs::write(&component, &plain).unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"))
        .with("BK__COMPONENT_WATCH_INTERVAL_MS", 0)
        .with(
            "BK__WASM_CACHE_DIR",
            state.path().join("wasm-cache").display(),
        );
    let running = RunningBackup::start(
        &["backup", "--component", &component.display().to_string()],
        &env,
    );
    let started = Instant::now();
    while emulator.stats().consumer_groups.is_empty() && started.elapsed() < RUN_LIMIT {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut took = Vec::new();
    for (n, bytes) in [&variant, &plain].into_iter().enumerate() {
        std::fs::write(&component, bytes).unwrap();
        let asked = Instant::now();
        running.signal("HUP");
        while running.stderr().matches("component swapped").count() <= n {
            assert!(
                asked.elapsed() < RUN_LIMIT,
                "no swap:\n{}",
                running.stderr()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        took.push(asked.elapsed());
    }
    running.signal("TERM");
    let finished = running.finish(RUN_LIMIT).await;
    finished.assert_success();
    let drained: Vec<String> = finished
        .stderr
        .split("the old one drained in ")
        .skip(1)
        .filter_map(|rest| rest.split(';').next())
        .map(str::to_string)
        .collect();
    rows.push(Row {
        name: "5b. swap (SIGHUP to new component running)",
        ours: format!(
            "to another build {:.0?} (compiling it), back {:.0?} (cached)",
            took[0], took[1]
        ),
        reference: format!("old component drained in {}", drained.join(" and ")),
        ratio: None,
        target: "(figures)",
        met: None,
    });
    server.shutdown().await.ok();
}

/// One in-process backup of `env`'s settings until idle: the component, or the same policy
/// compiled natively. Returns the wall time and the events it backed up.
async fn in_process(env: &BackupEnv, native: bool) -> (Duration, u64) {
    use azul_backup::run::Shutdown;
    use azul_backup::runtime::Kind;
    let vars: std::collections::HashMap<String, String> = env.vars().clone().into_iter().collect();
    let (settings, _) = azul_backup::settings::Settings::from_map(&vars).expect("settings");
    let component = common::component("guest_backup.wasm");
    let shutdown = Arc::new(Shutdown::default());
    let started = Instant::now();
    let run = if native {
        let metrics = Arc::new(azul_backup::metrics::RunMetrics::new().expect("metrics"));
        let (run, _runtime) =
            azul_backup::app::prepare(&settings, Kind::Backup, &component, shutdown, &metrics)
                .await
                .expect("prepare the run");
        let config =
            native_policy::guest_config(&azul_backup::app::backup_config(&settings, true, None));
        let (policy_run, rt) = (run.clone(), tokio::runtime::Handle::current());
        tokio::task::spawn_blocking(move || {
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let host = native_policy::NativeHost::new(policy_run, rt, flag);
            guest_backup::policy::run(&host, &config)
        })
        .await
        .expect("native policy thread")
        .expect("native policy run");
        run
    } else {
        let (run, result) =
            azul_backup::app::backup(&settings, &component, true, None, shutdown).await;
        result.expect("component run");
        run.expect("a run")
    };
    (started.elapsed(), run.stats.total("events-ok"))
}

async fn wasm_cost(s3: &S3, rows: &mut Vec<Row>) {
    let count = scaled(100_000);
    let (_emulator, server, _) = emulator_with(&[], count).await;
    let state = tempfile::tempdir().unwrap();
    // (Native, wasm, wasm, native) three times; every run its own backup id, so each reads
    // everything. Each side's figure is its fastest run: on a shared machine the noise only
    // ever adds time.
    // Both sides load the component (the native side only to set up the same run); one warm
    // compiled-component cache keeps compiling it out of every timed run.
    let cache = tempfile::tempdir().unwrap();
    azul_backup::runtime::Runtime::new(Some(cache.path()))
        .expect("runtime")
        .load(
            azul_backup::runtime::Kind::Backup,
            &common::component("guest_backup.wasm"),
        )
        .await
        .expect("compile the component once");
    let (mut times, mut short) = ([Duration::MAX; 2], Vec::new());
    for (i, native) in [true, false, false, true].repeat(3).into_iter().enumerate() {
        let env = env(s3, &server.base_url, &state.path().join(i.to_string()))
            .with("BK__METRICS_ADDR", "")
            .with("BK__WASM_CACHE_DIR", cache.path().display());
        let (took, events) = in_process(&env, native).await;
        let what = if native { "native" } else { "component" };
        println!("wasm cost: {what} run {took:.2?}, {events} events");
        // A run that backed up less did less work: it is left out, and the row says so (the
        // run's own warnings above say why).
        if events != count as u64 {
            short.push(format!("{what} run {i}: {events} of {count} events"));
            continue;
        }
        let side = &mut times[usize::from(!native)];
        *side = (*side).min(took);
    }
    let [native, wasm] = times;
    let ratio = wasm.as_secs_f64() / native.as_secs_f64();
    let left_out = match short.is_empty() {
        true => String::new(),
        false => format!("; left out: {}", short.join(", ")),
    };
    rows.push(ratio_row(
        "6. wasm cost (events only)",
        format!("component {:.2}s (fastest run)", wasm.as_secs_f64()),
        format!(
            "same policy native {:.2}s (fastest run){left_out}",
            native.as_secs_f64()
        ),
        ratio,
        "<= 1.05x native",
        times.iter().all(|t| *t < Duration::MAX) && ratio <= 1.05,
    ));
    server.shutdown().await.ok();
}

fn print(rows: &[Row]) {
    println!("\n| Benchmark | Ours | Reference | Ratio | Target | Met |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        let ratio = r.ratio.map_or("".into(), |x| format!("{x:.2}"));
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        println!(
            "| {} | {} | {} | {ratio} | {} | {met} |",
            r.name, r.ours, r.reference, r.target
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(s3) = s3_or_skip("benchmarks") else {
        return;
    };
    azul_backup::tls::install_default_provider();
    // The in-process runs (benchmark 6) log their warnings and errors here.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();
    let started = Instant::now();
    let mut rows = Vec::new();
    if selected("5") {
        start_up(&s3, &mut rows).await;
        swap(&s3, &mut rows).await;
    }
    if selected("1") {
        stream_copy_and_restore(&s3, &mut rows).await;
    }
    if selected("2") {
        events_only_and_restore(&s3, &mut rows).await;
    }
    if selected("3") {
        memory(&s3, &mut rows).await;
    }
    if selected("6") {
        wasm_cost(&s3, &mut rows).await;
    }
    print(&rows);
    println!(
        "\n{} cores, scale {}, all benchmarks in {:.0?}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        scale(),
        started.elapsed()
    );
}
