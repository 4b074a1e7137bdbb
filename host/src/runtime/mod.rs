//! The wasm runtime: one Engine per process, one InstancePre per component, one Store per
//! worker on its own tokio task. Guests are interrupted every epoch tick so a spinning
//! guest yields to the others; a trap ends its worker only.

pub mod bindings;

use std::path::{Path, PathBuf};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{CallHook, Config, Engine, Store, UpdateDeadline};

use crate::capabilities::{HostState, tasks::TaskHandle};
use crate::run::RunContext;
use bindings::{
    backup::{Backup, BackupPre},
    restore::{Restore, RestorePre},
};

/// Epoch tick: how often a running guest is made to yield.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Backup,
    Restore,
}

enum Pre {
    Backup(BackupPre<HostState>),
    Restore(RestorePre<HostState>),
}

/// A compiled, linked component, ready to instantiate any number of times.
pub struct LoadedComponent {
    pub kind: Kind,
    pub path: PathBuf,
    pub version: String,
    /// Of the component file's bytes: tells builds apart when watching for a swap.
    pub sha256: String,
    /// Compile (or cache read), link and pre-instantiation.
    pub load_time: Duration,
    engine: Engine,
    pre: Pre,
}

/// The process-wide engine with its epoch ticker.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
}

impl Runtime {
    /// `cache_dir`: where compiled components are cached (made absolute).
    pub fn new(cache_dir: Option<&Path>) -> Result<Self> {
        let mut cfg = Config::new();
        cfg.epoch_interruption(true);
        if let Some(dir) = cache_dir {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(std::path::absolute(dir)?);
            cfg.cache(Some(wasmtime::Cache::new(cache)?));
        }
        let engine = Engine::new(&cfg)?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;
        Ok(Runtime { engine })
    }

    /// Read, compile (or fetch from the cache), link and pre-instantiate a component.
    /// Linking checks the contract: every import names its WIT package version
    /// (`azul:backup/…@0.1.0`), and every export the world needs must be there.
    pub async fn load(&self, kind: Kind, path: &Path) -> Result<LoadedComponent> {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading component {}", path.display()))?;
        let runtime = self.clone();
        let path = path.to_path_buf();
        // Compiling takes a CPU for a second or more: off the async workers.
        tokio::task::spawn_blocking(move || runtime.load_bytes(kind, &path, &bytes)).await?
    }

