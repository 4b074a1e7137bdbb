//! `log`: guest messages into the host's tracing subscriber, tagged with the worker.

use super::HostState;
use crate::runtime::bindings::log::{self, Level};

impl log::Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let component = self.run.component_name;
        match level {
            Level::Trace => tracing::trace!(target: "guest", component, "{message}"),
            Level::Debug => tracing::debug!(target: "guest", component, "{message}"),
            Level::Info => tracing::info!(target: "guest", component, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", component, "{message}"),
            Level::Error => tracing::error!(target: "guest", component, "{message}"),
        }
        Ok(())
    }
}
