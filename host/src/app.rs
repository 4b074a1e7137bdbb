//! Wiring for the commands: settings → stores, dispatcher client, state directory and the
//! loaded component → one run, then the stats table.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use backon::{ExponentialBuilder, Retryable};

use crate::ageoff;
use crate::capabilities::statedir::StateDir;
use crate::dispatcher::DispatcherClient;
use crate::metrics::{FINAL_SCRAPE_WAIT, Monitoring, RunMetrics, Stats, StatsPrinter, Timed};
use crate::objectstore::{
    LocalStore, MultipartConfig, ObjectStore, Prefixed, S3Config, S3Store, StoreError,
};
use crate::progress::{Count, Progress, Work};
use crate::run::{Limits, RunContext, Shutdown};
use crate::runtime::{self, Kind, Runtime, bindings::config};
use crate::settings::Settings;
use crate::swap::{self, SwapWatch};

/// Columns of the original's stats tables.
pub use crate::metrics::{BACKUP_TABLE as BACKUP_COLUMNS, RESTORE_TABLE as RESTORE_COLUMNS};

/// Where the built component of `kind` is, when no path is given: next to the executable
/// (installed layout), in the workspace's guest build output, or under the current directory.
pub fn default_component(kind: Kind) -> PathBuf {
    let file = match kind {
        Kind::Backup => "guest_backup.wasm",
        Kind::Restore => "guest_restore.wasm",
    };
    let env = match kind {
        Kind::Backup => "AZUL_BACKUP_COMPONENT",
        Kind::Restore => "AZUL_RESTORE_COMPONENT",
    };
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join(file));
        // target/<profile>/azul-backup → target/wasm32-wasip2/guest/
        if let Some(target) = dir.parent() {
            candidates.push(target.join("wasm32-wasip2/guest").join(file));
        }
    }
    candidates.push(PathBuf::from("target/wasm32-wasip2/guest").join(file));
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| candidates.last().cloned().unwrap_or_default())
}

/// Opens one backup bucket. `for_backup`: a missing bucket is created and the age-off rules
/// are brought in line with the settings (see [`ageoff`]); otherwise the bucket must exist and
/// nothing about it is changed.
pub async fn open_store(
    settings: &Settings,
    bucket: &str,
    for_backup: bool,
) -> Result<Arc<dyn ObjectStore>> {
    let create = for_backup;
    let ageoff = |folder| for_backup.then(|| ageoff::plan(settings, folder)).flatten();
    if settings.s3_endpoint.is_empty() {
        if ageoff(None).is_some() {
            tracing::warn!("age-off settings have no effect on the local-directory store");
        }
        let root = settings
            .local_store_dir
            .clone()
            .unwrap_or_else(|| settings.local_data_rootdir.join("store"));
        return Ok(Arc::new(LocalStore::new(root, bucket)?));
    }
    let s3 = S3Config {
        endpoint: settings.s3_endpoint.clone(),
        secure: settings.s3_secure,
        access_key: settings.s3_access_key.clone(),
        secret_key: settings.s3_secret_key.clone(),
        region: settings.s3_region.clone(),
        response_timeout: Some(Duration::from_secs(settings.s3_response_timeout_secs)),
    };
    let multipart = MultipartConfig {
        threshold: settings.s3_multipart_threshold_mib << 20,
        part_size: settings.s3_multipart_part_mib << 20,
        ..MultipartConfig::default()
    };
    // Shared-bucket mode: the per-type bucket name becomes a folder.
    let (name, folder) = match settings.s3_bucket.as_str() {
        "" => (bucket, None),
        shared => (shared, Some(bucket)),
    };
    let connect = || S3Store::connect(&s3, name, create);
    let store = retried_at_start(settings, name, connect)
        .await?
        .with_multipart(multipart);
    if let Some(plan) = ageoff(folder) {
        retried_at_start(settings, name, || ageoff::apply(&store, &plan))
            .await
            .context("age-off")?;
    }
    Ok(match folder {
        None => Arc::new(store),
        Some(folder) => Arc::new(Prefixed::new(store, folder)?),
    })
}

