//! Round trip through every real part: a seeded dispatcher emulator → `azul-backup backup
//! --until-idle` (the real binary and the built backup component) into SeaweedFS → `azul-backup
//! restore` into a fresh emulator. The destination must hold the same events (kafka_key sets
//! per model — the dispatcher recomputes binary and insert keys deterministically; delete keys
//! are random, so deletes are compared by content without the key) and byte-identical streams.
//!
//! Needs the S3 server from `scripts/start-s3.sh` (S3_ENDPOINT, AWS_*) and the components from
//! `scripts/build-guests.sh`; without S3 it skips loudly, but fails when `CI` is set.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use azul_backup::avro::Model;
use azul_dispatcher_emulator::corpus::{CorpusSpec, seed};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::deletes_without_keys;
use common::{S3, component, s3_or_skip};

const SOURCES: [&str; 2] = ["samples", "testing"];

/// Environment of one `azul-backup` run, as an operator would set it.
fn env(
    s3: &S3,
    dispatcher: &str,
    state: &std::path::Path,
    backup_id: &str,
) -> BTreeMap<String, String> {
    let sources = format!(
        "sources:\n{}",
        SOURCES.map(|s| format!("  {s}: {{}}\n")).concat()
    );
    [
        ("BK__DISPATCHER_EVENTS", dispatcher),
        ("BK__DISPATCHER_STREAMS", dispatcher),
        ("BK__EXTERNAL_BACKUP__ENDPOINT", &s3.endpoint),
        ("BK__EXTERNAL_BACKUP__ACCESS_KEY", &s3.access_key),
        ("BK__EXTERNAL_BACKUP__SECRET_KEY", &s3.secret_key),
        ("BK__EXTERNAL_BACKUP__REGION", "us-east-1"),
        ("BK__BUCKET_NAME_PREFIX", "rt-"),
        ("BK__BACKUP_ID", backup_id),
        ("BK__LOCAL_DATA__ROOTDIR", &state.display().to_string()),
        ("BK__SOURCES", &sources),
        ("BK__EVENT_BATCH_SIZE", "20"),
        ("BK__FETCH_DEADLINE_SECS", "1"),
        ("BK__STREAM_ROUTINE_COUNT", "4"),
        ("BK__RETRY_AVERAGE_DELAY_MS", "50"),
        ("BK__CHECKPOINT_BINARY_COUNT", "50"),
        ("BK__METRICS_ADDR", "127.0.0.1:0"),
        ("BK__PROGRESS_INTERVAL_SECS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Runs the binary to success; returns how long it took, stdout and stderr.
async fn run_cli(args: &[&str], env: &BTreeMap<String, String>) -> (Duration, String, String) {
    let started = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_azul-backup"))
        .args(args)
        .envs(env)
        .env("AZUL_BACKUP_COMPONENT", component("guest_backup.wasm"))
        .env("AZUL_RESTORE_COMPONENT", component("guest_restore.wasm"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), child)
        .await
        .expect("azul-backup timed out")
        .expect("spawn azul-backup");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "azul-backup {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (started.elapsed(), stdout, stderr)
}

/// The run's closing progress line.
fn final_progress(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("progress of the run:"))
        .unwrap_or_else(|| panic!("no closing progress line:\n{stderr}"))
}

fn keys(emulator: &Emulator, model: Model) -> Vec<String> {
    let mut keys: Vec<String> = emulator
        .events(model)
        .into_iter()
        .map(|e| e.kafka_key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_reproduces_events_and_streams() {
    let Some(s3) = s3_or_skip("backup_then_restore_reproduces_events_and_streams") else {
        return;
    };
    let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 30,
        insert_events: 25,
        delete_events: 2,
        seed: 7,
        max_stream_size: 64 * 1024,
    };
    let corpus = seed(&source, &spec).expect("seed corpus");
    let source_server = source
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve source");
    let backup_id = format!(
        "{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros()
    );
    let state = tempfile::tempdir().unwrap();

    let backup_env = env(
        &s3,
        &source_server.base_url,
        &state.path().join("backup-host"),
        &backup_id,
    );
    let (backup_time, backup_out, backup_err) =
        run_cli(&["backup", "--until-idle"], &backup_env).await;

    let dest = Emulator::new(EmulatorConfig::new(SOURCES));
    let dest_server = dest
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .expect("serve destination");
    let restore_env = env(
        &s3,
        &dest_server.base_url,
        &state.path().join("restore-host"),
        &backup_id,
    );
    let (restore_time, restore_out, restore_err) = run_cli(&["restore"], &restore_env).await;

    let deletes = deletes_without_keys(&source);
    assert_eq!(deletes.len(), corpus.count(Model::Delete));
    assert_eq!(
        deletes_without_keys(&dest),
        deletes,
        "restored delete events differ"
    );
    let mut total_events = deletes.len();
    for model in [Model::Binary, Model::Insert] {
        let expected = keys(&source, model);
        assert_eq!(
            expected.len(),
            corpus.count(model),
            "{model}: the corpus holds what was seeded"
        );
        assert!(
            !expected.is_empty(),
            "{model}: the corpus must not be empty"
        );
        assert_eq!(
            keys(&dest, model),
            expected,
            "{model}: restored kafka_keys differ"
        );
        total_events += expected.len();
    }
    let mut stream_bytes = 0;
    for s in &corpus.streams {
        let original = source
            .stream(&s.source, &s.label, &s.sha256)
            .expect("seeded stream");
        let restored = dest.stream(&s.source, &s.label, &s.sha256);
        assert_eq!(
            restored.as_deref(),
            Some(&original[..]),
            "stream {}/{}/{} differs",
            s.source,
            s.label,
            s.sha256
        );
        stream_bytes += original.len();
    }
    assert_eq!(
        dest.stream_keys().len(),
        corpus.streams.len(),
        "no extra streams restored"
    );
    println!(
        "round trip: {total_events} events, {} streams ({stream_bytes} bytes); backup {:.2}s, restore {:.2}s",
        corpus.streams.len(),
        backup_time.as_secs_f64(),
        restore_time.as_secs_f64()
    );
    // The closing progress lines count what was copied; the restore's total, counted from the
    // bucket listings (events from bundle names, stream objects), is exactly what it posted.
    let backed = final_progress(&backup_err);
    assert!(
        backed.contains(&format!("{total_events} events (")),
        "{backed}"
    );
    let restored = final_progress(&restore_err);
    let all = total_events + corpus.streams.len();
    assert!(
        restored.contains(&format!("{all}/{all} events and streams (100.0%)")),
        "{restored}"
    );
    println!("{backed}\n{restored}");
    println!("{backup_out}\n{restore_out}");
    source_server.shutdown().await.ok();
    dest_server.shutdown().await.ok();
}