    fn load_bytes(&self, kind: Kind, path: &Path, bytes: &[u8]) -> Result<LoadedComponent> {
        use sha2::Digest;
        let started = Instant::now();
        let component = Component::new(&self.engine, bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading component {}", path.display()))?;
        let mut linker = Linker::<HostState>::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let pre = match kind {
            Kind::Backup => {
                Backup::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
                Pre::Backup(
                    BackupPre::new(linker.instantiate_pre(&component)?)
                        .map_err(anyhow::Error::from)
                        .with_context(|| {
                            format!("{} does not implement the backup world", path.display())
                        })?,
                )
            }
            Kind::Restore => {
                Restore::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
                Pre::Restore(
                    RestorePre::new(linker.instantiate_pre(&component)?)
                        .map_err(anyhow::Error::from)
                        .with_context(|| {
                            format!("{} does not implement the restore world", path.display())
                        })?,
                )
            }
        };
        Ok(LoadedComponent {
            kind,
            path: path.to_path_buf(),
            version: String::new(),
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
            load_time: started.elapsed(),
            engine: self.engine.clone(),
            pre,
        })
    }
}

impl LoadedComponent {
    fn store(&self, run: Arc<RunContext>, cancelled: Arc<AtomicBool>) -> Store<HostState> {
        let busy_limit = run.limits.busy_limit;
        let max_ticks = (busy_limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        let mut store = Store::new(&self.engine, HostState::new(run, cancelled));
        store.limiter(|s| &mut s.limits);
        store.call_hook(|mut ctx, hook| {
            if matches!(hook, CallHook::ReturningFromHost) {
                let state = ctx.data_mut();
                if !std::mem::take(&mut state.in_epoch_check) {
                    state.busy_ticks = 0;
                }
            }
            Ok(())
        });
        // Every tick a running guest yields to the others; one that has not called the host
        // for `busy_limit` is stopped (its worker fails with this message, the others go on).
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            state.in_epoch_check = true;
            state.busy_ticks += 1;
            if state.busy_ticks > max_ticks {
                return Err(wasmtime::format_err!(
                    "the guest ran {busy_limit:?} without calling the host: stopped as hung"
                ));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        store
    }

    /// The guest's `version` export, called in a throw-away sandbox.
    pub async fn query_version(&self, run: Arc<RunContext>) -> Result<String> {
        let mut store = self.store(run, Arc::default());
        let version = match &self.pre {
            Pre::Backup(pre) => {
                pre.instantiate_async(&mut store)
                    .await?
                    .call_version(&mut store)
                    .await
            }
            Pre::Restore(pre) => {
                pre.instantiate_async(&mut store)
                    .await?
                    .call_version(&mut store)
                    .await
            }
        };
        Ok(version?)
    }

    pub fn with_version(mut self, version: String) -> Self {
        self.version = version;
        self
    }
}

/// Run the supervisor export `run` of the run's component with `config` and wait for it.
pub async fn run_backup(
    run: Arc<RunContext>,
    config: bindings::config::BackupConfig,
) -> Result<()> {
    let component = run.component.clone();
    let Pre::Backup(pre) = &component.pre else {
        return Err(anyhow!("not a backup component"));
    };
    let mut store = component.store(run, Arc::default());
    let instance = pre.instantiate_async(&mut store).await?;
    instance
        .call_run(&mut store, &config)
        .await?
        .map_err(|e| anyhow!("backup failed: {e}"))
}

pub async fn run_restore(
    run: Arc<RunContext>,
    config: bindings::config::RestoreConfig,
) -> Result<()> {
    let component = run.component.clone();
    let Pre::Restore(pre) = &component.pre else {
        return Err(anyhow!("not a restore component"));
    };
    let mut store = component.store(run, Arc::default());
    let instance = pre.instantiate_async(&mut store).await?;
    instance
        .call_run(&mut store, &config)
        .await?
        .map_err(|e| anyhow!("restore failed: {e}"))
}

/// Run the restore component's `verify` export with `config` and return its report.
pub async fn run_verify(
    run: Arc<RunContext>,
    config: bindings::verification::VerifyConfig,
) -> Result<bindings::verification::VerifyReport> {
    let component = run.component.clone();
    let Pre::Restore(pre) = &component.pre else {
        return Err(anyhow!("not a restore component"));
    };
    let mut store = component.store(run, Arc::default());
    let instance = pre.instantiate_async(&mut store).await?;
    instance
        .call_verify(&mut store, &config)
        .await?
        .map_err(|e| anyhow!("verify failed: {e}"))
}

/// Start `run-worker(role, args)` in a new Store on its own tokio task. A trap ends that
/// Store; the worker is started again in a fresh one up to the run's restart budget (its
/// work is in the state directory or still queued), after which the run is stopped cleanly.
pub fn spawn_worker(run: Arc<RunContext>, role: String, args: Vec<u8>) -> Result<TaskHandle> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let component = run.component.clone();
    let task_role = role.clone();
    let flag = cancelled.clone();
    let join = tokio::spawn(async move {
        let budget = run.limits.restart_budget;
        let mut restarts = 0;
        loop {
            let mut store = component.store(run.clone(), flag.clone());
            let outcome = match &component.pre {
                Pre::Backup(pre) => match pre.instantiate_async(&mut store).await {
                    Ok(i) => i.call_run_worker(&mut store, &task_role, &args).await,
                    Err(e) => Err(e),
                },
                Pre::Restore(pre) => match pre.instantiate_async(&mut store).await {
                    Ok(i) => i.call_run_worker(&mut store, &task_role, &args).await,
                    Err(e) => Err(e),
                },
            };
            drop(store);
            let trap = match outcome {
                Ok(result) => return result,
                Err(trap) => trap,
            };
            let ops = run.stats.metrics().map(|m| &m.ops);
            if let Some(ops) = ops {
                ops.worker_traps.with_label_values(&[&task_role]).inc();
            }
            let stopping = run.shutdown.rapid() || flag.load(Ordering::SeqCst);
            if restarts < budget && !stopping {
                restarts += 1;
                tracing::warn!(
                    role = %task_role,
                    "worker trapped: {trap:#}; starting it again ({restarts} of {budget})"
                );
                if let Some(ops) = ops {
                    ops.worker_restarts.with_label_values(&[&task_role]).inc();
                }
                continue;
            }
            tracing::error!(role = %task_role, "worker trapped: {trap:#}");
            if !stopping {
                run.shutdown.fail(&format!(
                    "worker {task_role} trapped {} times (restart budget {budget})",
                    restarts + 1
                ));
            }
            return Err(format!("worker {task_role} trapped: {trap:#}"));
        }
    });
    Ok(TaskHandle::new(role, join, cancelled))
}
