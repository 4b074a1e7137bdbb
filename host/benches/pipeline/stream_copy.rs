//! Benchmarks 1 and 4a: stream copy against a native copy, and its restore.

use super::*;

/// The native baseline: every stream downloaded, gzipped at level 1 and uploaded, with the
/// same number in flight, and nothing else (no journal, no hashing, no wasm).
async fn baseline_copy(s3: &S3, url: &str, emulator: &Emulator) -> Duration {
    let bucket = format!("bench-baseline-{}", common::unique_id());
    let no_multipart = MultipartConfig {
        threshold: u64::MAX,
        ..MultipartConfig::default()
    };
    let store = S3Store::connect(&s3.config(), &bucket, true)
        .await
        .expect("baseline bucket")
        .with_multipart(no_multipart);
    let http = reqwest::Client::new();
    let keys: Vec<(String, String, String)> = emulator.stream_keys().into_iter().collect();
    let started = Instant::now();
    let copies = futures::stream::iter(keys)
        .map(|(source, label, sha256)| {
            let (http, store) = (http.clone(), &store);
            async move {
                let body = http
                    .get(format!("{url}/api/v3/stream/{source}/{label}/{sha256}"))
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .expect("baseline GET")
                    .bytes()
                    .await
                    .expect("baseline body");
                let gz = tokio::task::spawn_blocking(move || {
                    use std::io::Write;
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len()),
                        flate2::Compression::fast(),
                    );
                    enc.write_all(&body).expect("gzip");
                    enc.finish().expect("gzip")
                })
                .await
                .expect("gzip task");
                let key = format!("{source}/{label}/{sha256}");
                store
                    .put(&key, PutBody::Bytes(gz.into()))
                    .await
                    .expect("baseline PUT");
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>();
    copies.await;
    started.elapsed()
}

pub(super) async fn stream_copy_and_restore(s3: &S3, rows: &mut Vec<Row>) {
    let mut sizes: Vec<usize> = (0..scaled(400))
        .map(|i| 1024 + (i * 7919) % (63 * 1024))
        .collect();
    sizes.extend([1, 2, 4, 8, 16, 24, 32, 64].map(|m| scaled(m * MIB).max(MIB)));
    sizes.push(scaled(256 * MIB).max(8 * MIB));
    let (emulator, server, bytes) = emulator_with(&sizes, 0).await;
    let state = tempfile::tempdir().unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"));
    // Native, ours, ours, native (ABBA): whatever the server still does after a run (it
    // flushes and compacts what it was sent) weighs on both sides alike. Each side's figure
    // is its faster run (noise on a shared machine only ever adds time); ours backs up into
    // fresh buckets each time.
    let first_native = baseline_copy(s3, &server.base_url, &emulator).await;
    let (first_ours, _) = timed(&["backup", "--until-idle"], &env).await;
    let again = self::env(s3, &server.base_url, &state.path().join("again"));
    let (second_ours, run) = timed(&["backup", "--until-idle"], &again).await;
    let second_native = baseline_copy(s3, &server.base_url, &emulator).await;
    let baseline = first_native.min(second_native);
    let ours = first_ours.min(second_ours);
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64();
    rows.push(ratio_row(
        "1. stream copy (wall time)",
        format!(
            "{:.1}s, {:.0} MiB/s",
            ours.as_secs_f64(),
            mib_per_s(bytes, ours)
        ),
        format!(
            "native {:.1}s, {:.0} MiB/s",
            baseline.as_secs_f64(),
            mib_per_s(bytes, baseline)
        ),
        ratio,
        "<= 1.25x native",
        ratio <= 1.25,
    ));
    println!(
        "stream copy: {} streams, {:.0} MiB; ours {first_ours:.1?} and {second_ours:.1?} \
         (stages of the second: {}), native {first_native:.1?} and {second_native:.1?}",
        sizes.len(),
        bytes as f64 / MIB as f64,
        stages(&run)
    );
    let (_dest, dest_server, restore_env) =
        restore_target(&env, &state.path().join("restore")).await;
    let (restored, _) = timed(&["restore"], &restore_env).await;
    let ratio = ours.as_secs_f64() / restored.as_secs_f64();
    rows.push(ratio_row(
        "4a. restore of 1 (throughput)",
        format!(
            "{:.1}s, {:.0} MiB/s",
            restored.as_secs_f64(),
            mib_per_s(bytes, restored)
        ),
        format!("backup {:.1}s", ours.as_secs_f64()),
        ratio,
        ">= 0.8x backup",
        ratio >= 0.8,
    ));
    dest_server.shutdown().await.ok();
    server.shutdown().await.ok();
}
