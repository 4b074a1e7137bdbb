//! `azul-backup demo`: the whole job on embedded defaults. A seeded dispatcher emulator is
//! backed up into a local-directory store, then restored into a second, empty emulator, and
//! the restored streams are checked against the dispatcher's API.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::app::{self, BACKUP_COLUMNS, RESTORE_COLUMNS};
use crate::avro::StreamRef;
use crate::dispatcher::DispatcherClient;
use crate::objectstore::{LocalStore, ObjectStore};
use crate::run::Shutdown;
use crate::runtime::Kind;
use crate::settings::{Settings, SourceConfig};

const SOURCES: [&str; 2] = ["samples", "testing"];

pub struct DemoOptions {
    /// Where the demo keeps its state and store (recreated on every run).
    pub dir: PathBuf,
    pub events_per_action: usize,
    pub backup_component: PathBuf,
    pub restore_component: PathBuf,
}

/// The emulator binary: next to this executable, or from `AZUL_DISPATCHER_EMULATOR`.
pub(crate) fn emulator_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("AZUL_DISPATCHER_EMULATOR") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("azul-dispatcher-emulator");
    if !path.exists() {
        bail!(
            "{} not found: build it with `cargo build -p azul-dispatcher-emulator`",
            path.display()
        );
    }
    Ok(path)
}

/// Start an emulator and read its URL from its first line of output.
async fn start_emulator(seed_events: Option<usize>) -> Result<(Child, String)> {
    let mut cmd = Command::new(emulator_binary()?);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--sources",
        &SOURCES.join(","),
        "--early-return",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true);
    if let Some(n) = seed_events {
        cmd.args(["--events-per-action", &n.to_string()]);
    }
    let mut child = cmd.spawn().context("starting the dispatcher emulator")?;
    let stdout = child.stdout.take().context("emulator stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(url) = line.strip_prefix("AZUL_DISPATCHER_URL=") {
            return Ok((child, url.to_string()));
        }
    }
    bail!("the dispatcher emulator exited before serving")
}

fn settings(dir: &Path, dispatcher: &str) -> Settings {
    Settings {
        dispatcher_events: dispatcher.to_string(),
        dispatcher_streams: dispatcher.to_string(),
        local_data_rootdir: dir.to_path_buf(),
        local_store_dir: Some(dir.join("store")),
        sources: SOURCES
            .iter()
            .map(|s| (s.to_string(), SourceConfig::default()))
            .collect(),
        event_batch_size: 50,
        fetch_deadline_secs: 1,
        stream_routine_count: 8,
        retry_average_delay_ms: 100,
        // The demo needs no scraper and must not depend on port 8900 being free.
        metrics_addr: None,
        ..Settings::default()
    }
}

/// Check every stored stream on the destination dispatcher: present, same sha256.
async fn verify_streams(
    store: &LocalStore,
    dispatcher: &DispatcherClient,
) -> Result<(usize, usize)> {
    let (mut checked, mut good) = (0, 0);
    let mut after: Option<String> = None;
    loop {
        let page = store.list("", after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.key.clone());
        for object in page {
            let parts: Vec<&str> = object.key.split('/').collect();
            let [source, label, sha256] = parts[..] else {
                continue;
            };
            let s = StreamRef {
                source: source.into(),
                label: label.into(),
                sha256: sha256.into(),
            };
            checked += 1;
            let body = dispatcher.open_stream(&s).await?.bytes().await?;
            if hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body)) == s.sha256 {
                good += 1;
            }
        }
    }
    Ok((checked, good))
}

pub async fn run(options: &DemoOptions) -> Result<bool> {
    if options.dir.exists() {
        std::fs::remove_dir_all(&options.dir)
            .with_context(|| format!("clearing {}", options.dir.display()))?;
    }
    let (_source, source_url) = start_emulator(Some(options.events_per_action)).await?;
    println!("1. dispatcher emulator with a synthetic corpus at {source_url}");
    let backup_settings = settings(&options.dir.join("backup-site"), &source_url);
    let (run, result) = app::backup(
        &backup_settings,
        &options.backup_component,
        true,
        None,
        Arc::new(Shutdown::default()),
    )
    .await;
    result.context("backup")?;
    let backup = run.context("backup run")?;
    println!(
        "2. backup (until idle) in {:.2}s:\n{}",
        backup.started.elapsed().as_secs_f64(),
        backup.stats.table(BACKUP_COLUMNS)
    );

    let (_dest, dest_url) = start_emulator(None).await?;
    let mut restore_settings = settings(&options.dir.join("restore-site"), &dest_url);
    restore_settings.local_store_dir = backup_settings.local_store_dir.clone();
    let (run, result) = app::restore(
        &restore_settings,
        &options.restore_component,
        Arc::new(Shutdown::default()),
    )
    .await;
    result.context("restore")?;
    let restore = run.context("restore run")?;
    println!(
        "3. restore into an empty emulator at {dest_url} in {:.2}s:\n{}",
        restore.started.elapsed().as_secs_f64(),
        restore.stats.table(RESTORE_COLUMNS)
    );

    let store_dir = backup_settings.local_store_dir.clone().unwrap_or_default();
    let streams = LocalStore::new(&store_dir, &backup_settings.streams_bucket())?;
    let dest = DispatcherClient::new(&dest_url, &dest_url, std::time::Duration::from_secs(60))?;
    let (checked, good) = verify_streams(&streams, &dest).await?;
    let (backed_up, restored) = (
        backup.stats.total("events-ok"),
        restore.stats.total("events-ok"),
    );
    let ok = backed_up == restored && checked == good && checked > 0;
    println!("\nDemo summary");
    println!("  events backed up: {backed_up}, restored: {restored}");
    println!("  streams in the store: {checked}, restored with matching sha256: {good}");
    println!("  backup store: {}", store_dir.display());
    println!(
        "  components: {} / {}",
        backup.component.version, restore.component.version
    );
    println!(
        "  result: {}",
        if ok {
            "OK — the restored dispatcher holds what was backed up"
        } else {
            "MISMATCH"
        }
    );
    Ok(ok)
}

/// Default paths of the demo's components.
pub fn default_components() -> (PathBuf, PathBuf) {
    (
        app::default_component(Kind::Backup),
        app::default_component(Kind::Restore),
    )
}
