//! `azul-backup verify` on real backups in SeaweedFS: a good backup passes with its totals;
//! a deleted stream, a junk or undecodable bundle and a flipped byte in a stream are each
//! found (the flipped byte only when stream contents are read).
//!
//! Needs the S3 server of `scripts/start-s3.sh` and the components of
//! `scripts/build-guests.sh`; without S3 it skips loudly, but fails when `CI` is set.

mod common;
mod support_checks;

use azul_backup::avro::Model;
use azul_backup::objectstore::ObjectStore;
use support_checks::{Backup, flip_a_bit, gzip, number_after, put};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_backup_verifies_with_its_totals() {
    let Some(s3) = common::s3_or_skip("a_good_backup_verifies_with_its_totals") else {
        return;
    };
    let (backup, corpus) = Backup::seeded(&s3, 11).await;
    let events: usize = [Model::Binary, Model::Insert, Model::Delete]
        .iter()
        .map(|m| corpus.count(*m))
        .sum();

    let verified = backup.run(&["verify"]).await;
    verified.assert_success();
    let out = &verified.stdout;
    println!("{out}");
    assert_eq!(
        number_after(out, "bundles:") as usize,
        backup.bundle_keys().await.len()
    );
    assert!(
        out.contains(&format!("({events} events, 0 invalid)")),
        "{out}"
    );
    assert_eq!(
        number_after(out, "referenced streams:") as usize,
        corpus.streams.len()
    );
    assert_eq!(
        number_after(out, "stream objects:") as usize,
        corpus.streams.len()
    );
    assert!(out.contains("problems:           0"), "{out}");
    assert!(out.ends_with("result: OK\n"), "{out}");

    let read = backup.run(&["verify", "--read-data"]).await;
    read.assert_success();
    assert_eq!(
        number_after(&read.stdout, "streams read:"),
        corpus.streams.len() as u64
    );
    assert!(
        read.stdout
            .contains(&format!("({} bytes", corpus.stream_bytes))
    );

    let one = backup.run(&["verify", "--source", "testing"]).await;
    one.assert_success();
    let testing_bundles = backup
        .bundle_keys()
        .await
        .iter()
        .filter(|k| k.starts_with("testing/"))
        .count();
    assert_eq!(
        number_after(&one.stdout, "bundles:") as usize,
        testing_bundles
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_streams_bad_bundles_and_flipped_bytes_are_found() {
    let Some(s3) = common::s3_or_skip("missing_streams_bad_bundles_and_flipped_bytes_are_found")
    else {
        return;
    };
    let (backup, _) = Backup::seeded(&s3, 12).await;
    let streams = backup.stream_keys().await;
    let (flipped, deleted) = (&streams[0], &streams[1]);
    let streams_bucket = &backup.buckets.streams;

    // A flipped byte keeps the object valid gzip: only reading the content shows it.
    let original = flip_a_bit(streams_bucket, flipped).await;
    backup.run(&["verify"]).await.assert_success();
    let read = backup.run(&["verify", "--read-data"]).await;
    println!("{}", read.stdout);
    assert!(!read.status.success(), "{}", read.transcript());
    assert!(
        read.stdout
            .contains(&format!("corrupt      {flipped}: content hashes to ")),
        "{}",
        read.stdout
    );
    assert_eq!(number_after(&read.stdout, "problems:"), 1);
    put(streams_bucket, flipped, original).await;

    streams_bucket
        .delete(deleted)
        .await
        .expect("delete a stream");
    let missing = backup.run(&["verify"]).await;
    println!("{}", missing.stdout);
    assert!(!missing.status.success(), "{}", missing.transcript());
    assert!(
        missing.stdout.contains(&format!(
            "missing      {deleted}: referenced by a backed-up binary event"
        )),
        "{}",
        missing.stdout
    );
    assert_eq!(number_after(&missing.stdout, "problems:"), 1);

    // Junk over one bundle, gzip of junk over another.
    let bundles = backup.bundle_keys().await;
    let (junk, not_avro) = (&bundles[0], &bundles[bundles.len() - 1]);
    let events_bucket = &backup.buckets.events;
    put(events_bucket, junk, b"not a bundle".to_vec()).await;
    put(events_bucket, not_avro, gzip(&[0x0c, 0xff, 0xff])).await;
    let damaged = backup.run(&["verify"]).await;
    println!("{}", damaged.stdout);
    assert!(!damaged.status.success(), "{}", damaged.transcript());
    let out = &damaged.stdout;
    assert!(out.contains(&format!("corrupt      {junk}: ")), "{out}");
    assert!(out.contains("not valid gzip"), "{out}");
    assert!(out.contains(&format!("undecodable  {not_avro}: ")), "{out}");
    assert_eq!(number_after(out, "bundles:") as usize, bundles.len());
}
