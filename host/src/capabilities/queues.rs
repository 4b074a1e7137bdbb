//! `queues`: named multi-producer multi-consumer queues shared by every worker of a run.
//! A resource handle cannot move between Stores, so the host keeps the channel in a
//! registry and mints one handle per Store.

use std::collections::HashMap;
use std::sync::Mutex;

use wasmtime::component::Resource;

use super::{HostState, wit_error};
use crate::runtime::bindings::{
    queues,
    types::{Error as WitError, ErrorKind},
};

#[derive(Clone)]
pub struct QueueHandle {
    name: String,
    tx: async_channel::Sender<Vec<u8>>,
    rx: async_channel::Receiver<Vec<u8>>,
}

#[derive(Default)]
pub struct QueueRegistry {
    queues: Mutex<HashMap<String, QueueHandle>>,
}

impl QueueRegistry {
    pub fn open(&self, name: &str, capacity: u32) -> QueueHandle {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues
            .entry(name.to_string())
            .or_insert_with(|| {
                let (tx, rx) = async_channel::bounded(capacity.max(1) as usize);
                QueueHandle {
                    name: name.to_string(),
                    tx,
                    rx,
                }
            })
            .clone()
    }
}

impl HostState {
    /// `azul_backup_queue_depth{queue}`.
    fn gauge_queue(&self, queue: &QueueHandle) {
        if let Some(ops) = self.ops() {
            let depth = i64::try_from(queue.tx.len()).unwrap_or(i64::MAX);
            ops.queue_depth.with_label_values(&[&queue.name]).set(depth);
        }
    }
}

impl queues::HostQueue for HostState {
    async fn send(
        &mut self,
        this: Resource<QueueHandle>,
        message: Vec<u8>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let queue = self.table.get(&this)?.clone(); // no table borrow across the await
        let sent = queue.tx.send(message).await;
        self.gauge_queue(&queue);
        Ok(sent.map_err(|_| wit_error(ErrorKind::Closed, "queue is closed", false)))
    }

    async fn recv(&mut self, this: Resource<QueueHandle>) -> wasmtime::Result<Option<Vec<u8>>> {
        let queue = self.table.get(&this)?.clone();
        let message = queue.rx.recv().await.ok();
        self.gauge_queue(&queue);
        Ok(message)
    }

    async fn close(&mut self, this: Resource<QueueHandle>) -> wasmtime::Result<()> {
        self.table.get(&this)?.tx.close();
        Ok(())
    }

    async fn len(&mut self, this: Resource<QueueHandle>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&this)?.rx.len() as u32)
    }

    async fn drop(&mut self, this: Resource<QueueHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl queues::Host for HostState {
    async fn open(
        &mut self,
        name: String,
        capacity: u32,
    ) -> wasmtime::Result<Resource<QueueHandle>> {
        let handle = self.run.queues.open(&name, capacity);
        Ok(self.table.push(handle)?)
    }
}
