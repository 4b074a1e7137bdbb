//! What an operator sees of a running backup or restore: the original's Prometheus series
//! (one registry per run), served on `/metrics`; object-store timings; the periodic stats
//! log. Guests feed the counts through the `metrics` capability.

mod families;
mod monitoring;
mod operations;
mod printer;
mod server;
mod stats;
mod timed;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;

pub use families::{OP_DURATION_BUCKETS, RunMetrics};
pub use monitoring::{FINAL_SCRAPE_WAIT, Monitoring};
pub use operations::OpsMetrics;
pub use printer::{
    BACKUP_TABLE, PrintSchedule, REDUCING_NOTICE, RESTORE_TABLE, StatsPrinter, TickAction, report,
};
pub use server::MetricsServer;
pub use stats::{CANT_BE_BACKED_UP, Stats};
pub use timed::{Timed, method};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("failed to listen for Prometheus metrics on {addr} (BK__METRICS_ADDR): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("Prometheus metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
}
