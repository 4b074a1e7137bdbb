//! Host capabilities: one module per WIT interface. Each keeps its plain-Rust logic next to
//! the small trait impl that exposes it to guests.

pub mod batch;
pub mod body;
pub mod check;
pub mod clock;
pub mod dispatcher;
pub mod journal;
pub mod keyset;
pub mod log;
pub mod metrics;
pub mod queues;
pub mod statedir;
pub mod store;
pub mod tasks;
mod upload;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::run::RunContext;
use crate::runtime::bindings::types::{Error as WitError, ErrorKind};

/// Per-Store state: the sandbox (WASI without preopens, sockets or env), the resource
/// table, limits, and this worker's view of the run.
pub struct HostState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) run: Arc<RunContext>,
    /// Set when the worker's owner asks it to stop.
    pub(crate) cancelled: Arc<AtomicBool>,
    /// Epoch ticks the guest has run since it last called the host.
    pub(crate) busy_ticks: u64,
    /// The epoch check itself is a call into the host: this tells it apart from real calls.
    pub(crate) in_epoch_check: bool,
}

impl HostState {
    pub fn new(run: Arc<RunContext>, cancelled: Arc<AtomicBool>) -> Self {
        let limits = StoreLimitsBuilder::new()
            .memory_size(run.limits.memory_bytes)
            .build();
        HostState {
            wasi: wasmtime_wasi::WasiCtxBuilder::new()
                .inherit_stderr()
                .build(),
            table: ResourceTable::new(),
            limits,
            run,
            cancelled,
            busy_ticks: 0,
            in_epoch_check: false,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The run's own series, when it exports any.
    pub fn ops(&self) -> Option<&crate::metrics::OpsMetrics> {
        self.run.stats.metrics().map(|m| &m.ops)
    }

    /// Adds the time since `since` to `stage` (`azul_backup_stage_seconds_total`).
    pub fn time_stage(&self, stage: &str, since: std::time::Instant) {
        if let Some(ops) = self.ops() {
            ops.time_stage(stage, since);
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Build a WIT error value.
pub(crate) fn wit_error(kind: ErrorKind, message: impl Into<String>, retryable: bool) -> WitError {
    WitError {
        kind,
        message: message.into(),
        retryable,
    }
}

/// Settings reach guests as arguments of `run`, not through an import.
impl crate::runtime::bindings::config::Host for HostState {}
