//! One run's metrics and, unless turned off, the endpoint serving them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{MetricsError, MetricsServer, RunMetrics};
use crate::run::Shutdown;

/// How long a restore waits for Prometheus to collect its final values (the original's).
pub const FINAL_SCRAPE_WAIT: Duration = Duration::from_secs(5 * 60);

const SCRAPE_POLL: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Monitoring {
    pub metrics: Arc<RunMetrics>,
    pub server: Option<MetricsServer>,
}

impl Monitoring {
    /// Fresh metrics, served on `addr` when one is given.
    pub async fn start(addr: Option<SocketAddr>) -> Result<Self, MetricsError> {
        let metrics = Arc::new(RunMetrics::new()?);
        let server = match addr {
            Some(addr) => Some(MetricsServer::start(addr, metrics.clone()).await?),
            None => None,
        };
        Ok(Monitoring { metrics, server })
    }

    /// When Prometheus has been scraping, waits up to `within` for one more scrape, so the
    /// values of a finished run are collected before the process exits. Returns at once
    /// when nothing scrapes or the operator asked to stop, and early on a new stop request.
    pub async fn await_final_scrape(&self, within: Duration, shutdown: &Shutdown) {
        let Some(server) = &self.server else { return };
        let seen = server.scrapes();
        let operator_stopped = shutdown.stop_requested() && shutdown.failure().is_none();
        if seen == 0 || operator_stopped {
            return;
        }
        tracing::info!("waiting up to {within:?} for a final metrics scrape");
        let stop_level = |s: &Shutdown| (s.stop_requested(), s.rapid());
        let (level, deadline) = (stop_level(shutdown), Instant::now() + within);
        while server.scrapes() == seen && Instant::now() < deadline && stop_level(shutdown) == level
        {
            tokio::time::sleep(SCRAPE_POLL).await;
        }
    }

    /// Closes the endpoint (letting a scrape in progress finish).
    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.stop().await;
        }
    }
}
