//! Series the original did not have: which component runs and how swaps went, worker traps
//! and restarts, bytes copied, spool and queue depths, and retries by cause.

use prometheus::{CounterVec, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::MetricsError;

pub struct OpsMetrics {
    /// `{kind, version, sha256}` = 1 for the running component (0 for the ones before it).
    pub component_info: IntGaugeVec,
    /// `{kind, result}`: swaps `done`, or `refused` (the old component kept running).
    pub component_swaps: IntCounterVec,
    /// `{kind}`: seconds the last component load (compile or cache read + link) took.
    pub component_load_seconds: GaugeVec,
    /// `{role}`: workers ended by a trap.
    pub worker_traps: IntCounterVec,
    /// `{role}`: trapped workers started again.
    pub worker_restarts: IntCounterVec,
    /// `{direction}`: object-store bytes `stored` (backup) and `read` (restore, verify).
    pub bytes: IntCounterVec,
    /// `{spool}`: events waiting in a consumer's spool for their bundle.
    pub spool_depth: IntGaugeVec,
    /// `{queue}`: messages waiting in a run queue.
    pub queue_depth: IntGaugeVec,
    /// `{cause}`: operations retried, by what failed (`fetch`, `put`, `stream`, `post`, …).
    pub retries: IntCounterVec,
    /// `{stage}`: seconds spent in each host stage, summed over workers (see [`STAGES`]).
    pub stage_seconds: CounterVec,
}

/// Host stages timed in `azul_backup_stage_seconds_total`. Backup: fetching event batches
/// (including the long-poll wait), decoding them, appending them to spools (with fsync),
/// encoding and gzipping bundles, uploading bundles, and copying streams (download, hash,
/// gzip, upload). Restore: reading objects (download, gunzip), posting events and streams to
/// the dispatcher, and writing cursors (with fsync).
pub const STAGES: [&str; 9] = [
    "fetch",
    "decode",
    "spool",
    "encode",
    "put",
    "stream-copy",
    "read",
    "post",
    "checkpoint",
];

impl OpsMetrics {
    pub fn new() -> Result<Self, MetricsError> {
        let ints = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let gauges = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        Ok(OpsMetrics {
            component_info: gauges(
                "azul_backup_component_info",
                "The orchestration component running (1) and the ones it replaced (0).",
                &["kind", "version", "sha256"],
            )?,
            component_swaps: ints(
                "azul_backup_component_swaps_total",
                "Component hot swaps, by result (done, refused).",
                &["kind", "result"],
            )?,
            component_load_seconds: GaugeVec::new(
                Opts::new(
                    "azul_backup_component_load_seconds",
                    "Seconds the last component load took (compile or cache, link, probe).",
                ),
                &["kind"],
            )?,
            worker_traps: ints(
                "azul_backup_worker_traps_total",
                "Component workers ended by a trap, by role.",
                &["role"],
            )?,
            worker_restarts: ints(
                "azul_backup_worker_restarts_total",
                "Trapped component workers started again, by role.",
                &["role"],
            )?,
            bytes: ints(
                "azul_backup_bytes_total",
                "Object-store bytes stored (backup) and read (restore, verify), streams and bundles.",
                &["direction"],
            )?,
            spool_depth: gauges(
                "azul_backup_spool_events",
                "Events spooled in the state directory, waiting for their bundle.",
                &["spool"],
            )?,
            queue_depth: gauges(
                "azul_backup_queue_depth",
                "Messages waiting in a run queue.",
                &["queue"],
            )?,
            retries: ints(
                "azul_backup_retries_total",
                "Operations tried again, by cause.",
                &["cause"],
            )?,
            stage_seconds: CounterVec::new(
                Opts::new(
                    "azul_backup_stage_seconds_total",
                    "Seconds spent in each host stage, summed over workers.",
                ),
                &["stage"],
            )?,
        })
    }

    pub fn register(&self, registry: &Registry) -> Result<(), MetricsError> {
        registry.register(Box::new(self.component_info.clone()))?;
        registry.register(Box::new(self.component_swaps.clone()))?;
        registry.register(Box::new(self.component_load_seconds.clone()))?;
        registry.register(Box::new(self.worker_traps.clone()))?;
        registry.register(Box::new(self.worker_restarts.clone()))?;
        registry.register(Box::new(self.bytes.clone()))?;
        registry.register(Box::new(self.spool_depth.clone()))?;
        registry.register(Box::new(self.queue_depth.clone()))?;
        registry.register(Box::new(self.retries.clone()))?;
        registry.register(Box::new(self.stage_seconds.clone()))?;
        Ok(())
    }

    pub fn time_stage(&self, stage: &str, since: std::time::Instant) {
        let secs = since.elapsed().as_secs_f64();
        self.stage_seconds.with_label_values(&[stage]).inc_by(secs);
    }

    /// `fetch 1.20s, decode 0.31s, …` for the stages that took any time.
    pub fn stage_summary(&self) -> String {
        STAGES
            .iter()
            .map(|s| (s, self.stage_seconds.with_label_values(&[s]).get()))
            .filter(|(_, secs)| *secs > 0.0)
            .map(|(s, secs)| format!("{s} {secs:.2}s"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
