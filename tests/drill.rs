//! `azul-backup drill` on backups made by the real binary: restored into a throw-away
//! emulator and compared with what the backup holds. A complete backup passes; one whose
//! original dispatcher had deletions passes with the deleted events dropped, as a restored
//! dispatcher drops them; a junk bundle and a deleted stream object are reported.
//!
//! A bundle deleted from the backup cannot make a difference here: the drill's expectation is
//! read from the backup as it is, so the bundle is neither restored nor expected (`verify`
//! finds its streams unreferenced). Damage the restore cannot carry across can.
//!
//! Needs the S3 server of `scripts/start-s3.sh`, the components of `scripts/build-guests.sh`
//! and the `azul-dispatcher-emulator` binary next to `azul-backup`; without them it skips
//! loudly, but fails when `CI` is set.

mod common;
mod support_checks;

use azul_backup::avro::{Model, from_json};
use azul_backup::objectstore::ObjectStore;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};
use common::samples::{self, Samples};
use support_checks::{Backup, SOURCES, emulator_binary_or_skip, number_after, put};

fn row(output: &str, name: &str) -> (u64, u64) {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} row in:\n{output}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// What the source dispatcher holds, to show the drill posted nothing to it.
fn held(emulator: &Emulator) -> (usize, usize) {
    (
        emulator.events(Model::Binary).len(),
        emulator.stream_keys().len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_backup_is_restored_whole_into_the_drill_emulator() {
    let test = "a_real_backup_is_restored_whole_into_the_drill_emulator";
    let (Some(s3), Some(_)) = (common::s3_or_skip(test), emulator_binary_or_skip(test)) else {
        return;
    };
    let (backup, corpus) = Backup::seeded(&s3, 21).await;
    let before = held(&backup.source);
    let drill = backup.run(&["drill"]).await;
    println!("{}", drill.stdout);
    drill.assert_success();
    let out = &drill.stdout;
    for (name, model) in [
        ("binary events", Model::Binary),
        ("insert events", Model::Insert),
        ("delete events", Model::Delete),
    ] {
        let n = corpus.count(model) as u64;
        assert_eq!(row(out, name), (n, n), "{name}");
    }
    let streams = corpus.streams.len() as u64;
    assert_eq!(row(out, "streams"), (streams, streams));
    assert_eq!(
        number_after(out, "restored stream contents re-hashed:"),
        streams
    );
    assert!(
        out.ends_with("result: OK — the restored dispatcher holds what the backup holds\n"),
        "{out}"
    );
    assert_eq!(
        held(&backup.source),
        before,
        "the configured dispatcher is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_deleted_on_the_original_dispatcher_are_expected_to_be_dropped() {
    let test = "events_deleted_on_the_original_dispatcher_are_expected_to_be_dropped";
    let (Some(s3), Some(_), Some(dir)) = (
        common::s3_or_skip(test),
        emulator_binary_or_skip(test),
        samples::dir_or_skip(test),
    ) else {
        return;
    };
    // The original's samples: binary events backed up; then the deletion of a testing
    // submission at any time (the samples' own deletions match no event the emulator holds)
    // and the inserts, backed up by the same, continuing backup.
    let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
    let samples = Samples::read(&dir);
    for (file, model) in samples::ALL {
        if model == Model::Binary {
            samples.load_all(&source, file);
        }
    }
    let binary = source.events(Model::Binary).len() as u64;
    let backup = Backup::of(&s3, source).await;
    let held = backup
        .source
        .events_json(Model::Binary)
        .expect("held events");
    let submission = held
        .iter()
        .find(|e| e["source"]["name"] == "testing")
        .map(|e| e["track_source_references"].clone())
        .expect("a testing event");
    let mut deletion = samples.events(samples::SYSTEM_DELETE)[0].clone();
    deletion["entity"]["submission"] = serde_json::json!({"track_source_references": submission});
    let raw = from_json(Model::Delete, &deletion).expect("a delete event");
    backup
        .source
        .publish(Model::Delete, &[raw])
        .expect("publish the deletion");
    samples.load_all(&backup.source, samples::SYSTEM_INSERT);
    backup
        .run(&["backup", "--until-idle"])
        .await
        .assert_success();
    let drill = backup.run(&["drill"]).await;
    println!("{}", drill.stdout);
    drill.assert_success();
    let (expected, restored) = row(&drill.stdout, "binary events");
    assert_eq!(expected, restored);
    let dropped = number_after(&drill.stdout, "by design:");
    assert!(dropped > 0, "the samples' deletions match some events");
    assert_eq!(
        expected + dropped,
        binary,
        "every backed-up binary event is accounted for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_bundle_and_a_deleted_stream_are_differences() {
    let test = "a_junk_bundle_and_a_deleted_stream_are_differences";
    let (Some(s3), Some(_)) = (common::s3_or_skip(test), emulator_binary_or_skip(test)) else {
        return;
    };
    let (backup, _) = Backup::seeded(&s3, 22).await;
    let bundle = backup
        .bundle_keys()
        .await
        .into_iter()
        .find(|k| k.starts_with("testing/binary/"))
        .expect("a testing bundle");
    put(&backup.buckets.events, &bundle, b"junk".to_vec()).await;
    // A samples stream: the junk bundle is a testing one, its streams are not restored.
    let stream = backup
        .stream_keys()
        .await
        .into_iter()
        .find(|k| k.starts_with("samples/"))
        .expect("a samples stream");
    backup
        .buckets
        .streams
        .delete(&stream)
        .await
        .expect("delete a stream");

    let drill = backup.run(&["drill"]).await;
    println!("{}", drill.stdout);
    assert!(!drill.status.success(), "{}", drill.transcript());
    let out = &drill.stdout;
    assert!(
        out.contains(&format!(
            "DIFFERENCE bundle {bundle} cannot be read, its events cannot be restored"
        )),
        "{out}"
    );
    // The restore itself records the junk bundle and goes on: only the drill tells.
    assert!(out.contains("events-fail"), "{out}");
    let dangling = format!(
        "DIFFERENCE restored binary events reference stream {stream}, which was not restored"
    );
    assert!(out.contains(&dangling), "{out}");
    assert!(out.contains("result: FAILED"), "{out}");
}