/// Start-up calls to S3 (bucket check or creation, lifecycle rules) are retried like the
/// run's own: a passing S3 failure must not fail the whole run before it starts.
async fn retried_at_start<T, F, Fut>(
    settings: &Settings,
    bucket: &str,
    call: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(
            settings.retry_average_delay_ms.max(1),
        ))
        .with_max_delay(Duration::from_secs(30))
        .with_max_times(settings.retry_count.saturating_sub(1) as usize)
        .with_jitter();
    call.retry(backoff)
        .when(StoreError::retryable)
        .notify(|e, after| tracing::warn!("bucket {bucket:?}: {e}; retrying in {after:?}"))
        .await
}

/// Everything a run needs, built from settings. Restore refuses missing buckets (a typo in
/// the backup id must not look like an empty backup).
pub async fn prepare(
    settings: &Settings,
    kind: Kind,
    component: &Path,
    shutdown: Arc<Shutdown>,
    metrics: &Arc<RunMetrics>,
) -> Result<(Arc<RunContext>, Runtime)> {
    if settings.dispatcher_events.is_empty() {
        bail!("BK__DISPATCHER_EVENTS is not set: the dispatcher's base URL is required");
    }
    let streams_url = if settings.dispatcher_streams.is_empty() {
        &settings.dispatcher_events
    } else {
        &settings.dispatcher_streams
    };
    let dispatcher = DispatcherClient::new(
        &settings.dispatcher_events,
        streams_url,
        Duration::from_secs(300),
    )?;
    let create = kind == Kind::Backup;
    let events_store = open_store(settings, &settings.events_bucket(), create)
        .await
        .context("events bucket")?;
    let events_store: Arc<dyn ObjectStore> = Arc::new(Timed::new(events_store, metrics));
    let streams_store = open_store(settings, &settings.streams_bucket(), create)
        .await
        .context("streams bucket")?;
    let streams_store: Arc<dyn ObjectStore> = Arc::new(Timed::new(streams_store, metrics));
    let (name, sub) = match kind {
        Kind::Backup => ("backup", "backup"),
        Kind::Restore => ("restore", "restore"),
    };
    let statedir = StateDir::open(settings.local_data_rootdir.join(sub))
        .with_context(|| format!("state directory {}", settings.local_data_rootdir.display()))?;
    let runtime = Runtime::new(Some(&settings.wasm_cache()))?;
    let loaded = runtime.load(kind, component).await?;
    let mut run = RunContext {
        component_name: name,
        component: Arc::new(loaded),
        dispatcher,
        events_store,
        streams_store,
        statedir,
        queues: Default::default(),
        journals: Default::default(),
        stats: Stats::exporting(metrics.clone(), kind),
        shutdown,
        limits: Limits::for_settings(settings),
        verify_stream_sha256: settings.verify_stream_sha256,
        started: Instant::now(),
    };
    let probe = run.successor(run.component.clone(), Stats::default());
    let version = run.component.query_version(Arc::new(probe)).await?;
    tracing::info!(
        component = %component.display(),
        %version,
        "component loaded in {:.2?}",
        run.component.load_time
    );
    if let Some(c) = Arc::get_mut(&mut run.component) {
        c.version = version;
    }
    swap::announce(&run, &run.component, true);
    Ok((Arc::new(run), runtime))
}

