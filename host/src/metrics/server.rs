//! `GET /metrics` in the Prometheus text format, for the life of a run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{MetricsError, RunMetrics};

/// How long [`MetricsServer::stop`] lets a scrape in progress finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A listening metrics endpoint. [`MetricsServer::stop`] (or dropping it) closes the port,
/// so the next run in the process (the demo's restore after its backup) can bind it again.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    scrapes: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Endpoint {
    metrics: Arc<RunMetrics>,
    scrapes: Arc<AtomicU64>,
}

impl MetricsServer {
    /// Binds `addr` now, so a taken port fails the run before it starts.
    pub async fn start(addr: SocketAddr, metrics: Arc<RunMetrics>) -> Result<Self, MetricsError> {
        let bind_error = |source| MetricsError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let scrapes = Arc::new(AtomicU64::new(0));
        let endpoint = Endpoint {
            metrics,
            scrapes: scrapes.clone(),
        };
        let app = Router::new()
            .route("/metrics", get(scrape))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readiness))
            .with_state(endpoint);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Graceful: idle keep-alive connections are closed too, not left serving.
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::error!("metrics server stopped: {e}");
            }
        });
        tracing::info!(%addr, "serving Prometheus metrics on /metrics");
        Ok(MetricsServer {
            addr,
            scrapes,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address (the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Scrapes served so far.
    pub fn scrapes(&self) -> u64 {
        self.scrapes.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets a scrape in progress finish, and closes the port.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(STOP_GRACE, &mut self.task).await;
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn scrape(State(endpoint): State<Endpoint>) -> Response {
    endpoint.scrapes.fetch_add(1, Ordering::Relaxed);
    match endpoint.metrics.encode() {
        Ok(body) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /readyz`: 200 once the run is set up and working, 503 while it starts or stops.
async fn readiness(State(endpoint): State<Endpoint>) -> (StatusCode, &'static str) {
    match endpoint.metrics.is_ready() {
        true => (StatusCode::OK, "ready\n"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
    }
}
