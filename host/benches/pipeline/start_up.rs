//! Benchmarks 5 and 5b: start-up, and swapping a running backup's component.

use super::*;

/// The `{:?}` duration logged after `prefix`.
fn logged(stderr: &str, prefix: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split(prefix).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_string()
}

pub(super) async fn start_up(s3: &S3, rows: &mut Vec<Row>) {
    let state = tempfile::tempdir().unwrap();
    let cache = state.path().join("wasm-cache");
    let mut runs = Vec::new();
    for _ in 0..2 {
        // A fresh emulator each time: its first consumer group appears with the first fetch.
        let (emulator, server, _) = emulator_with(&[1024], 0).await;
        let env = env(s3, &server.base_url, &state.path().join("backup"))
            .with("BK__WASM_CACHE_DIR", cache.display());
        let started = Instant::now();
        let running = RunningBackup::start(&["backup", "--until-idle"], &env);
        while emulator.stats().consumer_groups.is_empty() && started.elapsed() < RUN_LIMIT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let first_fetch = started.elapsed();
        let finished = running.finish(RUN_LIMIT).await;
        finished.assert_success();
        runs.push((
            logged(&finished.stderr, "component loaded in "),
            first_fetch,
        ));
        server.shutdown().await.ok();
    }
    rows.push(Row {
        name: "5. start-up",
        ours: format!(
            "component load: compiled {}, cached {}",
            runs[0].0, runs[1].0
        ),
        reference: format!(
            "start to first fetch: {:.0?} compiling, {:.0?} cached",
            runs[0].1, runs[1].1
        ),
        ratio: None,
        target: "(figures)",
        met: None,
    });
}

/// How long a running backup takes to change its component: from SIGHUP (the file already
/// replaced) to the "component swapped" line, and the old component's drain within that.
/// First to another build (compiled while the old one runs), then back (from the cache).
pub(super) async fn swap(s3: &S3, rows: &mut Vec<Row>) {
    let (emulator, server, _) = emulator_with(&[1024], scaled(20_000)).await;
    let state = tempfile::tempdir().unwrap();
    let component = state.path().join("guest_backup.wasm");
    let plain = std::fs::read(common::component("guest_backup.wasm")).unwrap();
    let variant = std::fs::read(common::component("guest_backup_swap_variant.wasm")).unwrap();
    std::fs::write(&component, &plain).unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"))
        .with("BK__COMPONENT_WATCH_INTERVAL_MS", 0)
        .with(
            "BK__WASM_CACHE_DIR",
            state.path().join("wasm-cache").display(),
        );
    let running = RunningBackup::start(
        &["backup", "--component", &component.display().to_string()],
        &env,
    );
    let started = Instant::now();
    while emulator.stats().consumer_groups.is_empty() && started.elapsed() < RUN_LIMIT {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut took = Vec::new();
    for (n, bytes) in [&variant, &plain].into_iter().enumerate() {
        std::fs::write(&component, bytes).unwrap();
        let asked = Instant::now();
        running.signal("HUP");
        while running.stderr().matches("component swapped").count() <= n {
            assert!(
                asked.elapsed() < RUN_LIMIT,
                "no swap:\n{}",
                running.stderr()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        took.push(asked.elapsed());
    }
    running.signal("TERM");
    let finished = running.finish(RUN_LIMIT).await;
    finished.assert_success();
    let drained: Vec<String> = finished
        .stderr
        .split("the old one drained in ")
        .skip(1)
        .filter_map(|rest| rest.split(';').next())
        .map(str::to_string)
        .collect();
    rows.push(Row {
        name: "5b. swap (SIGHUP to new component running)",
        ours: format!(
            "to another build {:.0?} (compiling it), back {:.0?} (cached)",
            took[0], took[1]
        ),
        reference: format!("old component drained in {}", drained.join(" and ")),
        ratio: None,
        target: "(figures)",
        met: None,
    });
    server.shutdown().await.ok();
}
