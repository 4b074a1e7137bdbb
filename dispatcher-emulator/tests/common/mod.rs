//! Shared helpers: a served emulator, an HTTP client, strict multipart parsing, and
//! synthetic events.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;

use azul_backup::avro::synthetic::{SyntheticBinary, SyntheticStream, binary_event};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig, Running};

pub struct Served {
    pub emulator: Emulator,
    pub running: Running,
    pub client: reqwest::Client,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// `GET /api/v2/event/{model}/passive` with the given query.
    pub async fn get_events(&self, model: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/api/v2/event/{model}/passive")))
            .query(query)
            .send()
            .await
            .expect("GET events")
    }

    /// A GET the way the backup asks (avro, historic) for consumer `name`; `extra` adds to or
    /// replaces those parameters.
    pub async fn fetch(&self, model: &str, name: &str, extra: &[(&str, &str)]) -> Fetched {
        let defaults = [
            ("name", name),
            ("version", "3.0.0"),
            ("avro-format", "true"),
            ("r-historic", "true"),
            ("deadline", "1"),
        ];
        let mut query: Vec<(&str, &str)> = defaults
            .into_iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        query.extend_from_slice(extra);
        let response = self.get_events(model, &query).await;
        assert_eq!(response.status(), 200);
        Fetched::read(response).await
    }

    pub async fn post_events(&self, query: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url("/api/v2/event"))
            .query(query)
            .header("content-type", "application/avro")
            .body(body)
            .send()
            .await
            .expect("POST events")
    }
}

pub async fn serve(config: EmulatorConfig) -> Served {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = Emulator::new(config);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = emulator.serve(addr).await.expect("serve");
    let client = reqwest::Client::builder().build().expect("client");
    Served {
        emulator,
        running,
        client,
    }
}

/// Sources `testing` and `samples`, answering as soon as the logs run dry.
pub async fn serve_fast() -> Served {
    serve(EmulatorConfig::default().early_return(true)).await
}

/// A GET events response, checked against Go's multipart framing byte for byte.
pub struct Fetched {
    pub boundary: String,
    pub info: String,
    pub events: Vec<u8>,
}

impl Fetched {
    pub async fn read(response: reqwest::Response) -> Fetched {
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let body = response.bytes().await.unwrap().to_vec();
        Fetched::parse(&content_type, &body)
    }

    pub fn parse(content_type: &str, body: &[u8]) -> Fetched {
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("not multipart: {content_type}"));
        assert_eq!(boundary.len(), 60, "boundary {boundary}");
        assert!(
            boundary
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let head = |lead: &str, name: &str| {
            format!(
                "{lead}--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{name}.json\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
        };
        let info_head = head("", "info");
        let rest = body
            .strip_prefix(info_head.as_bytes())
            .expect("info part first");
        let events_head = head("\r\n", "events");
        let split = rest
            .windows(events_head.len())
            .position(|w| w == events_head.as_bytes())
            .expect("events part second");
        let info = String::from_utf8(rest[..split].to_vec()).unwrap();
        let tail = format!("\r\n--{boundary}--\r\n");
        let events = rest[split + events_head.len()..]
            .strip_suffix(tail.as_bytes())
            .expect("closing delimiter last");
        Fetched {
            boundary: boundary.to_string(),
            info,
            events: events.to_vec(),
        }
    }

    pub fn keys(&self, model: azul_backup::avro::Model) -> Vec<String> {
        azul_backup::avro::decode_bulk(model, &self.events)
            .expect("events part is an avro bulk")
            .into_iter()
            .map(|e| e.kafka_key)
            .collect()
    }
}

/// The exact JSON error body the dispatcher writes.
pub fn error_body(status: u16, title: &str, detail: &str) -> String {
    serde_json::json!({
        "status": status.to_string(),
        "title": title,
        "detail": detail,
        "error_enum": "ErrorStringEnumUnset",
    })
    .to_string()
}

/// Assert a JSON error response: status, headers and exact body.
pub async fn assert_error(response: reqwest::Response, status: u16, title: &str, detail: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body = response.text().await.unwrap();
    let want: serde_json::Value = serde_json::from_str(&error_body(status, title, detail)).unwrap();
    let got: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got, want, "body {body}");
    // Go writes the fields in struct order.
    assert!(
        body.starts_with(&format!(r#"{{"status":"{status}","title":"#)),
        "{body}"
    );
    assert!(
        body.ends_with(r#""error_enum":"ErrorStringEnumUnset"}"#),
        "{body}"
    );
}

/// A valid binary event: datastreams follow the action's rules.
pub fn binary(source: &str, action: &str, key: &str, ts: i64) -> Vec<u8> {
    let stream = |label: &str| SyntheticStream {
        label: label.into(),
        sha256: "ab".repeat(32),
        size: 3,
    };
    let streams = match action {
        "sourced" | "extracted" => vec![stream("content")],
        "augmented" => vec![stream("content"), stream("safe_png")],
        "mapped" => vec![stream("report")],
        _ => vec![],
    };
    binary_with(source, action, key, ts, streams)
}

pub fn binary_with(
    source: &str,
    action: &str,
    key: &str,
    ts: i64,
    streams: Vec<SyntheticStream>,
) -> Vec<u8> {
    binary_event(&SyntheticBinary {
        source: source.into(),
        action: action.into(),
        author: "tester".into(),
        kafka_key: key.into(),
        timestamp_micros: ts,
        sha256: "ab".repeat(32),
        streams,
    })
    .expect("encode synthetic binary")
}

/// `n` valid `testing` sourced events with keys `k0..k<n>`.
pub fn sourced(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            binary(
                "testing",
                "sourced",
                &format!("k{i}"),
                1_700_000_000_000_000 + i as i64,
            )
        })
        .collect()
}

pub fn keys(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("k{i}")).collect()
}
