//! The original's metric families, registered in one registry per run so that several runs
//! (tests, the demo) can live in one process without sharing series.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
    core::Collector,
};

use super::MetricsError;
use super::operations::OpsMetrics;

/// `recovery_streams_op_duration` buckets, in seconds (the original's).
pub const OP_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Every series an operator can scrape from a backup or a restore.
pub struct RunMetrics {
    registry: Registry,
    /// `{keyword}`: a stream request that could not be recorded in the state directory.
    pub object_error: IntCounterVec,
    /// `{streampath}`: a stream given up on (moved to `backup-failed.stream`).
    pub stream_cant_be_backed_up: IntCounterVec,
    /// `{source, event, keyword}`: a failed event-consumer operation.
    pub events_error: IntCounterVec,
    /// `{source, stat}`: mirrors the backup stats table.
    pub backup_stats: IntGaugeVec,
    /// `{source, stat}`: mirrors the restore stats table.
    pub restore_stats: IntGaugeVec,
    /// `{source}`: 1 once every stream of the source is restored.
    pub stream_restore_complete: IntGaugeVec,
    /// `{source}`: restore event routines started.
    pub total_event_types: IntCounterVec,
    /// `{source}`: restore event routines finished.
    pub completed_event_types: IntGaugeVec,
    /// `{method, result}`: object-store call durations, both buckets.
    pub store_op_duration: HistogramVec,
    /// The series the original did not have.
    pub ops: OpsMetrics,
    /// Readiness (`GET /readyz`): the run has its stores, dispatcher and component.
    ready: std::sync::atomic::AtomicBool,
}

impl RunMetrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let metrics = RunMetrics {
            object_error: counter(
                "recovery_backup_object_error",
                "Non-critical errors while backing up an object.",
                &["keyword"],
            )?,
            stream_cant_be_backed_up: counter(
                "recovery_backup_stream_cant_be_backed_up",
                "Streams that cannot be backed up and must be retried by hand.",
                &["streampath"],
            )?,
            events_error: counter(
                "recovery_backup_events_error",
                "Non-critical errors while backing up events.",
                &["source", "event", "keyword"],
            )?,
            backup_stats: gauge(
                "recovery_backup_stats",
                "Backup progress per source (the stats table).",
                &["source", "stat"],
            )?,
            restore_stats: gauge(
                "recovery_restore_stats",
                "Restore progress per source (the stats table).",
                &["source", "stat"],
            )?,
            stream_restore_complete: gauge(
                "recovery_stream_restore_complete",
                "1 once every stream of a source has been restored.",
                &["source"],
            )?,
            total_event_types: counter(
                "recovery_total_event_types_for_source",
                "Event types whose restore has started, per source.",
                &["source"],
            )?,
            completed_event_types: gauge(
                "recovery_completed_event_types_for_source",
                "Event types whose restore has completed, per source.",
                &["source"],
            )?,
            store_op_duration: HistogramVec::new(
                HistogramOpts::new(
                    "recovery_streams_op_duration",
                    "Duration of an object-store operation, in seconds.",
                )
                .buckets(OP_DURATION_BUCKETS.to_vec()),
                &["method", "result"],
            )?,
            ops: OpsMetrics::new()?,
            registry,
            ready: Default::default(),
        };
        metrics.register_all()?;
        Ok(metrics)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready
            .store(ready, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn register_all(&self) -> Result<(), MetricsError> {
        let families: [Box<dyn Collector>; 9] = [
            Box::new(self.object_error.clone()),
            Box::new(self.stream_cant_be_backed_up.clone()),
            Box::new(self.events_error.clone()),
            Box::new(self.backup_stats.clone()),
            Box::new(self.restore_stats.clone()),
            Box::new(self.stream_restore_complete.clone()),
            Box::new(self.total_event_types.clone()),
            Box::new(self.completed_event_types.clone()),
            Box::new(self.store_op_duration.clone()),
        ];
        for family in families {
            self.registry.register(family)?;
        }
        self.ops.register(&self.registry)?;
        // The original's default registry also exported process_* series (CPU, memory,
        // open files); procfs only exists on Linux.
        #[cfg(target_os = "linux")]
        self.registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(())
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every series in the text exposition format.
    pub fn encode(&self) -> Result<String, MetricsError> {
        Ok(TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }
}

impl std::fmt::Debug for RunMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunMetrics").finish_non_exhaustive()
    }
}

fn counter(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, MetricsError> {
    Ok(IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec, MetricsError> {
    Ok(IntGaugeVec::new(Opts::new(name, help), labels)?)
}
