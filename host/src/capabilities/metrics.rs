//! `metrics`: guests' counters, aggregated across all workers of a run in [`Stats`], which
//! also keeps the run's Prometheus series up to date.

pub use crate::metrics::Stats;

use super::HostState;
use crate::runtime::bindings::metrics;

impl metrics::Host for HostState {
    async fn add(&mut self, source: String, stat: String, delta: u64) -> wasmtime::Result<()> {
        self.run.stats.add(&source, &stat, delta);
        Ok(())
    }

    async fn event_error(
        &mut self,
        source: String,
        event: String,
        keyword: String,
    ) -> wasmtime::Result<()> {
        self.run.stats.event_error(&source, &event, &keyword);
        Ok(())
    }

    async fn object_error(&mut self, keyword: String) -> wasmtime::Result<()> {
        self.run.stats.object_error(&keyword);
        Ok(())
    }
}
