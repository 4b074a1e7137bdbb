//! HTTP client for the Azul dispatcher: the calls the original azul-backup makes, with
//! request timeouts, retries (exponential backoff with jitter, transport errors, 5xx and 429
//! only) and request bodies rebuilt for every attempt.

mod error;
pub mod multipart;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use reqwest::{Response, StatusCode};
use serde::Deserialize;

pub use error::DispatcherError;

use crate::avro::{Model, StreamRef};

/// The `info` part of a fetch response.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct FetchInfo {
    #[serde(default)]
    pub filtered: u32,
    #[serde(default)]
    pub fetched: u32,
    #[serde(default)]
    pub ready: bool,
    #[serde(default)]
    pub paused: bool,
}

/// One passive fetch of a consumer.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub consumer: String,
    pub version: String,
    pub model: Model,
    pub source: Option<String>,
    pub action: Option<String>,
    pub count: u32,
    pub deadline_secs: u32,
    pub deployment_key: String,
}

/// The dispatcher's answer to a POST of events.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PostEventsResult {
    pub total_ok: u32,
    pub total_failures: u32,
    /// `null` on the avro path.
    #[serde(default)]
    pub failures: Option<Vec<PostFailure>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PostFailure {
    #[serde(default)]
    pub event: serde_json::Value,
    #[serde(default)]
    pub error: String,
}

/// A request body that can be sent again: bytes, or a file reopened for each attempt.
#[derive(Debug, Clone)]
pub enum RequestBody {
    Bytes(Bytes),
    File(PathBuf),
}

impl RequestBody {
    async fn build(&self) -> Result<reqwest::Body, DispatcherError> {
        Ok(match self {
            RequestBody::Bytes(b) => reqwest::Body::from(b.clone()),
            RequestBody::File(path) => {
                let file = tokio::fs::File::open(path).await?;
                reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file))
            }
        })
    }
}

/// How persistently the client itself retries one call.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DispatcherClient {
    http: reqwest::Client,
    events_url: String,
    streams_url: String,
    retry: RetryPolicy,
}

impl DispatcherClient {
    /// `events_url`/`streams_url` are base URLs such as `http://dispatcher:8111`; `read_timeout`
    /// bounds the silence between bytes of any response.
    pub fn new(
        events_url: &str,
        streams_url: &str,
        read_timeout: Duration,
    ) -> Result<Self, DispatcherError> {
        crate::tls::install_default_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("azul-backup-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(read_timeout)
            .build()?;
        Ok(DispatcherClient {
            http,
            events_url: events_url.trim_end_matches('/').to_string(),
            streams_url: streams_url.trim_end_matches('/').to_string(),
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Run `call` until it succeeds, fails for good, or runs out of attempts.
    async fn retrying<T, F, Fut>(&self, what: &str, call: F) -> Result<T, DispatcherError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DispatcherError>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.attempts.saturating_sub(1) as usize)
            .with_jitter();
        call.retry(backoff)
            .when(DispatcherError::retryable)
            .notify(|e, after| tracing::warn!("{what}: {e}; retrying in {after:?}"))
            .await
    }

    fn stream_url(&self, s: &StreamRef) -> String {
        format!(
            "{}/api/v3/stream/{}/{}/{}",
            self.streams_url, s.source, s.label, s.sha256
        )
    }

    /// `GET /api/v2/event/{model}/passive` with avro bulk output and historic offsets.
    ///
    /// Not retried here: the dispatcher commits the offset when it answers, so a response lost
    /// in flight cannot be asked for again; the caller decides what to do next.
    pub async fn fetch_events(
        &self,
        req: &FetchRequest,
    ) -> Result<(FetchInfo, Bytes), DispatcherError> {
        let url = format!("{}/api/v2/event/{}/passive", self.events_url, req.model);
        let mut query: Vec<(&str, String)> = vec![
            ("name", req.consumer.clone()),
            ("version", req.version.clone()),
            ("deployment_key", req.deployment_key.clone()),
            ("deadline", req.deadline_secs.to_string()),
            ("count", req.count.to_string()),
            ("avro-format", "true".into()),
            ("r-historic", "true".into()),
        ];
        if let Some(source) = &req.source {
            query.push(("r-source", source.clone()));
        }
        if let Some(action) = &req.action {
            query.push(("r-action", action.clone()));
        }
        // The long poll may legitimately take `deadline` seconds.
        let timeout = Duration::from_secs(u64::from(req.deadline_secs) + 60);
        let resp = self
            .http
            .get(url)
            .query(&query)
            .timeout(timeout)
            .send()
            .await?;
        let resp = check_status(resp, "events").await?;
        multipart::read_fetch_response(resp).await
    }

    /// Open a stream for download; 404 is [`DispatcherError::NotFound`].
    pub async fn open_stream(&self, s: &StreamRef) -> Result<Response, DispatcherError> {
        let what = format!("stream {}/{}/{}", s.source, s.label, s.sha256);
        self.retrying(&what, || async {
            let resp = self.http.get(self.stream_url(s)).send().await?;
            check_status(resp, &what).await
        })
        .await
    }

    /// HEAD a stream: present or not.
    pub async fn stream_exists(&self, s: &StreamRef) -> Result<bool, DispatcherError> {
        self.retrying("stream exists", || async {
            let resp = self.http.head(self.stream_url(s)).send().await?;
            match resp.status() {
                StatusCode::OK => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                status => Err(DispatcherError::from_status(
                    status.as_u16(),
                    String::new(),
                    "stream exists",
                )),
            }
        })
        .await
    }

    /// Upload a stream with `skip-identify` and `expected-sha256` (the dispatcher verifies it).
    pub async fn post_stream(
        &self,
        s: &StreamRef,
        body: &RequestBody,
    ) -> Result<(), DispatcherError> {
        let url = format!(
            "{}/api/v3/stream/{}/{}",
            self.streams_url, s.source, s.label
        );
        self.retrying("stream upload", || async {
            let resp = self
                .http
                .post(&url)
                .query(&[
                    ("skip-identify", "true"),
                    ("expected-sha256", s.sha256.as_str()),
                ])
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body.build().await?)
                .send()
                .await?;
            check_status(resp, "stream upload").await.map(|_| ())
        })
        .await
    }

    /// Publish an avro bulk the way the original restore does (`sync`, `pause_plugins`).
    pub async fn post_events(
        &self,
        model: Model,
        bulk: &RequestBody,
    ) -> Result<PostEventsResult, DispatcherError> {
        let url = format!("{}/api/v2/event", self.events_url);
        self.retrying("events upload", || async {
            let resp = self
                .http
                .post(&url)
                .query(&[
                    ("avro-format", "true"),
                    ("include_ok", "false"),
                    ("model", model.as_str()),
                    ("pause_plugins", "true"),
                    ("sync", "true"),
                ])
                .header(reqwest::header::CONTENT_TYPE, "application/avro")
                .body(bulk.build().await?)
                .send()
                .await?;
            let bytes = check_status(resp, "events upload").await?.bytes().await?;
            serde_json::from_slice(&bytes)
                .map_err(|e| DispatcherError::Malformed(format!("post events response: {e}")))
        })
        .await
    }
}

/// Map non-2xx statuses to typed errors, keeping the body for the operator.
async fn check_status(resp: Response, what: &str) -> Result<Response, DispatcherError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    Err(DispatcherError::from_status(status.as_u16(), body, what))
}

#[cfg(test)]
mod multipart_tests;
#[cfg(test)]
mod tests;
