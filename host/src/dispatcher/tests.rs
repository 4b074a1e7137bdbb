//! Client behaviour against a scripted server: what is retried, that bodies are sent whole
//! on every attempt, and how statuses become typed errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{Router, body::Bytes as AxumBytes, extract::State, http::StatusCode, routing::any};

use super::*;

/// Answers each request with the next scripted status (then 200), recording request bodies.
#[derive(Clone, Default)]
struct Script {
    statuses: Arc<Mutex<Vec<u16>>>,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

async fn answer(State(script): State<Script>, body: AxumBytes) -> (StatusCode, String) {
    script.bodies.lock().unwrap().push(body.to_vec());
    let next = {
        let mut statuses = script.statuses.lock().unwrap();
        if statuses.is_empty() {
            200
        } else {
            statuses.remove(0)
        }
    };
    let reply = match next {
        200 => {
            r#"{"total_ok":2,"total_failures":0,"failures":null,"data":{"sha256":"x"}}"#.to_string()
        }
        s => format!(
            r#"{{"status":"{s}","title":"scripted","detail":"scripted","error_enum":"ErrorStringEnumUnset"}}"#
        ),
    };
    (StatusCode::from_u16(next).unwrap(), reply)
}

async fn serve(statuses: &[u16]) -> (DispatcherClient, Script) {
    let script = Script {
        statuses: Arc::new(Mutex::new(statuses.to_vec())),
        ..Default::default()
    };
    let app = Router::new()
        .fallback(any(answer))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let policy = RetryPolicy {
        attempts: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    let client = DispatcherClient::new(&url, &url, Duration::from_secs(5))
        .unwrap()
        .with_retry(policy);
    (client, script)
}

fn stream() -> StreamRef {
    StreamRef {
        source: "testing".into(),
        label: "content".into(),
        sha256: "ab".repeat(32),
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_the_whole_body_each_time() {
    let (client, script) = serve(&[503, 500]).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(file.path(), &content).unwrap();
    client
        .post_stream(&stream(), &RequestBody::File(file.path().to_path_buf()))
        .await
        .unwrap();
    let bodies = script.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3, "two failures, then success");
    assert!(
        bodies.iter().all(|b| *b == content),
        "every attempt carries the whole body"
    );
}

#[tokio::test]
async fn client_errors_and_partial_publishes_are_not_retried() {
    let (client, script) = serve(&[422]).await;
    let err = client
        .post_events(
            Model::Binary,
            &RequestBody::Bytes(Bytes::from_static(b"\x0c\x00")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, DispatcherError::Rejected { status: 422, .. }),
        "{err}"
    );
    assert_eq!(script.bodies.lock().unwrap().len(), 1);

    let (client, script) = serve(&[425]).await;
    let err = client
        .post_events(
            Model::Binary,
            &RequestBody::Bytes(Bytes::from_static(b"\x0c\x00")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, DispatcherError::Filtered(_)), "{err}");
    assert_eq!(script.bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retries_give_up_after_the_configured_attempts() {
    let (client, script) = serve(&[503, 503, 503, 503]).await;
    let err = client.stream_exists(&stream()).await.unwrap_err();
    assert!(
        matches!(err, DispatcherError::Server { status: 503, .. }),
        "{err}"
    );
    assert!(err.retryable());
    assert_eq!(script.bodies.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn fetches_are_never_retried() {
    // The dispatcher commits offsets when it answers: a repeated fetch is a different batch.
    let (client, script) = serve(&[503]).await;
    let request = FetchRequest {
        consumer: "c".into(),
        version: "3.0.0".into(),
        model: Model::Binary,
        source: Some("testing".into()),
        action: Some("sourced".into()),
        count: 10,
        deadline_secs: 1,
        deployment_key: "recovery".into(),
    };
    let err = client.fetch_events(&request).await.unwrap_err();
    assert!(err.retryable(), "the caller may try again: {err}");
    assert_eq!(script.bodies.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn unreachable_dispatcher_is_transient() {
    let client = DispatcherClient::new(
        "http://127.0.0.1:1",
        "http://127.0.0.1:1",
        Duration::from_secs(1),
    )
    .unwrap()
    .with_retry(RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    });
    let err = client.stream_exists(&stream()).await.unwrap_err();
    assert!(
        matches!(err, DispatcherError::Transport(_)) && err.retryable(),
        "{err}"
    );
}

/// A dispatcher that accepts connections, sends `prefix` (nothing, or the start of an answer)
/// and then stays silent forever.
async fn silent_after(prefix: &'static [u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            // The request (headers only: these tests send no body), then the prefix.
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(prefix).await;
            held.push(socket);
        }
    });
    url
}

fn impatient(url: &str) -> DispatcherClient {
    let policy = RetryPolicy {
        attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    DispatcherClient::new(url, url, Duration::from_millis(300))
        .unwrap()
        .with_retry(policy)
}

#[tokio::test]
async fn a_dispatcher_that_never_answers_times_out_as_retryable() {
    let client = impatient(&silent_after(b"").await);
    let started = std::time::Instant::now();
    let err = client.stream_exists(&stream()).await.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_download_that_stalls_mid_body_times_out() {
    use futures::StreamExt;
    let url = silent_after(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc").await;
    let response = impatient(&url).open_stream(&stream()).await.unwrap();
    let started = std::time::Instant::now();
    let mut body = response.bytes_stream();
    let mut failed = false;
    while let Some(chunk) = body.next().await {
        if chunk.is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the stalled body ends in an error");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A fetch answer that does not parse says how much of it arrived (the dispatcher moved the
/// consumer's offsets already, so the operator needs to tell a cut answer from a garbled one).
#[tokio::test]
async fn a_garbled_fetch_answer_says_how_much_arrived() {
    let url = silent_after(
        b"HTTP/1.1 200 OK\r\nContent-Type: multipart/form-data; boundary=x\r\n\
          Content-Length: 5\r\n\r\nhello",
    )
    .await;
    let request = FetchRequest {
        consumer: "c".into(),
        version: "1".into(),
        model: crate::avro::Model::Binary,
        source: None,
        action: None,
        count: 10,
        deadline_secs: 1,
        deployment_key: String::new(),
    };
    let err = impatient(&url).fetch_events(&request).await.unwrap_err();
    assert!(
        matches!(&err, DispatcherError::Malformed(m) if m.ends_with("(received 5 of 5 bytes)")),
        "{err}"
    );
}
