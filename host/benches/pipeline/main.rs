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
//! 5. Start-up: component load compiled and cached, and the time from start to first fetch;
//!    5b: swapping the component of a running backup (SIGHUP), compiled and cached.
//! 6. Wasm cost: the backup policy compiled natively against the same host (an adapter from
//!    its `Host` trait to the host's capabilities) next to the component, on 2's workload,
//!    both in this process.

#[path = "../../../tests/common/mod.rs"]
mod common;
mod events;
mod memory;
mod native_policy;
mod start_up;
mod stream_copy;
mod wasm_cost;

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
        start_up::start_up(&s3, &mut rows).await;
        start_up::swap(&s3, &mut rows).await;
    }
    if selected("1") {
        stream_copy::stream_copy_and_restore(&s3, &mut rows).await;
    }
    if selected("2") {
        events::events_only_and_restore(&s3, &mut rows).await;
    }
    if selected("3") {
        memory::memory(&s3, &mut rows).await;
    }
    if selected("6") {
        wasm_cost::wasm_cost(&s3, &mut rows).await;
    }
    print(&rows);
    println!(
        "\n{} cores, scale {}, all benchmarks in {:.0?}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        scale(),
        started.elapsed()
    );
}
