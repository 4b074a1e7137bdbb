//! A recording HTTP proxy put between `azul-backup` and a server (the dispatcher emulator, or
//! the S3 server). It forwards every request unchanged (the `Host` header included, so S3
//! signatures still match) and records, in arrival order, which run sent it, what it was,
//! a snapshot of the test's choosing taken when it arrived (e.g. what the destination
//! dispatcher held at that instant) and the status it got. It can also answer some requests
//! itself, with an error, instead of forwarding them.
//!
//! The emulator keeps streams in a map (a re-posted stream leaves no trace) and does not
//! expose the order of arrival across topics and streams; this log does. A request the
//! proxy has fully received is still completed upstream if its client dies meanwhile, as when
//! a dispatcher handles a request whose answer never reaches the client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderName, Request, Response, header};
use tokio::task::JoinHandle;

/// An error the proxy answers instead of forwarding: status, content type, body.
#[derive(Debug, Clone)]
pub struct Injected {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Injected {
    /// An S3 `InternalError` (HTTP 500), which clients retry.
    pub fn s3_internal_error() -> Self {
        Injected {
            status: 500,
            content_type: "application/xml",
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
                   <Message>injected by the test proxy</Message></Error>"
                .into(),
        }
    }
}

type Snapshot<S> = Arc<dyn Fn() -> S + Send + Sync>;
type Fault = Arc<dyn Fn(&str, &str) -> Option<Injected> + Send + Sync>;

/// One request that went through the proxy.
#[derive(Debug, Clone)]
pub struct Exchange<S> {
    /// Position in arrival order, from 0.
    pub index: usize,
    /// The run tag current when it arrived (see [`Proxy::begin_run`]).
    pub run: usize,
    pub method: String,
    /// The path, percent-decoded (S3 object keys as written).
    pub path: String,
    pub query: String,
    /// Taken when the request arrived, before it was forwarded.
    pub snapshot: S,
    /// The status answered; `None` while in flight or when the client went away first.
    pub status: Option<u16>,
    /// Answered by the proxy itself (an injected fault).
    pub injected: bool,
}

impl<S> Exchange<S> {
    pub fn is(&self, method: &str, path_prefix: &str) -> bool {
        self.method == method && self.path.starts_with(path_prefix)
    }

    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A query parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

struct Shared<S> {
    upstream: String,
    client: reqwest::Client,
    log: Mutex<Vec<Exchange<S>>>,
    run: AtomicUsize,
    snapshot: Snapshot<S>,
    fault: Fault,
}

pub struct Proxy<S> {
    pub url: String,
    shared: Arc<Shared<S>>,
    server: JoinHandle<()>,
}

impl Proxy<()> {
    /// A proxy that records without snapshots.
    pub async fn plain(upstream: &str) -> Self {
        Proxy::start(upstream, || (), |_, _| None).await
    }

    /// A proxy that answers the error `fault(method, path)` returns instead of forwarding
    /// (the path percent-decoded: S3 object keys as written).
    pub async fn faulting(
        upstream: &str,
        fault: impl Fn(&str, &str) -> Option<Injected> + Send + Sync + 'static,
    ) -> Self {
        Proxy::start(upstream, || (), fault).await
    }
}

impl<S: Clone + Send + 'static> Proxy<S> {
    pub async fn start(
        upstream: &str,
        snapshot: impl Fn() -> S + Send + Sync + 'static,
        fault: impl Fn(&str, &str) -> Option<Injected> + Send + Sync + 'static,
    ) -> Self {
        azul_backup::tls::install_default_provider();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("build the proxy's client"),
            log: Mutex::new(Vec::new()),
            run: AtomicUsize::new(1),
            snapshot: Arc::new(snapshot),
            fault: Arc::new(fault),
        });
        let app = Router::new()
            .fallback(forward::<S>)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("proxy server");
        });
        Proxy {
            url,
            shared,
            server,
        }
    }

    /// Tag the requests that arrive from now on with `run`.
    pub fn begin_run(&self, run: usize) {
        self.shared.run.store(run, Ordering::SeqCst);
    }

    /// Every request so far, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange<S>> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests so far that match `method` and start with `path_prefix`.
    pub fn matching(&self, method: &str, path_prefix: &str) -> Vec<Exchange<S>> {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.is(method, path_prefix))
            .cloned()
            .collect()
    }
}

impl<S> Drop for Proxy<S> {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Hop-by-hop headers, and the length the HTTP clients set again themselves.
const NOT_FORWARDED: [HeaderName; 3] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
];

fn error_response(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("a valid response")
}

async fn forward<S: Clone + Send + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    request: Request<Body>,
) -> Response<Body> {
    let method = request.method().clone();
    let raw_path = request.uri().path().to_string();
    let path = percent_decoded(&raw_path);
    let query = request.uri().query().unwrap_or_default().to_string();
    let injected = (shared.fault)(method.as_str(), &path);
    let index = {
        let mut log = shared.log.lock().unwrap();
        let index = log.len();
        log.push(Exchange {
            index,
            run: shared.run.load(Ordering::SeqCst),
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            snapshot: (shared.snapshot)(),
            status: None,
            injected: injected.is_some(),
        });
        index
    };
    let answered = |status: u16| shared.log.lock().unwrap()[index].status = Some(status);
    if let Some(fault) = injected {
        answered(fault.status);
        return error_response(fault.status, fault.content_type, fault.body);
    }
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => return error_response(400, "text/plain", format!("proxy: reading body: {e}")),
    };
    let mut headers = parts.headers;
    for name in &NOT_FORWARDED {
        headers.remove(name);
    }
    let url = match query.as_str() {
        "" => format!("{}{raw_path}", shared.upstream),
        q => format!("{}{raw_path}?{q}", shared.upstream),
    };
    let upstream = shared
        .client
        .request(method, url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match upstream {
        Ok(response) => response,
        Err(e) => return error_response(502, "text/plain", format!("proxy: upstream: {e}")),
    };
    let status = upstream.status();
    let mut response = Response::builder().status(status);
    for (name, value) in upstream.headers() {
        if !NOT_FORWARDED.contains(name) {
            response = response.header(name, value);
        }
    }
    let body = match upstream.bytes().await {
        Ok(body) => body,
        Err(e) => return error_response(502, "text/plain", format!("proxy: upstream body: {e}")),
    };
    answered(status.as_u16());
    response
        .body(Body::from(body))
        .unwrap_or_else(|_| error_response(502, "text/plain", "proxy: bad response".into()))
}

/// `%XX` sequences decoded (S3 clients encode `:` in keys holding timestamps).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
