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

/// Every kind of damaged or unexpected object at once — an empty object, plain bytes, gzip of
/// garbage, a truncated bundle, a bundle of another model, keys outside the layout, an empty
/// and a truncated stream — is reported by `verify` with its key and what is wrong, and
/// `restore` still restores everything else, reports each, and exits non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_damage_is_reported_by_verify_and_restore() {
    let test = "every_kind_of_damage_is_reported_by_verify_and_restore";
    let Some(s3) = common::s3_or_skip(test) else {
        return;
    };
    let (backup, _) = Backup::seeded(&s3, 31).await;
    let events = &backup.buckets.events;
    let streams = &backup.buckets.streams;
    let bundles = backup.bundle_keys().await;
    let a_binary = bundles.iter().find(|k| k.contains("/binary/")).unwrap();
    let an_insert = bundles.iter().find(|k| k.contains("/insert/")).unwrap();
    let valid = common::store::read(events, a_binary).await;
    let insert = common::store::read(events, an_insert).await;
    let bad = |name: &str| format!("testing/binary/sourced/2099-01-01T00:00:00Z-1-{name}");
    let damaged_bundles = [
        (bad("empty"), Vec::new()),
        (bad("plain"), b"plain bytes, not gzip".to_vec()),
        (bad("gzip-of-garbage"), gzip(&[0x55; 300])),
        (bad("truncated"), valid[..valid.len() / 2].to_vec()),
        (bad("another-model"), insert),
    ];
    for (key, bytes) in &damaged_bundles {
        put(events, key, bytes.clone()).await;
    }
    let stray_events = ["notes.txt", "testing/binary/sourced/deeper/key-1-x"];
    for key in stray_events {
        put(events, key, b"stray".to_vec()).await;
    }
    let stream_keys = backup.stream_keys().await;
    let (emptied, cut) = (&stream_keys[0], &stream_keys[1]);
    let whole = common::store::read(streams, cut).await;
    put(streams, emptied, Vec::new()).await;
    put(streams, cut, whole[..whole.len() / 2].to_vec()).await;
    put(streams, "testing/content/not-a-sha256", gzip(b"stray")).await;

    let verified = backup.run(&["verify", "--read-data"]).await;
    println!("{}", verified.stdout);
    assert!(!verified.status.success(), "{}", verified.transcript());
    let out = &verified.stdout;
    let reported = |kind: &str, key: &str, why: &str| {
        let line = format!("{kind:<12} {key}: {why}");
        assert!(out.contains(&line), "expected {line:?} in:\n{out}");
    };
    reported("corrupt", &bad("empty"), "not valid gzip");
    reported(
        "corrupt",
        &bad("plain"),
        "not valid gzip: invalid gzip header",
    );
    reported("corrupt", &bad("truncated"), "not valid gzip");
    reported(
        "undecodable",
        &bad("gzip-of-garbage"),
        "not an avro bulk of its model",
    );
    reported(
        "undecodable",
        &bad("another-model"),
        "not an avro bulk of its model",
    );
    for key in stray_events {
        reported("undecodable", key, &format!("{key:?} is not a bundle key"));
    }
    reported("corrupt", emptied, "not valid gzip");
    reported("corrupt", cut, "not valid gzip");
    reported(
        "orphan",
        "testing/content/not-a-sha256",
        "no backed-up event references it",
    );
    assert_eq!(number_after(out, "problems:"), 11, "{out}");

    let dest = azul_dispatcher_emulator::Emulator::new(
        azul_dispatcher_emulator::EmulatorConfig::new(support_checks::SOURCES),
    );
    let dest_server = common::emulator::serve(&dest).await;
    let restore_state = tempfile::tempdir().unwrap();
    let env = backup
        .env
        .clone()
        .with("BK__DISPATCHER_EVENTS", &dest_server.base_url)
        .with("BK__DISPATCHER_STREAMS", &dest_server.base_url)
        .with("BK__LOCAL_DATA__ROOTDIR", restore_state.path().display());
    let restored = common::run(&["restore"], &env).await;
    println!("{}", restored.stderr);
    assert!(!restored.status.success(), "{}", restored.transcript());
    for (key, _) in &damaged_bundles {
        assert!(
            restored
                .stderr
                .contains(&format!("{key}: not a readable bundle")),
            "{key} reported by restore"
        );
    }
    for key in [emptied, cut] {
        assert!(
            restored
                .stderr
                .contains(&format!("stream {key} not restored")),
            "{key} reported by restore"
        );
    }
    let stats = restore_failures(&restored.stdout);
    assert_eq!(
        stats,
        (5, 3),
        "(events-fail, streams-fail) in the stats table"
    );
    for model in [Model::Binary, Model::Insert] {
        let keys = |e: &azul_dispatcher_emulator::Emulator| -> std::collections::BTreeSet<String> {
            e.events(model).into_iter().map(|e| e.kafka_key).collect()
        };
        assert_eq!(
            keys(&dest),
            keys(&backup.source),
            "{model}: every good event restored"
        );
    }
    let restored_streams: std::collections::BTreeSet<String> = dest
        .stream_keys()
        .into_iter()
        .map(|(s, l, h)| format!("{s}/{l}/{h}"))
        .collect();
    for key in &stream_keys[2..] {
        assert!(restored_streams.contains(key), "{key} restored");
    }
    dest_server.shutdown().await.ok();
}

/// Totals of `events-fail` and `streams-fail` in a restore's stats table.
fn restore_failures(stdout: &str) -> (u64, u64) {
    let table = common::StatsTable::parse(stdout, "Restore stats:").expect("a stats table");
    let sum = |column: &str| -> u64 {
        table
            .0
            .values()
            .map(|row| row.get(column).copied().unwrap_or(0))
            .sum()
    };
    (sum("events-fail"), sum("streams-fail"))
}