/// Runs the run's component, and after each hot swap the next one, until a component
/// finishes without a swap pending, the run is stopped, or it fails.
async fn generations<F, Fut>(
    settings: &Settings,
    first: Arc<RunContext>,
    runtime: Runtime,
    run_component: F,
) -> (Arc<RunContext>, Result<()>)
where
    F: Fn(Arc<RunContext>) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let interval = (settings.component_watch_interval_ms > 0)
        .then(|| Duration::from_millis(settings.component_watch_interval_ms));
    let watch = SwapWatch::start(runtime, first.clone(), interval);
    let mut run = first;
    let outcome = loop {
        let result = run_component(run.clone()).await;
        let swap = watch.take();
        run.shutdown.end_drain();
        let Some(swap) = swap else {
            break (run, result);
        };
        if run.shutdown.stop_requested() {
            tracing::info!("not swapping in {}: the run is stopping", swap.next.version);
            break (run, result);
        }
        // A component asked to drain may end with an error naming what it did not get to
        // (a restore: "stopped before <key>"); its successor resumes there. What failed is
        // in the stats and the state directory, and decides the exit status at the end.
        if let Err(e) = &result {
            tracing::info!("the drained component ended with: {e:#}");
        }
        tracing::info!(
            from = %run.component.version,
            to = %swap.next.version,
            "component swapped: the old one drained in {:.2?}; the new one resumes from the state directory",
            swap.drained_in,
        );
        swap::announce(&run, &run.component, false);
        swap::announce(&run, &swap.next, true);
        if let Some(m) = run.stats.metrics() {
            let labels = [run.component_name, "done"];
            m.ops.component_swaps.with_label_values(&labels).inc();
        }
        run = Arc::new(run.successor(swap.next, run.stats.clone()));
    };
    watch.stop();
    if let Some(m) = outcome.0.stats.metrics() {
        let stages = m.ops.stage_summary();
        if !stages.is_empty() {
            tracing::info!("time by stage (summed over workers): {stages}");
        }
    }
    outcome
}

pub fn progress_interval(settings: &Settings) -> Duration {
    Duration::from_secs(settings.progress_interval_secs.max(1))
}

/// What a restore of these settings will post: the events of every bundle and every stream
/// object of the restored sources (as far as `restore_type` asks for them).
fn restore_counts(settings: &Settings, run: &RunContext) -> Vec<Count> {
    let sources = settings.backup_sources();
    let prefixes = |extra: Option<&str>| {
        let mut all: Vec<String> = sources.iter().map(|s| format!("{s}/")).collect();
        all.extend(extra.map(String::from));
        all
    };
    let (streams, events) = match settings.restore_type.as_str() {
        "streams" => (true, false),
        "events" => (false, true),
        _ => (true, true),
    };
    let mut counts = Vec::new();
    if streams {
        counts.push(Count {
            store: run.streams_store.clone(),
            prefixes: prefixes(None),
            bundles_as_events: false,
        });
    }
    if events {
        counts.push(Count {
            store: run.events_store.clone(),
            prefixes: prefixes(Some("system/")),
            bundles_as_events: true,
        });
    }
    counts
}

/// A restore that failed to post something does not succeed, even when the component that
/// failed was swapped out and its successor ended well.
fn failures_counted(run: &RunContext) -> Result<()> {
    let (events, streams) = (
        run.stats.total("events-fail"),
        run.stats.total("streams-fail"),
    );
    if events + streams > 0 {
        bail!(
            "{events} events and {streams} streams could not be restored \
             (see restore/restore-rejected.events and restore/restore-failed.stream)"
        );
    }
    Ok(())
}

/// A run its policy stopped because of a failure did not succeed, however cleanly it ended.
fn stopped_by_failure(run: &RunContext) -> Result<()> {
    match run.shutdown.failure() {
        Some(reason) => bail!("stopped: {reason}"),
        None => Ok(()),
    }
}

pub fn backup_config(
    settings: &Settings,
    until_idle: bool,
    retry_failed: Option<config::FailedStreams>,
) -> config::BackupConfig {
    config::BackupConfig {
        sources: settings.backup_sources(),
        backup_id: settings.backup_id.clone(),
        deployment_key: settings.deployment_key.clone(),
        event_batch_size: settings.event_batch_size,
        flush_interval_ms: settings.flush_interval_ms,
        fetch_deadline_secs: settings.fetch_deadline_secs,
        stream_workers: settings.stream_routine_count,
        channel_size: settings.stream_channel_size,
        retry_count: settings.retry_count,
        retry_average_delay_ms: settings.retry_average_delay_ms,
        consecutive_stream_failures: settings.consecutive_backup_stream_failures,
        dedupe_capacity: settings.dedupe_capacity,
        until_idle,
        retry_failed,
    }
}

