//! HTTP client for the Azul dispatcher (the calls the original azul-backup makes).

mod multipart;

use std::time::Duration;

use bytes::Bytes;
use reqwest::{Response, StatusCode};
use serde::Deserialize;

use crate::avro::{Model, StreamRef};

/// Dispatcher failures, classified so policy code knows whether retrying can help.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error("not found: {0}")]
    NotFound(String),
    /// 425: every event was filtered out (e.g. aged off); nothing was published.
    #[error("dispatcher filtered every event (425): {0}")]
    Filtered(String),
    #[error("dispatcher rejected the request ({status}): {body}")]
    Rejected { status: u16, body: String },
    #[error("dispatcher failed ({status}): {body}")]
    Server { status: u16, body: String },
    #[error("dispatcher unreachable or timed out: {0}")]
    Transport(String),
    #[error("dispatcher response is malformed: {0}")]
    Malformed(String),
    #[error("local I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl DispatcherError {
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            DispatcherError::Server { .. } | DispatcherError::Transport(_)
        ) || matches!(self, DispatcherError::Rejected { status: 429, .. })
    }
}

impl From<reqwest::Error> for DispatcherError {
    fn from(e: reqwest::Error) -> Self {
        DispatcherError::Transport(e.to_string())
    }
}

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
    #[serde(default)]
    pub failures: Option<Vec<PostFailure>>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct PostFailure {
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone)]
pub struct DispatcherClient {
    http: reqwest::Client,
    events_url: String,
    streams_url: String,
}

impl DispatcherClient {
    /// `events_url`/`streams_url` are base URLs such as `http://dispatcher:8111`.
    pub fn new(
        events_url: &str,
        streams_url: &str,
        request_timeout: Duration,
    ) -> Result<Self, DispatcherError> {
        crate::tls::install_default_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("azul-backup-rs/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(request_timeout)
            .build()?;
        Ok(DispatcherClient {
            http,
            events_url: events_url.trim_end_matches('/').to_string(),
            streams_url: streams_url.trim_end_matches('/').to_string(),
        })
    }

    fn stream_url(&self, s: &StreamRef) -> String {
        format!(
            "{}/api/v3/stream/{}/{}/{}",
            self.streams_url, s.source, s.label, s.sha256
        )
    }

    /// `GET /api/v2/event/{model}/passive` with avro bulk output and historic offsets.
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
        let resp = self.http.get(self.stream_url(s)).send().await?;
        check_status(
            resp,
            &format!("stream {}/{}/{}", s.source, s.label, s.sha256),
        )
        .await
    }

    pub async fn stream_exists(&self, s: &StreamRef) -> Result<bool, DispatcherError> {
        let resp = self.http.head(self.stream_url(s)).send().await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => check_status(resp, "stream").await.map(|_| true),
        }
    }

    /// Upload a stream with `skip-identify` and `expected-sha256` (the dispatcher verifies it).
    pub async fn post_stream(
        &self,
        s: &StreamRef,
        body: reqwest::Body,
    ) -> Result<(), DispatcherError> {
        let url = format!(
            "{}/api/v3/stream/{}/{}",
            self.streams_url, s.source, s.label
        );
        let resp = self
            .http
            .post(url)
            .query(&[
                ("skip-identify", "true"),
                ("expected-sha256", s.sha256.as_str()),
            ])
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await?;
        check_status(resp, "stream upload").await.map(|_| ())
    }

    /// Publish an avro bulk the way the original restore does (`sync`, `pause_plugins`).
    pub async fn post_events(
        &self,
        model: Model,
        bulk: reqwest::Body,
    ) -> Result<PostEventsResult, DispatcherError> {
        let url = format!("{}/api/v2/event", self.events_url);
        let resp = self
            .http
            .post(url)
            .query(&[
                ("avro-format", "true"),
                ("include_ok", "false"),
                ("model", model.as_str()),
                ("pause_plugins", "true"),
                ("sync", "true"),
            ])
            .header(reqwest::header::CONTENT_TYPE, "application/avro")
            .body(bulk)
            .send()
            .await?;
        let resp = check_status(resp, "events upload").await?;
        let bytes = resp.bytes().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| DispatcherError::Malformed(format!("post events response: {e}")))
    }
}

/// Map non-2xx statuses to typed errors, keeping the body for the operator.
async fn check_status(resp: Response, what: &str) -> Result<Response, DispatcherError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.text().await.unwrap_or_default();
    Err(match status.as_u16() {
        404 => DispatcherError::NotFound(what.to_string()),
        425 => DispatcherError::Filtered(body),
        s if s >= 500 => DispatcherError::Server { status: s, body },
        s => DispatcherError::Rejected { status: s, body },
    })
}
