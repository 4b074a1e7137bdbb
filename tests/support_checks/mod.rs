//! Helpers for the `verify` and `drill` integration tests: a real backup to check — a seeded
//! dispatcher emulator backed up by `azul-backup backup --until-idle` into fresh S3 buckets —
//! and ways to damage it afterwards.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use azul_backup::objectstore::{ObjectStore, PutBody, S3Store};
use azul_dispatcher_emulator::corpus::{CorpusSpec, CorpusSummary, seed};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig, Running};

use crate::common::store::{Buckets, gunzip, keys, read};
use crate::common::{BackupEnv, Finished, S3, emulator::serve, run, skip_or_fail, sources_yaml};

pub const SOURCES: [&str; 2] = ["samples", "testing"];

/// A finished backup and the dispatcher it was taken from.
pub struct Backup {
    pub env: BackupEnv,
    pub buckets: Buckets,
    pub source: Emulator,
    _server: Running,
    _state: tempfile::TempDir,
}

impl Backup {
    /// Back up whatever `source` holds.
    pub async fn of(s3: &S3, source: Emulator) -> Self {
        let server = serve(&source).await;
        let state = tempfile::tempdir().expect("temp dir");
        let env = BackupEnv::new(
            s3,
            &server.base_url,
            state.path(),
            &sources_yaml(&SOURCES, &[]),
        )
        .with("BK__EVENT_BATCH_SIZE", 20);
        run(&["backup", "--until-idle"], &env)
            .await
            .assert_success();
        let buckets = Buckets::connect(s3, &env).await;
        Backup {
            env,
            buckets,
            source,
            _server: server,
            _state: state,
        }
    }

    /// Back up a synthetic corpus (real stream contents under their true sha256).
    pub async fn seeded(s3: &S3, seed_value: u64) -> (Self, CorpusSummary) {
        let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
        let spec = CorpusSpec {
            sources: SOURCES.map(String::from).to_vec(),
            events_per_action: 6,
            insert_events: 5,
            delete_events: 2,
            seed: seed_value,
            max_stream_size: 8 * 1024,
        };
        let corpus = seed(&source, &spec).expect("seed the corpus");
        (Backup::of(s3, source).await, corpus)
    }

    pub async fn run(&self, args: &[&str]) -> Finished {
        run(args, &self.env).await
    }

    pub async fn stream_keys(&self) -> Vec<String> {
        keys(&self.buckets.streams, "").await
    }

    pub async fn bundle_keys(&self) -> Vec<String> {
        keys(&self.buckets.events, "").await
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

pub async fn put(store: &S3Store, key: &str, bytes: Vec<u8>) {
    store
        .put(key, PutBody::Bytes(bytes.into()))
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"));
}

/// Flip one bit of a stored object's decoded content, keeping it valid gzip; returns the
/// object as it was.
pub async fn flip_a_bit(store: &S3Store, key: &str) -> Vec<u8> {
    let stored = read(store, key).await;
    let mut content = gunzip(&stored);
    content[0] ^= 1;
    put(store, key, gzip(&content)).await;
    stored
}

/// The first number after `label` in `output` (`  bundles:   12 (57 events, …)` → 12).
pub fn number_after(output: &str, label: &str) -> u64 {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{output}"));
    line[line.find(label).unwrap() + label.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

/// The emulator binary the drill starts, next to `azul-backup`; `None` after a loud skip.
pub fn emulator_binary_or_skip(test: &str) -> Option<PathBuf> {
    let path =
        PathBuf::from(env!("CARGO_BIN_EXE_azul-backup")).with_file_name("azul-dispatcher-emulator");
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(
        test,
        &format!(
            "{} is missing (cargo build -p azul-dispatcher-emulator)",
            path.display()
        ),
    );
    None
}
