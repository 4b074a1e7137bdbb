//! A fault-injecting HTTP proxy in front of the S3 server: a seeded share of the requests gets
//! an S3 error (500 InternalError, 503 SlowDown), a connection cut before the answer — before
//! or after the server applied the request — a stall longer than the client's response timeout,
//! or an answer whose body is cut short. The rest is forwarded unchanged (the `Host` header
//! included, so S3 signatures still match). A cut connection gets no answer at all (hyper
//! closes it when the handler fails), as when a network path breaks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderName, Request, Response, header};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinHandle;

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    InternalError,
    SlowDown,
    /// The connection is cut before the request reaches the server.
    ResetBefore,
    /// The server applies the request, then the connection is cut before the answer.
    ResetAfter,
    /// No answer until well past the client's response timeout.
    Stall,
    /// The answer's body stops half-way (the headers promised more).
    Truncated,
}

const FAULTS: [Fault; 6] = [
    Fault::InternalError,
    Fault::SlowDown,
    Fault::ResetBefore,
    Fault::ResetAfter,
    Fault::Stall,
    Fault::Truncated,
];

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rng: Mutex<StdRng>,
    rate: f64,
    stall: Duration,
    requests: Mutex<u64>,
    injected: Mutex<BTreeMap<Fault, u64>>,
}

pub struct ChaosProxy {
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl ChaosProxy {
    /// Faults on `rate` of the requests, chosen by a generator seeded with `seed`; a stall
    /// lasts `stall`.
    pub async fn start(upstream: &str, rate: f64, seed: u64, stall: Duration) -> Self {
        azul_backup::tls::install_default_provider();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("build the proxy's client"),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rate,
            stall,
            requests: Mutex::new(0),
            injected: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the chaos proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let serving = shared.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        forward(shared.clone(), request.map(Body::new))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ChaosProxy {
            url,
            shared,
            server,
        }
    }

    /// Requests seen so far, and the faults injected by kind.
    pub fn figures(&self) -> (u64, BTreeMap<Fault, u64>) {
        (
            *self.shared.requests.lock().unwrap(),
            self.shared.injected.lock().unwrap().clone(),
        )
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

const NOT_FORWARDED: [HeaderName; 3] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::CONTENT_LENGTH,
];

fn s3_error(status: u16, code: &str) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>injected by the chaos proxy</Message></Error>"
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/xml")
        .body(Body::from(body))
        .expect("a valid response")
}

/// The connection closes without an answer.
fn cut() -> Result<Response<Body>, std::io::Error> {
    Err(std::io::Error::other("connection cut by the chaos proxy"))
}

async fn forward(
    shared: Arc<Shared>,
    request: Request<Body>,
) -> Result<Response<Body>, std::io::Error> {
    *shared.requests.lock().unwrap() += 1;
    let fault = {
        let mut rng = shared.rng.lock().unwrap();
        rng.random_bool(shared.rate)
            .then(|| FAULTS[rng.random_range(0..FAULTS.len())])
    };
    if let Some(fault) = fault {
        *shared.injected.lock().unwrap().entry(fault).or_default() += 1;
    }
    match fault {
        Some(Fault::InternalError) => return Ok(s3_error(500, "InternalError")),
        Some(Fault::SlowDown) => return Ok(s3_error(503, "SlowDown")),
        Some(Fault::ResetBefore) => return cut(),
        Some(Fault::Stall) => {
            tokio::time::sleep(shared.stall).await;
            return cut();
        }
        _ => {}
    }
    let method = request.method().clone();
    let head = method == axum::http::Method::HEAD;
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        return Ok(s3_error(400, "IncompleteBody"));
    };
    // The length stays: S3 clients sign it, and the body is forwarded whole.
    let mut headers = parts.headers;
    for name in [header::CONNECTION, header::TRANSFER_ENCODING] {
        headers.remove(name);
    }
    let upstream = shared
        .client
        .request(method, format!("{}{path_and_query}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(upstream) = upstream else {
        return Ok(s3_error(502, "BadGateway"));
    };
    let status = upstream.status();
    let mut response = Response::builder().status(status);
    for (name, value) in upstream.headers() {
        // A HEAD answer's length is the object's, not the (empty) body's.
        if !NOT_FORWARDED.contains(name) || head && name == header::CONTENT_LENGTH {
            response = response.header(name, value);
        }
    }
    let Ok(body) = upstream.bytes().await else {
        return Ok(s3_error(502, "BadGateway"));
    };
    if fault == Some(Fault::ResetAfter) {
        return cut();
    }
    if head {
        return Ok(response.body(Body::empty()).expect("a valid response"));
    }
    Ok(match fault {
        Some(Fault::Truncated) if body.len() > 1 => {
            let half = body.slice(..body.len() / 2);
            let stream = futures::stream::iter([
                Ok::<Bytes, std::io::Error>(half),
                Err(std::io::Error::other("answer cut short by the chaos proxy")),
            ]);
            response
                .header(header::CONTENT_LENGTH, body.len())
                .body(Body::from_stream(stream))
                .expect("a valid response")
        }
        _ => response
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("a valid response"),
    })
}
