//! `clock`: wall and monotonic time, non-blocking sleep, randomness for jitter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::HostState;
use crate::runtime::bindings::clock;

impl clock::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0))
    }

    async fn monotonic_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.run.started.elapsed().as_millis() as u64)
    }

    async fn sleep_ms(&mut self, ms: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }

    async fn random_u64(&mut self) -> wasmtime::Result<u64> {
        Ok(rand::random())
    }
}
