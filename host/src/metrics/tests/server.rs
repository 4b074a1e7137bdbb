use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::metrics::{MetricsError, Monitoring, Stats};
use crate::run::Shutdown;
use crate::runtime::Kind;

/// A plain HTTP/1.1 GET; returns the whole response.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn local_any_port() -> Option<SocketAddr> {
    Some("127.0.0.1:0".parse().unwrap())
}

#[tokio::test]
async fn metrics_are_scraped_over_http() {
    let monitoring = Monitoring::start(local_any_port()).await.unwrap();
    let addr = monitoring.server.as_ref().unwrap().local_addr();
    assert_ne!(addr.port(), 0);
    let stats = Stats::exporting(monitoring.metrics.clone(), Kind::Backup);
    stats.add("samples", "events-ok", 12);

    let response = http_get(addr, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{response}"
    );
    assert!(
        response.contains("recovery_backup_stats{source=\"samples\",stat=\"events-ok\"} 12"),
        "{response}"
    );
    assert!(http_get(addr, "/other").await.starts_with("HTTP/1.1 404"));

    // An idle keep-alive connection (as Prometheus keeps) does not outlive the run.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    // Stopping frees the port for the next run in the process.
    monitoring.stop().await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest));
    assert!(closed.await.is_ok(), "keep-alive connection left open");
    let again = Monitoring::start(Some(addr)).await.unwrap();
    assert_eq!(again.server.as_ref().unwrap().local_addr(), addr);
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = Monitoring::start(Some(addr)).await.unwrap_err();
    assert!(matches!(err, MetricsError::Bind { addr: a, .. } if a == addr));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(err.to_string().contains("BK__METRICS_ADDR"), "{err}");
}

#[tokio::test]
async fn no_address_serves_nothing() {
    let monitoring = Monitoring::start(None).await.unwrap();
    assert!(monitoring.server.is_none());
}

#[tokio::test]
async fn a_finished_run_waits_for_one_more_scrape_only_when_scraped() {
    let monitoring = Monitoring::start(local_any_port()).await.unwrap();
    let addr = monitoring.server.as_ref().unwrap().local_addr();
    let shutdown = Shutdown::default();
    let within = Duration::from_secs(20);

    let started = Instant::now();
    monitoring.await_final_scrape(within, &shutdown).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "never scraped: no wait"
    );

    http_get(addr, "/metrics").await;
    let started = Instant::now();
    let scrape_later = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        http_get(addr, "/metrics").await
    };
    tokio::join!(
        monitoring.await_final_scrape(within, &shutdown),
        scrape_later
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    shutdown.request();
    let started = Instant::now();
    monitoring.await_final_scrape(within, &shutdown).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "operator stop: no wait"
    );
}
