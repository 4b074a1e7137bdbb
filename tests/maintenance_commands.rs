//! The original's maintenance commands end to end, on the real binary: `add-failed-stream`
//! records `userSupplied/<source>/<label>/<sha256>` in `backup-failed.stream` and says so,
//! refusing paths that are not `<source>/<label>/<sha256>`; `list-failed-backup-streams`
//! prints both lists under the original's headings; `clear-backup-streams` deletes only
//! `backup-failed.stream` and only with `--confirm`. `trigger-backup-failed-streams`
//! re-attempts the recorded streams against the dispatcher emulator and S3, then
//! re-classifies: a stream copied now leaves the lists, one that fails again and that the
//! dispatcher does not have (HEAD 404) moves to `backup-failed.stream`, one that fails but
//! exists stays in `backup.stream`, and one the dispatcher answers 404 is recorded as missing;
//! its flags select which lists are re-attempted.
//!
//! The first test needs nothing; the trigger test needs `scripts/start-s3.sh` and
//! `scripts/build-guests.sh`, and skips loudly without S3 (fails under `CI`).

mod common;

use std::collections::BTreeSet;

use azul_dispatcher_emulator::faults::FaultRule;
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};

use common::emulator::serve;
use common::store::{Buckets, gunzip, read};
use common::{BackupEnv, Finished, run, s3_or_skip, sources_yaml};

const FAILED_FILE: &str = "backup.stream";
const COMPLEX_FILE: &str = "backup-failed.stream";
const MISSING_FILE: &str = "backup-missing.stream";
const FAILED_HEADING: &str = "Streams that have failed to backup.";
const COMPLEX_HEADING: &str =
    "Streams that have failed to backup and don't appear to exist in dispatcher.";

/// Everything a command said, on either stream (the original printed through Go's `log`).
fn said(finished: &Finished) -> String {
    format!("{}{}", finished.stdout, finished.stderr)
}

/// What `list-failed-backup-streams` prints for these two lists.
fn listing(failed: &[&str], complex: &[&str]) -> String {
    let mut text = format!("{FAILED_HEADING}\n");
    failed.iter().for_each(|s| text.push_str(&format!("{s}\n")));
    text.push_str(&format!("{COMPLEX_HEADING}\n"));
    complex
        .iter()
        .for_each(|s| text.push_str(&format!("{s}\n")));
    text
}

fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_list_and_clear_failed_streams() {
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::offline(state.path());
    let (one, two, three) = (sha(1), sha(2), sha(3));
    let from_s3 = format!("s3://azul-backup-1-streams/testing/content/{one}");
    let plain = format!("samples/safe_png/{two}");

    let added = run(&["add-failed-stream", &from_s3, &plain], &env).await;
    added.assert_success();
    for path in [&from_s3, &plain] {
        assert!(
            said(&added).contains(&format!("Successfully added {path}\n")),
            "{}",
            added.transcript()
        );
    }
    assert_eq!(
        env.state_lines(COMPLEX_FILE),
        [
            format!("userSupplied/testing/content/{one}"),
            format!("userSupplied/samples/safe_png/{two}")
        ]
    );

    for bad in ["../x", "testing/../content/x", "only/two"] {
        let refused = run(&["add-failed-stream", bad], &env).await;
        assert!(
            !refused.status.success(),
            "{bad:?} accepted:\n{}",
            refused.transcript()
        );
        assert!(said(&refused).contains(bad), "{}", refused.transcript());
    }
    assert_eq!(
        env.state_lines(COMPLEX_FILE).len(),
        2,
        "refused paths add nothing"
    );

    // A failure recorded by a backup, and a line no backup writes (ignored when listing).
    let failed_line = format!("4c1d3fd0b6bd3b4c5dbd41f7ba5d9e0a/testing/content/{three}\nbroken\n");
    std::fs::write(env.state_file(FAILED_FILE), failed_line).unwrap();
    let listed = run(&["list-failed-backup-streams"], &env).await;
    listed.assert_success();
    let both = listing(
        &[&format!("testing/content/{three}")],
        &[
            &format!("testing/content/{one}"),
            &format!("samples/safe_png/{two}"),
        ],
    );
    assert!(said(&listed).contains(&both), "{}", listed.transcript());

    let unconfirmed = run(&["clear-backup-streams"], &env).await;
    unconfirmed.assert_success();
    assert!(
        said(&unconfirmed).contains(
            "Not deleting failed streams as you need to add the --confirm flag to confirm data loss."
        ),
        "{}",
        unconfirmed.transcript()
    );
    assert_eq!(env.state_lines(COMPLEX_FILE).len(), 2, "nothing deleted");

    let confirmed = run(&["clear-backup-streams", "--confirm"], &env).await;
    confirmed.assert_success();
    assert!(
        said(&confirmed)
            .contains("Deleting all the streams that have failed to backup more than once."),
        "{}",
        confirmed.transcript()
    );
    assert!(!env.state_file(COMPLEX_FILE).exists());
    assert_eq!(
        env.state_lines(FAILED_FILE).len(),
        2,
        "only the given-up list is cleared"
    );
    let listed = run(&["list-failed-backup-streams"], &env).await;
    assert!(
        said(&listed).contains(&listing(&[&format!("testing/content/{three}")], &[])),
        "{}",
        listed.transcript()
    );
}

