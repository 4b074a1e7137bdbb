//! `azul-backup drill`: a restore drill. The backup the settings name is restored by the
//! restore component into a throw-away dispatcher emulator, then what the emulator received
//! is compared with what the backup holds. No production dispatcher is touched: the
//! dispatcher settings are ignored.

mod compare;
mod deletes;
mod emulator;
mod expected;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::app::{self, RESTORE_COLUMNS, open_store};
use crate::run::Shutdown;
use crate::settings::Settings;
pub use compare::{Difference, Expected, Received};
use emulator::DrillEmulator;

pub struct DrillOptions {
    pub component: PathBuf,
    /// Check uploaded streams against their sha256 (off for backups of placeholder streams).
    pub verify_sha256: bool,
}

/// The restore's settings: the same store, the emulator as dispatcher, a state directory of
/// its own (a real restore's checkpoints must neither be used nor moved), no metrics server.
fn drill_settings(settings: &Settings, dispatcher: &str) -> Result<Settings> {
    let root = settings.local_data_rootdir.join("drill");
    let checkpoints = root.join("restore");
    if checkpoints.exists() {
        std::fs::remove_dir_all(&checkpoints)
            .with_context(|| format!("clearing {}", checkpoints.display()))?;
    }
    Ok(Settings {
        dispatcher_events: dispatcher.to_string(),
        dispatcher_streams: dispatcher.to_string(),
        local_store_dir: Some(
            settings
                .local_store_dir
                .clone()
                .unwrap_or_else(|| settings.local_data_rootdir.join("store")),
        ),
        local_data_rootdir: root,
        restore_type: "all".into(),
        metrics_addr: None,
        ..settings.clone()
    })
}

/// Run the drill; returns whether the restored dispatcher holds what the backup holds.
pub async fn run(
    settings: &Settings,
    options: &DrillOptions,
    shutdown: Arc<Shutdown>,
) -> Result<bool> {
    let (events_bucket, streams_bucket) = (settings.events_bucket(), settings.streams_bucket());
    // Before anything starts: missing buckets are an error, not an empty backup.
    let events = open_store(settings, &events_bucket, false)
        .await
        .context("events bucket")?;
    let streams = open_store(settings, &streams_bucket, false)
        .await
        .context("streams bucket")?;
    let sources = settings.backup_sources();
    let emulator = DrillEmulator::start(&sources, options.verify_sha256).await?;
    println!(
        "Drill: restoring {events_bucket} and {streams_bucket} (sources: {}) into a dispatcher \
         emulator at {}",
        sources.join(", "),
        emulator.url
    );
    let restore_settings = drill_settings(settings, &emulator.url)?;
    let (run, restored) = app::restore(&restore_settings, &options.component, shutdown).await;
    if let Some(run) = &run {
        println!("Restore stats:\n{}", run.stats.table(RESTORE_COLUMNS));
    }
    let tmp = tempfile::tempdir_in(&restore_settings.local_data_rootdir)?;
    let expected = expected::read(events.as_ref(), streams.as_ref(), &sources, tmp.path()).await?;
    let received = emulator.received(options.verify_sha256).await?;
    let mut differences = compare::differences(&expected, &received);
    if let Err(e) = restored {
        differences.insert(0, Difference::RestoreFailed(format!("{e:#}")));
    }
    println!(
        "{}",
        compare::render(&expected, &received, &differences, options.verify_sha256)
    );
    Ok(differences.is_empty())
}
