//! Hot swap of the orchestration component. A watcher notices a new build of the component
//! file (its stamp changes, or SIGHUP), compiles, links and probes it while the running
//! component goes on; only a component that passed all three is accepted. The running
//! component is then drained through its normal stop order — everything persisted in the
//! state directory — and the run continues with the new one, which resumes from that state.
//! A refused component leaves the running one alone: one log line and a metric.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use tokio::task::JoinHandle;

use crate::metrics::Stats;
use crate::run::RunContext;
use crate::runtime::{LoadedComponent, Runtime};

/// What identifies one version of the file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    // `metadata` follows symlinks: a Kubernetes ConfigMap swaps a symlink, not the file.
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

#[derive(Default)]
struct Slots {
    /// Accepted and waiting for the running component to drain.
    pending: Option<Arc<LoadedComponent>>,
    drain_started: Option<Instant>,
}

/// The watcher of one run's component file.
pub struct SwapWatch {
    slots: Arc<Mutex<Slots>>,
    task: JoinHandle<()>,
}

/// A component ready to take over, and how long the old one took to drain.
pub struct Swap {
    pub next: Arc<LoadedComponent>,
    pub drained_in: Duration,
}

impl SwapWatch {
    /// Watch `run`'s component file every `interval` (none: only on SIGHUP).
    pub fn start(runtime: Runtime, run: Arc<RunContext>, interval: Option<Duration>) -> Self {
        let slots = Arc::new(Mutex::new(Slots::default()));
        let task = tokio::spawn(watch(runtime, run, interval, slots.clone()));
        SwapWatch { slots, task }
    }

    /// The accepted component, once the running one has finished draining.
    pub fn take(&self) -> Option<Swap> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let next = slots.pending.take()?;
        let drained_in = slots.drain_started.take().map(|t| t.elapsed());
        Some(Swap {
            next,
            drained_in: drained_in.unwrap_or_default(),
        })
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Marks `component` as the one running (1) or replaced (0) in the metrics.
pub fn announce(run: &RunContext, component: &LoadedComponent, running: bool) {
    if let Some(m) = run.stats.metrics() {
        let labels = [run.component_name, &component.version, &component.sha256];
        m.ops
            .component_info
            .with_label_values(&labels)
            .set(running as i64);
        m.ops
            .component_load_seconds
            .with_label_values(&[run.component_name])
            .set(component.load_time.as_secs_f64());
    }
}

fn count(run: &RunContext, result: &str) {
    if let Some(m) = run.stats.metrics() {
        let labels = [run.component_name, result];
        m.ops.component_swaps.with_label_values(&labels).inc();
    }
}

async fn watch(
    runtime: Runtime,
    run: Arc<RunContext>,
    interval: Option<Duration>,
    slots: Arc<Mutex<Slots>>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let path: PathBuf = run.component.path.clone();
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot watch SIGHUP (component swaps by file change only): {e}");
            None
        }
    };
    let mut seen = stamp(&path);
    // The build that runs or will run next: a file with the same bytes is no swap.
    let mut latest = run.component.sha256.clone();
    loop {
        let forced = tokio::select! {
            _ = tick(interval) => false,
            Some(()) = async { hangup.as_mut()?.recv().await } => true,
        };
        let now = stamp(&path);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        match candidate(&runtime, &run, &path, &latest).await {
            Ok(None) if forced => {
                tracing::info!(component = %path.display(), "SIGHUP: component unchanged")
            }
            Ok(None) => {}
            Ok(Some(next)) => {
                tracing::info!(
                    component = %path.display(),
                    version = %next.version,
                    sha256 = %next.sha256,
                    "new component accepted (loaded in {:.2?}); draining the running one",
                    next.load_time,
                );
                latest = next.sha256.clone();
                let mut s = slots.lock().unwrap_or_else(|p| p.into_inner());
                s.pending = Some(next);
                s.drain_started.get_or_insert_with(Instant::now);
                run.shutdown.begin_drain();
            }
            Err(e) => {
                count(&run, "refused");
                tracing::error!(
                    component = %path.display(),
                    "component swap refused, the running component goes on: {e:#}"
                );
            }
        }
    }
}

async fn tick(interval: Option<Duration>) {
    match interval {
        Some(every) => tokio::time::sleep(every).await,
        None => std::future::pending().await,
    }
}

/// The file's component when it is a new build that loads, links and answers `version`.
async fn candidate(
    runtime: &Runtime,
    run: &Arc<RunContext>,
    path: &std::path::Path,
    latest: &str,
) -> Result<Option<Arc<LoadedComponent>>> {
    let loaded = runtime.load(run.component.kind, path).await?;
    if loaded.sha256 == latest {
        return Ok(None);
    }
    // The probe's context only lends the sandbox its host state.
    let probe = run.successor(run.component.clone(), Stats::default());
    let version = loaded.query_version(Arc::new(probe)).await?;
    Ok(Some(Arc::new(loaded.with_version(version))))
}
