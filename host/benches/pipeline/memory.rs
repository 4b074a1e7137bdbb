//! Benchmark 3: peak RSS of backup and restore, 1 MiB against 1 GiB.

use super::*;

/// Peak RSS (VmHWM, KiB) of a run, sampled until it exits.
async fn peak_rss(args: &[&str], env: &BackupEnv) -> u64 {
    let mut running = RunningBackup::start(args, env);
    let mut peak = 0;
    while !running.has_exited() {
        peak = peak.max(running.peak_rss_kib().unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.finish(RUN_LIMIT).await.assert_success();
    peak
}

pub(super) async fn memory(s3: &S3, rows: &mut Vec<Row>) {
    // One compiled-component cache for every run, warmed by a first 1 MiB round that is not
    // counted: compiling a component takes more memory than any copy, once per machine, and
    // would otherwise weigh on whichever run compiled.
    let cache = tempfile::tempdir().unwrap();
    let mut peaks = Vec::new();
    for size in [MIB, MIB, scaled(1 << 30).max(16 * MIB)] {
        let (_emulator, server, _) = emulator_with(&[size], 0).await;
        let state = tempfile::tempdir().unwrap();
        let env = env(s3, &server.base_url, &state.path().join("backup"))
            .with("BK__WASM_CACHE_DIR", cache.path().display());
        let backup = peak_rss(&["backup", "--until-idle"], &env).await;
        let (_dest, dest_server, restore_env) =
            restore_target(&env, &state.path().join("restore")).await;
        let restore = peak_rss(&["restore"], &restore_env).await;
        peaks.push((size, backup, restore));
        dest_server.shutdown().await.ok();
        server.shutdown().await.ok();
    }
    let (small, large) = (peaks[1], peaks[2]);
    for (name, pick) in [
        ("3a. peak RSS, backup", (small.1, large.1)),
        ("3b. peak RSS, restore", (small.2, large.2)),
    ] {
        let ratio = pick.1 as f64 / pick.0 as f64;
        rows.push(ratio_row(
            name,
            format!(
                "{:.1} MiB for {} MiB",
                pick.1 as f64 / 1024.0,
                large.0 / MIB
            ),
            format!("{:.1} MiB for 1 MiB", pick.0 as f64 / 1024.0),
            ratio,
            "<= 1.2x",
            ratio <= 1.2,
        ));
    }
}
