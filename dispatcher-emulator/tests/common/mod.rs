//! Shared helpers: a served emulator, an HTTP client, strict multipart parsing, and
//! synthetic events.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;

use azul_backup::avro::{
    Model, encode_bulk_from_raw,
    synthetic::{SyntheticBinary, SyntheticStream, binary_event},
};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig, Running, canonical_key};

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

    pub fn keys(&self, model: Model) -> Vec<String> {
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

/// A valid binary event: datastreams follow the action's rules. `label` tells events apart:
/// the entity's sha256 is derived from it, and it is sent as the client's `kafka_key` (which
/// the dispatcher replaces).
pub fn binary(source: &str, action: &str, label: &str, ts: i64) -> Vec<u8> {
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
    binary_with(source, action, label, ts, streams)
}

pub fn binary_with(
    source: &str,
    action: &str,
    label: &str,
    ts: i64,
    streams: Vec<SyntheticStream>,
) -> Vec<u8> {
    binary_event(&SyntheticBinary {
        source: source.into(),
        action: action.into(),
        author: "tester".into(),
        kafka_key: label.into(),
        timestamp_micros: ts,
        sha256: sha256_hex(label.as_bytes()),
        streams,
    })
    .expect("encode synthetic binary")
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(data))
}

/// `n` valid `testing` sourced events labelled `k0..k<n>`.
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

/// The key the dispatcher gives a binary event.
pub fn key(raw: &[u8]) -> String {
    canonical_key(Model::Binary, raw).expect("a binary event with a path")
}

/// The keys the dispatcher gives binary events, in order.
pub fn keys(raws: &[Vec<u8>]) -> Vec<String> {
    raws.iter().map(|raw| key(raw)).collect()
}

/// The bulk a fetch of every held `model` event returns.
pub fn held_bulk(emulator: &Emulator, model: Model) -> Vec<u8> {
    encode_bulk_from_raw(emulator.raw_events(model).iter().map(Vec::as_slice))
}

/// Azul's public reference data (`AZUL_REFERENCE_DIR`, default `<workspace>/../shared/
/// azul-reference`). Absent, the test is skipped loudly, or fails when `CI` is set.
pub fn reference_dir(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("AZUL_REFERENCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/azul-reference")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: Azul reference data not found at {}", dir.display());
    }
    eprintln!(
        "SKIPPED {test}: Azul reference data not found at {} (set AZUL_REFERENCE_DIR)",
        dir.display()
    );
    None
}

/// `POST /api/v2/event` with a JSON body.
pub async fn post_json(s: &Served, query: &[(&str, &str)], body: String) -> reqwest::Response {
    s.client
        .post(s.url("/api/v2/event"))
        .query(query)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST events")
}

/// A JSON body as the dispatcher parses it.
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&response.text().await.unwrap()).expect("a JSON body")
}
