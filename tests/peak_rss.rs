//! A measurement, not a check of timing: the peak resident set size (`VmHWM`) of the
//! `azul-backup` process while it backs up one binary event whose only stream is 1 GiB of
//! incompressible bytes, next to the same backup of a 1 MiB stream. Streams are downloaded
//! to a temporary file, hashed and gzipped on the way, and uploaded from that file, so the
//! two peaks should be about the same (promise 4: memory does not grow with a stream's size).
//! The test asserts that the backup completed and stored the stream, and prints the numbers.
//!
//! Ignored by default (a 1 GiB transfer takes minutes in a debug build). Run with
//! `bash -c '. scripts/start-s3.sh && scripts/build-guests.sh && cargo test -p azul-backup
//! --test peak_rss -- --ignored --nocapture'`.

mod common;

use std::time::{Duration, Instant};

use azul_backup::avro::Model;
use azul_backup::avro::synthetic::{SyntheticBinary, SyntheticStream, binary_event};
use azul_backup::objectstore::ObjectStore;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::serve;
use common::store::{Buckets, objects};
use common::{BackupEnv, RunningBackup, S3, noise, s3_or_skip, sources_yaml};

const MIB: usize = 1 << 20;
const GIB: usize = 1 << 30;

struct Measurement {
    stream_bytes: usize,
    peak_rss_kib: u64,
    stored_bytes: u64,
    elapsed: Duration,
}

/// Back up one binary event referencing one stream of `len` bytes; sample the process's
/// peak RSS until it exits.
async fn measure(s3: &S3, len: usize) -> Measurement {
    let emulator = Emulator::new(EmulatorConfig::new(["testing"]).early_return(true));
    let sha256 = emulator.put_stream("testing", "content", noise(len, 0));
    let event = binary_event(&SyntheticBinary {
        source: "testing".into(),
        action: "sourced".into(),
        author: "peak-rss".into(),
        kafka_key: "0".repeat(32),
        timestamp_micros: 1_735_689_600_000_000,
        sha256: sha256.clone(),
        streams: vec![SyntheticStream {
            label: "content".into(),
            sha256: sha256.clone(),
            size: len as u64,
        }],
    })
    .expect("encode the event");
    emulator
        .publish(Model::Binary, [event])
        .expect("publish the event");
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &[]),
    );

    let started = Instant::now();
    let mut backup = RunningBackup::start(&["backup", "--until-idle"], &env);
    let mut peak_rss_kib = 0;
    while !backup.has_exited() {
        // VmHWM is already a high-water mark; sampling only has to catch it before exit.
        if let Some(kib) = backup.peak_rss_kib() {
            peak_rss_kib = peak_rss_kib.max(kib);
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "the backup of {len} bytes did not finish within an hour"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    backup
        .finish(Duration::from_secs(10))
        .await
        .assert_success();
    assert!(peak_rss_kib > 0, "the peak RSS was sampled");

    let buckets = Buckets::connect(s3, &env).await;
    let stored = objects(&buckets.streams, "").await;
    let key = format!("testing/content/{sha256}");
    assert_eq!(
        stored.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
        [key.as_str()]
    );
    // Random bytes do not compress: the gzip object is at least as large as the stream.
    assert!(stored[0].size >= len as u64, "{} < {len}", stored[0].size);
    buckets.streams.delete(&key).await.expect("free the space");
    server.shutdown().await.ok();
    Measurement {
        stream_bytes: len,
        peak_rss_kib,
        stored_bytes: stored[0].size,
        elapsed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: backs up a 1 GiB stream; run with --ignored --nocapture"]
async fn peak_rss_while_backing_up_one_1_gib_stream() {
    let Some(s3) = s3_or_skip("peak_rss_while_backing_up_one_1_gib_stream") else {
        return;
    };
    let small = measure(&s3, MIB).await;
    let large = measure(&s3, GIB).await;
    for m in [&small, &large] {
        println!(
            "stream of {} MiB: peak RSS of azul-backup {:.1} MiB, stored {} bytes gzip, {:.1}s",
            m.stream_bytes / MIB,
            m.peak_rss_kib as f64 / 1024.0,
            m.stored_bytes,
            m.elapsed.as_secs_f64()
        );
    }
    println!(
        "peak RSS ratio 1 GiB / 1 MiB stream: {:.2}",
        large.peak_rss_kib as f64 / small.peak_rss_kib as f64
    );
}
