//! `tasks`: workers are new instances of the same component, each in its own Store on its
//! own tokio task. A trap ends that worker only and is reported through `join`.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use wasmtime::component::Resource;

use super::{HostState, wit_error};
use crate::runtime::bindings::{
    tasks,
    types::{Error as WitError, ErrorKind},
};

/// The worker's outcome, taken by the first `join`.
type Outcome = Arc<Mutex<Option<JoinHandle<Result<(), String>>>>>;

pub struct TaskHandle {
    join: Outcome,
    cancelled: Arc<AtomicBool>,
    role: String,
}

impl TaskHandle {
    pub fn new(
        role: String,
        join: JoinHandle<Result<(), String>>,
        cancelled: Arc<AtomicBool>,
    ) -> Self {
        TaskHandle {
            join: Arc::new(Mutex::new(Some(join))),
            cancelled,
            role,
        }
    }
}

impl tasks::HostTask for HostState {
    async fn join(&mut self, this: Resource<TaskHandle>) -> wasmtime::Result<Result<(), String>> {
        let (join, role) = {
            let t = self.table.get(&this)?;
            (t.join.clone(), t.role.clone())
        };
        let Some(handle) = join.lock().await.take() else {
            return Ok(Err(format!("worker {role} was already joined")));
        };
        Ok(match handle.await {
            Ok(result) => result,
            Err(e) => Err(format!("worker {role} panicked or was aborted: {e}")),
        })
    }

    async fn cancel(&mut self, this: Resource<TaskHandle>) -> wasmtime::Result<()> {
        self.table
            .get(&this)?
            .cancelled
            .store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn drop(&mut self, this: Resource<TaskHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl tasks::Host for HostState {
    async fn spawn(
        &mut self,
        role: String,
        args: Vec<u8>,
    ) -> wasmtime::Result<Result<Resource<TaskHandle>, WitError>> {
        match crate::runtime::spawn_worker(self.run.clone(), role.clone(), args) {
            Ok(handle) => Ok(Ok(self.table.push(handle)?)),
            Err(e) => Ok(Err(wit_error(
                ErrorKind::InvalidInput,
                format!("cannot start worker {role}: {e:#}"),
                false,
            ))),
        }
    }

    async fn cancelled(&mut self) -> wasmtime::Result<bool> {
        Ok(self.is_cancelled() || self.run.shutdown.rapid())
    }

    async fn shutdown_requested(&mut self) -> wasmtime::Result<bool> {
        Ok(self.run.shutdown.requested())
    }

    async fn rapid_shutdown(&mut self) -> wasmtime::Result<bool> {
        Ok(self.run.shutdown.rapid())
    }

    async fn request_stop(&mut self, reason: String) -> wasmtime::Result<()> {
        tracing::error!(
            component = self.run.component_name,
            "stopping the run: {reason}"
        );
        self.run.shutdown.fail(&reason);
        Ok(())
    }
}
