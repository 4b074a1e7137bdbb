//! Serving an emulator over HTTP, and stopping it.

use std::net::SocketAddr;

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{Emulator, routes};

impl Emulator {
    /// Serve the dispatcher's HTTP API (and the `/emulator/v1/` admin API) on `addr`; port 0
    /// picks a free port.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<Running> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopping) = watch::channel(false);
        let router = routes::router(self.clone(), stopping.clone());
        let mut stopped = stopping;
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        });
        Ok(Running {
            base_url: format!("http://{local_addr}"),
            local_addr,
            stop,
            task: Some(task),
        })
    }
}

/// A serving emulator; the server stops when this is dropped or shut down.
pub struct Running {
    /// e.g. `http://127.0.0.1:8111`, with no trailing slash.
    pub base_url: String,
    pub local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Stop accepting requests, answer waiting GETs with what they have, and wait for the end.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.send_replace(true);
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
