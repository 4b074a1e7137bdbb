//! Benchmarks 2, 4b and 4c: events only, their restore, and the emulator's own ingest.

use super::*;

pub(super) async fn events_only_and_restore(s3: &S3, rows: &mut Vec<Row>) {
    let count = scaled(200_000);
    let (_emulator, server, _) = emulator_with(&[], count).await;
    let state = tempfile::tempdir().unwrap();
    let env = env(s3, &server.base_url, &state.path().join("backup"));
    let (took, run) = timed(&["backup", "--until-idle"], &env).await;
    let rate = count as f64 / took.as_secs_f64();
    rows.push(Row {
        name: "2. events only (events/s)",
        ours: format!("{rate:.0}/s ({count} in {:.1}s)", took.as_secs_f64()),
        reference: format!("stages: {}", stages(&run)),
        ratio: None,
        target: ">= 50000/s",
        met: Some(rate >= 50_000.0),
    });
    let (dest, dest_server, restore_env) =
        restore_target(&env, &state.path().join("restore")).await;
    let (restored, restore_run) = timed(&["restore"], &restore_env).await;
    assert_eq!(
        dest.events(Model::Binary).len(),
        count,
        "every event restored"
    );
    let ratio = took.as_secs_f64() / restored.as_secs_f64();
    rows.push(ratio_row(
        "4b. restore of 2 (throughput)",
        format!("{:.0}/s", count as f64 / restored.as_secs_f64()),
        format!("backup {rate:.0}/s; stages: {}", stages(&restore_run)),
        ratio,
        ">= 0.8x backup",
        ratio >= 0.8,
    ));
    let limit = ingest_limit(dest.raw_events(Model::Binary)).await;
    rows.push(Row {
        name: "4c. restore of 2 vs the emulator's ingest",
        ours: format!("{:.0}/s", count as f64 / restored.as_secs_f64()),
        reference: format!("direct POSTs {:.0}/s", count as f64 / limit.as_secs_f64()),
        ratio: Some(limit.as_secs_f64() / restored.as_secs_f64()),
        target: "(how near the limit)",
        met: None,
    });
    dest_server.shutdown().await.ok();
    server.shutdown().await.ok();
}

/// How fast a fresh emulator takes `raws` when they are simply POSTed as the restore posts
/// them (bulks of 1000, `sync`, five sequences in parallel) by a plain client: the most any
/// restore into it can reach.
async fn ingest_limit(raws: Vec<Vec<u8>>) -> Duration {
    let dest = Emulator::new(EmulatorConfig::new([SOURCE]));
    let server = serve(&dest).await;
    let http = reqwest::Client::new();
    let lanes: Vec<Vec<Vec<u8>>> = (0..5)
        .map(|lane| raws.iter().skip(lane).step_by(5).cloned().collect())
        .collect();
    let started = Instant::now();
    let posts = lanes.into_iter().map(|lane| {
        let (http, url) = (http.clone(), format!("{}/api/v2/event", server.base_url));
        async move {
            for chunk in lane.chunks(1000) {
                let bulk = azul_backup::avro::encode_bulk_from_raw(chunk.iter().map(Vec::as_slice));
                http.post(&url)
                    .query(&[
                        ("avro-format", "true"),
                        ("include_ok", "false"),
                        ("model", "binary"),
                        ("pause_plugins", "true"),
                        ("sync", "true"),
                    ])
                    .header("content-type", "application/avro")
                    .body(bulk)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .expect("direct POST");
            }
        }
    });
    futures::future::join_all(posts).await;
    let took = started.elapsed();
    assert_eq!(
        dest.events(Model::Binary).len(),
        raws.len(),
        "every event taken"
    );
    server.shutdown().await.ok();
    took
}