pub fn restore_config(settings: &Settings) -> config::RestoreConfig {
    config::RestoreConfig {
        sources: settings.backup_sources(),
        backup_id: settings.backup_id.clone(),
        restore_type: settings.restore_type.clone(),
        stream_workers: settings.stream_routine_count,
        channel_size: settings.stream_channel_size,
        retry_count: settings.retry_count,
        retry_average_delay_ms: settings.retry_average_delay_ms,
        list_retry_count: settings.restore_list_retry_count,
        checkpoint_binary_count: settings.checkpoint_binary_count,
        skip_existing_streams: settings.restore_skip_existing_streams,
    }
}

/// Run a backup to completion (or until stopped); returns its context for the stats.
pub async fn backup(
    settings: &Settings,
    component: &Path,
    until_idle: bool,
    retry_failed: Option<config::FailedStreams>,
    shutdown: Arc<Shutdown>,
) -> (Option<Arc<RunContext>>, Result<()>) {
    // Like the original, only the backup command itself serves metrics.
    let addr = settings.metrics_addr.filter(|_| retry_failed.is_none());
    let monitoring = match Monitoring::start(addr).await {
        Ok(monitoring) => monitoring,
        Err(e) => return (None, Err(e.into())),
    };
    let (run, runtime) = match prepare(
        settings,
        Kind::Backup,
        component,
        shutdown,
        &monitoring.metrics,
    )
    .await
    {
        Ok(prepared) => prepared,
        Err(e) => return (None, Err(e)),
    };
    let printer = StatsPrinter::start(Kind::Backup, run.stats.clone(), run.started);
    let progress = Progress::start(
        Work::Backup,
        run.stats.clone(),
        progress_interval(settings),
        run.started,
        Vec::new(),
    );
    monitoring.metrics.set_ready(true);
    let config = backup_config(settings, until_idle, retry_failed);
    let (run, result) = generations(settings, run, runtime, |run| {
        runtime::run_backup(run, config.clone())
    })
    .await;
    monitoring.metrics.set_ready(false);
    progress.finish().await;
    printer.finish().await;
    monitoring.stop().await;
    let result = result.and_then(|()| stopped_by_failure(&run));
    (Some(run), result)
}

pub async fn restore(
    settings: &Settings,
    component: &Path,
    shutdown: Arc<Shutdown>,
) -> (Option<Arc<RunContext>>, Result<()>) {
    // The original's start-up line, which operators grep for.
    tracing::info!(
        "starting restore: type={} backup_id={:?} bucket_prefix={:?} endpoint={:?} region={:?} sources={}",
        settings.restore_type,
        settings.backup_id,
        settings.bucket_name_prefix,
        settings.s3_endpoint,
        settings.s3_region,
        settings.backup_sources().len() + 1, // plus "system", as the original counts it
    );
    let monitoring = match Monitoring::start(settings.metrics_addr).await {
        Ok(monitoring) => monitoring,
        Err(e) => return (None, Err(e.into())),
    };
    let (run, runtime) = match prepare(
        settings,
        Kind::Restore,
        component,
        shutdown,
        &monitoring.metrics,
    )
    .await
    {
        Ok(prepared) => prepared,
        Err(e) => return (None, Err(e)),
    };
    let printer = StatsPrinter::start(Kind::Restore, run.stats.clone(), run.started);
    let progress = Progress::start(
        Work::Restore,
        run.stats.clone(),
        progress_interval(settings),
        run.started,
        restore_counts(settings, &run),
    );
    monitoring.metrics.set_ready(true);
    let config = restore_config(settings);
    let (run, result) = generations(settings, run, runtime, |run| {
        runtime::run_restore(run, config.clone())
    })
    .await;
    monitoring.metrics.set_ready(false);
    progress.finish().await;
    printer.finish().await;
    monitoring
        .await_final_scrape(FINAL_SCRAPE_WAIT, &run.shutdown)
        .await;
    monitoring.stop().await;
    let result = result
        .and_then(|()| stopped_by_failure(&run))
        .and_then(|()| failures_counted(&run));
    (Some(run), result)
}