/// One stream of the trigger scenario: where it is recorded, and what the dispatcher does.
struct Case {
    line: String,
    key: String,
}

fn case(event: &str, key: String) -> Case {
    Case {
        line: format!("{event}/{key}"),
        key,
    }
}

fn failing_download(key: &str) -> FaultRule {
    FaultRule {
        method: Some("GET".into()),
        path: format!("/api/v3/stream/{key}"),
        status: Some(500),
        ..FaultRule::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_reattempts_and_reclassifies_failed_streams() {
    let test = "trigger_reattempts_and_reclassifies_failed_streams";
    let Some(s3) = s3_or_skip(test) else { return };
    let emulator = Emulator::new(EmulatorConfig::new(["testing"]).early_return(true));
    let content = |name: &str| format!("content of the stream {name}\n").into_bytes();
    let stored = |source: &str, name: &str| {
        let sha256 = emulator.put_stream(source, "content", content(name));
        format!("{source}/content/{sha256}")
    };
    // Recorded as failed once (backup.stream):
    let copied = case("k-copied", stored("testing", "copied"));
    let gone = case("k-gone", format!("testing/content/{}", sha(0xb0)));
    let missing = case("k-missing", format!("testing/content/{}", sha(0xc0)));
    let flaky = case("k-flaky", stored("testing", "flaky"));
    // Given up on by an operator (backup-failed.stream), from a source no longer configured:
    let retired = stored("retired", "retired");
    for key in [&gone.key, &flaky.key] {
        emulator.add_fault(failing_download(key)).unwrap();
    }
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&["testing"], &[]),
    )
    .with("BK__RETRY_COUNT", 2);
    let recorded: String = [&copied, &gone, &missing, &flaky]
        .iter()
        .map(|c| format!("{}\n", c.line))
        .collect();
    std::fs::create_dir_all(env.state_file("")).unwrap();
    std::fs::write(env.state_file(FAILED_FILE), recorded).unwrap();
    run(&["add-failed-stream", &format!("/srv/old/{retired}")], &env)
        .await
        .assert_success();

    let nothing = run(
        &[
            "trigger-backup-failed-streams",
            "--include-failed-simple=false",
            "--not-failed-complex=false",
        ],
        &env,
    )
    .await;
    nothing.assert_success();
    assert!(
        said(&nothing).contains("Nothing selected to restore so nothing to restore."),
        "{}",
        nothing.transcript()
    );
    assert_eq!(env.state_lines(FAILED_FILE).len(), 4, "nothing touched");

    let triggered = run(&["trigger-backup-failed-streams"], &env).await;
    // Two streams still fail: exit status 3, "streams left behind".
    assert_eq!(
        triggered.status.code(),
        Some(3),
        "{}",
        triggered.transcript()
    );
    let buckets = Buckets::connect(&s3, &env).await;
    assert_eq!(
        buckets.stream_keys().await,
        BTreeSet::from([copied.key.clone(), retired.clone()])
    );
    assert_eq!(
        gunzip(&read(&buckets.streams, &copied.key).await),
        content("copied")
    );
    assert_eq!(env.state_lines(COMPLEX_FILE), [gone.line.as_str()]);
    assert_eq!(env.state_lines(FAILED_FILE), [flaky.line.as_str()]);
    assert_eq!(env.state_lines(MISSING_FILE), [missing.line.as_str()]);
    let stats = triggered.backup_stats();
    assert_eq!(stats.get("testing", "streams-ok"), 1);
    assert_eq!(stats.get("testing", "streams-fail"), 2);
    assert_eq!(stats.get("testing", "streams-missing"), 1);
    assert_eq!(stats.get("retired", "streams-ok"), 1);
    let listed = run(&["list-failed-backup-streams"], &env).await;
    assert!(
        said(&listed).contains(&listing(&[&flaky.key], &[&gone.key])),
        "{}",
        listed.transcript()
    );

    // The dispatcher recovers (but never had `gone`): re-attempting only the given-up list
    // copies what it has, records `gone` as missing, and leaves backup.stream as it is.
    emulator.clear_faults();
    let recovered = stored("testing", "recovered");
    run(&["add-failed-stream", &recovered], &env)
        .await
        .assert_success();
    let complex_only = run(
        &[
            "trigger-backup-failed-streams",
            "--include-failed-simple=false",
        ],
        &env,
    )
    .await;
    complex_only.assert_success();
    assert!(env.state_lines(COMPLEX_FILE).is_empty());
    assert_eq!(env.state_lines(MISSING_FILE), [missing.line, gone.line]);
    assert_eq!(env.state_lines(FAILED_FILE), [flaky.line]);
    let keys = buckets.stream_keys().await;
    assert!(keys.contains(&recovered));
    assert!(
        !keys.contains(&flaky.key),
        "backup.stream was not re-attempted"
    );
    server.shutdown().await.ok();
}
