//! The `azul-dispatcher-emulator` command line, run as operators and `azul-backup demo` run it.

mod common;

use std::{process::Stdio, time::Duration};

use azul_dispatcher_emulator::inspect::Stats;
use common::reference_dir;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

const BINARY: &str = env!("CARGO_BIN_EXE_azul-dispatcher-emulator");

/// A running emulator process, killed when dropped.
struct Process {
    _child: Child,
    url: String,
}

/// Start the emulator and read its URL from the first line of stdout.
async fn start(args: &[&str]) -> Process {
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the emulator");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the emulator answers within a minute")
        .unwrap()
        .expect("a first line");
    let url = first
        .strip_prefix("AZUL_DISPATCHER_URL=")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    Process { _child: child, url }
}

async fn stats(url: &str) -> Stats {
    let text = reqwest::get(format!("{url}/emulator/v1/stats"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn held(stats: &Stats, suffix: &str) -> usize {
    stats
        .topics
        .iter()
        .filter(|(topic, _)| topic.ends_with(suffix))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn the_demo_invocation_still_works() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let p = start(&[
        "--sources",
        "samples,testing",
        "--early-return",
        "--events-per-action",
        "2",
    ])
    .await;
    let stats = stats(&p.url).await;
    assert_eq!(stats.topics["azul.test01.samples.binary.mapped"], 2);
    assert_eq!(stats.topics["azul.test01.testing.binary.enriched"], 2);
    assert_eq!(held(&stats, ".binary.sourced"), 4);
    assert_eq!(stats.topics["azul.test01.system.insert"], 5);
    assert_eq!(stats.topics["azul.test01.system.delete"], 2);
    assert!(stats.streams > 0);
}

#[tokio::test]
async fn synthetic_events_with_a_size_distribution() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let p = start(&[
        "--sources-list",
        "alpha,beta",
        "--synthetic",
        "25",
        "--seed",
        "3",
        "--stream-size-dist",
        "fixed:1K",
    ])
    .await;
    let stats = stats(&p.url).await;
    // Two rounds over the ten topics, then alpha's five.
    assert_eq!(held(&stats, ".binary.sourced"), 5);
    let binary: usize = stats
        .topics
        .iter()
        .filter(|(t, _)| t.contains(".binary."))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(binary, 25);
    assert_eq!(stats.topics["azul.test01.system.insert"], 2);
    assert_eq!(stats.topics["azul.test01.system.delete"], 1);
    assert_eq!(stats.stream_bytes, stats.streams as u64 * 1024);
}

#[tokio::test]
async fn a_sources_file_and_loaded_samples() {
    let Some(dir) = reference_dir("a_sources_file_and_loaded_samples") else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sources = dir.join("bedrock/testdata/sources/sources1.yaml");
    let samples = dir.join("azul-backup/testdata/data/samples");
    let load = |model: &str, file: &str| format!("{model}:{}", samples.join(file).display());
    let p = start(&[
        "--sources",
        sources.to_str().unwrap(),
        "--load",
        &load("binary", "samples-binary-sourced-100.avro.json"),
        "--load",
        &load("delete", "system-delete-default-2.avro.json"),
        "--max-events-per-fetch",
        "7",
        "--verify-sha256",
        "off",
    ])
    .await;
    let stats = stats(&p.url).await;
    // One topic per source and action for the file's seven sources.
    assert_eq!(
        stats
            .topics
            .keys()
            .filter(|t| t.contains(".binary."))
            .count(),
        35
    );
    assert_eq!(stats.topics["azul.test01.samples.binary.sourced"], 100);
    assert_eq!(stats.topics["azul.test01.system.delete"], 2);
    assert!(
        stats.streams >= 90,
        "placeholders for the referenced streams"
    );

    // Partial batches.
    let url = format!(
        "{}/api/v2/event/binary/passive?name=n&avro-format=true&r-historic=true&count=100&deadline=1",
        p.url
    );
    let response = reqwest::get(url).await.unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.bytes().await.unwrap();
    let fetched = common::Fetched::parse(&content_type, &body);
    assert!(fetched.info.contains(r#""fetched":7"#), "{}", fetched.info);
}

#[tokio::test]
async fn bad_command_lines_fail_with_a_reason() {
    let run = |args: Vec<String>| async move {
        Command::new(BINARY)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .await
            .unwrap()
    };
    let out = run(vec!["--load".into(), "bogus:/nowhere".into()]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MODEL:PATH"));
    let out = run(vec!["--stream-size-dist".into(), "gauss:1".into()]).await;
    assert!(!out.status.success());
    let out = run(vec!["--sources".into(), "/nowhere/sources.yaml".into()]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nowhere/sources.yaml"));

    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "sources:\n  testing:\n    expire_events_after: 7  days\n",
    )
    .unwrap();
    let out = run(vec!["--sources".into(), bad.display().to_string()]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("couldn't parse the expire_events_after")
    );
}

#[tokio::test]
async fn help_lists_every_option() {
    let out = Command::new(BINARY).arg("--help").output().await.unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--sources ",
        "--sources-list",
        "--synthetic",
        "--events-per-action",
        "--seed",
        "--stream-size-dist",
        "--load",
        "--stream-dir",
        "--max-events-per-fetch",
        "--verify-sha256",
        "--early-return",
        "AZUL_DISPATCHER_URL",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}
