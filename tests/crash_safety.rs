//! Crash safety (promise 1 of the design): a backup killed with SIGKILL at any instant and
//! restarted with `--until-idle` loses nothing it had received.
//!
//! The harness runs the real binary against the dispatcher emulator (a synthetic corpus: two
//! sources, every action, inserts and deletes; 5 events per fetch) and SeaweedFS, and kills it
//! at named crash points (`AZUL_CRASH_AT=<point>@<n>`: between fetch and spool, spool and
//! bundle upload, upload and spool clear, after the stream journal, during a multipart stream
//! upload, between a stream's upload and its journal entry…) and at seeded random instants,
//! each on a fresh corpus, then restarts it with `--until-idle`. Afterwards every event the
//! emulator handed out is in some bundle (duplicates allowed and counted) — except events of
//! the one response per consumer that was in flight at the kill: the dispatcher commits a
//! consumer's offset when it takes events for a long poll, before the answer reaches the
//! backup, so that answer is lost by the protocol itself. Those are checked to lie in that last
//! response and are printed. Every stream a bundled binary event references is stored with its
//! exact content, and no work is left in the state directory.
//!
//! `AZUL_CRASH_RANDOM=N` runs N random instants instead of the default 4 (a longer run).
//! Needs `scripts/start-s3.sh` and `scripts/build-guests.sh`; skips loudly without S3, and
//! fails under `CI`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use azul_dispatcher_emulator::corpus::{
    CorpusSpec, StreamSizes, SyntheticSpec, seed, seed_synthetic,
};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};
use rand::{Rng, SeedableRng, rngs::StdRng};

use common::emulator::{all_handed_out, committed, held_events, serve, unbundled};
use common::store::{Buckets, gunzip, key_counts, read, referenced_streams};
use common::{BackupEnv, RUN_TIMEOUT, RunningBackup, S3, run, s3_or_skip, sources_yaml};

const SOURCES: [&str; 2] = ["samples", "testing"];
/// Events the emulator hands out per fetch: the most one in-flight response can carry.
const PER_FETCH: usize = 5;
/// A stream this large goes multipart (threshold and part size 5 MiB): three parts.
const BIG_STREAM: u64 = 11 << 20;

/// How a run is ended.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// The process kills itself the n-th time it passes the named crash point.
    At(&'static str, u32),
    /// The harness kills it this long after the start.
    After(Duration),
}

/// The named crash points of a backup, each at a few occurrences.
const POINTS: [(&str, u32); 21] = [
    ("fetch-answered", 1),
    ("fetch-answered", 7),
    ("fetch-answered", 30),
    ("spool-synced", 1),
    ("spool-synced", 4),
    ("spool-synced", 12),
    ("bundle-put", 1),
    ("bundle-put", 3),
    ("bundle-stored", 1),
    ("bundle-stored", 4),
    ("spool-cleared", 1),
    ("spool-cleared", 5),
    ("stream-journaled", 1),
    ("stream-journaled", 6),
    ("stream-stored", 1),
    ("stream-stored", 10),
    ("stream-stored", 40),
    ("stream-done", 1),
    ("stream-done", 12),
    ("multipart-part", 1),
    ("multipart-part", 2),
];

/// What one kill and restart showed.
#[derive(Debug, Default)]
struct Outcome {
    /// Events of the response in flight at the kill, per consumer.
    lost_in_flight: usize,
    duplicates: usize,
    events: usize,
    streams: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_every_crash_point_then_restart_loses_nothing() {
    let Some(s3) = s3_or_skip("kill_9_at_every_crash_point_then_restart_loses_nothing") else {
        return;
    };
    let random: usize = std::env::var("AZUL_CRASH_RANDOM")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let mut rng = StdRng::seed_from_u64(2026);
    let mut kills: Vec<Kill> = POINTS.iter().map(|&(p, n)| Kill::At(p, n)).collect();
    kills.extend(
        (0..random).map(|_| Kill::After(Duration::from_millis(rng.random_range(300..4000)))),
    );

    let mut total = Outcome::default();
    for (i, kill) in kills.iter().enumerate() {
        let o = kill_and_restart(&s3, *kill, 100 + i as u64).await;
        println!(
            "kill {:>2} {kill:?}: after the restart {} events ({} duplicates), {} streams; \
             lost in flight (protocol window): {}",
            i + 1,
            o.events,
            o.duplicates,
            o.streams,
            o.lost_in_flight
        );
        total.events += o.events;
        total.duplicates += o.duplicates;
        total.streams += o.streams;
        total.lost_in_flight += o.lost_in_flight;
    }
    assert!(kills.len() >= 20);
    println!(
        "crash harness (backup): {} kills ({} crash points, {random} random instants); \
         events lost 0, streams lost 0; {} events and {} streams checked; {} duplicates; \
         {} events lost in flight by the fetch protocol (at most one response per consumer)",
        kills.len(),
        POINTS.len(),
        total.events,
        total.streams,
        total.duplicates,
        total.lost_in_flight
    );
}

async fn kill_and_restart(s3: &S3, kill: Kill, seed_value: u64) -> Outcome {
    let emulator =
        Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(PER_FETCH)));
    let spec = CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 12,
        insert_events: 15,
        delete_events: 3,
        seed: seed_value,
        max_stream_size: 8 * 1024,
    };
    seed(&emulator, &spec).expect("seed the corpus");
    let multipart = matches!(kill, Kill::At("multipart-part", _));
    if multipart {
        let big = SyntheticSpec {
            sources: vec!["samples".into()],
            binary_events: 1,
            insert_events: 0,
            delete_events: 0,
            seed: seed_value,
            sizes: StreamSizes::Fixed(BIG_STREAM),
        };
        seed_synthetic(&emulator, &big).expect("seed the big stream");
    }
    let server = serve(&emulator).await;
    let state = tempfile::tempdir().unwrap();
    let env = BackupEnv::new(
        s3,
        &server.base_url,
        state.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 10)
    // Partial bundles are flushed too while the first run is alive.
    .with("BK__FLUSH_INTERVAL_MS", 1500)
    .with("BK__EXTERNAL_BACKUP__MULTIPART_THRESHOLD_MIB", 5)
    .with("BK__EXTERNAL_BACKUP__MULTIPART_PART_MIB", 5);
    let buckets = Buckets::connect(s3, &env).await;
    let id = env.backup_id.clone();

    let killed = match kill {
        Kill::At(point, n) => {
            let env = env.clone().with("AZUL_CRASH_AT", format!("{point}@{n}"));
            let finished = RunningBackup::start(&["backup"], &env)
                .finish(RUN_TIMEOUT)
                .await;
            assert!(
                finished.stderr.contains("crash point"),
                "{kill:?} was reached:\n{}",
                finished.transcript()
            );
            finished
        }
        Kill::After(delay) => {
            let running = RunningBackup::start(&["backup"], &env);
            tokio::time::sleep(delay).await;
            running.kill_hard().await
        }
    };
    assert_eq!(killed.status.signal(), Some(9), "{}", killed.transcript());
    // Let the emulator finish answering requests it received before the kill, so the
    // offsets read next are final.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let offsets_at_kill = committed(&emulator, &id);

    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();
    assert!(
        all_handed_out(&emulator, &id, &SOURCES),
        "{kill:?}: the restart consumed everything"
    );

    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&emulator, &id, &SOURCES);
    let mut lost_per_consumer: BTreeMap<&str, usize> = BTreeMap::new();
    for h in held
        .iter()
        .filter(|h| !counts.contains_key(&h.event.kafka_key))
    {
        let offset = offsets_at_kill
            .get(&h.consumer)
            .and_then(|topics| topics.get(&h.topic))
            .copied()
            .unwrap_or(0);
        assert!(
            h.position < offset && h.position + PER_FETCH >= offset,
            "{kill:?}: {} event {} (position {} of {}) is in no bundle, and was not in the \
             last response handed out before the kill (offset then {offset})",
            h.model,
            h.event.kafka_key,
            h.position,
            h.topic,
        );
        *lost_per_consumer.entry(&h.consumer).or_default() += 1;
    }
    assert!(
        lost_per_consumer.values().all(|n| *n <= PER_FETCH),
        "{kill:?}: at most one response per consumer: {lost_per_consumer:?}"
    );

    let referenced = referenced_streams(&bundles);
    let stored = buckets.stream_keys().await;
    let unstored: Vec<&String> = referenced.difference(&stored).collect();
    assert!(
        unstored.is_empty(),
        "{kill:?}: referenced streams not stored: {unstored:?}"
    );
    for key in &stored {
        let mut parts = key.splitn(3, '/');
        let (source, label, sha256) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let original = emulator
            .stream(source, label, sha256)
            .unwrap_or_else(|| panic!("{kill:?}: stored {key} is not a dispatcher stream"));
        assert!(
            gunzip(&read(&buckets.streams, key).await) == original,
            "{kill:?}: {key} is stored whole"
        );
    }
    if multipart {
        let big = stored.iter().filter(|k| {
            let sha = k.rsplit('/').next().unwrap_or_default();
            emulator
                .stream("samples", "content", sha)
                .is_some_and(|s| s.len() as u64 == BIG_STREAM)
        });
        assert_eq!(big.count(), 1, "{kill:?}: the multipart stream is stored");
    }
    for file in ["backup.stream", "backup-missing.stream"] {
        assert!(
            env.state_lines(file).is_empty(),
            "{kill:?}: nothing in {file}"
        );
    }
    assert!(
        env.journal_outstanding().is_empty(),
        "{kill:?}: no stream request left over"
    );
    let held_keys: BTreeSet<&str> = held.iter().map(|h| h.event.kafka_key.as_str()).collect();
    server.shutdown().await.ok();
    Outcome {
        lost_in_flight: lost_per_consumer.values().sum(),
        duplicates: counts.values().map(|n| n - 1).sum(),
        events: held_keys.len(),
        streams: stored.len(),
    }
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// `None` where mounting is not allowed (it needs root or CAP_SYS_ADMIN).
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs(dir))
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// Fills the filesystem of `dir` with one file, until it is full.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    path
}

/// The state directory fills up while events keep arriving (a small tmpfs, filled by another
/// file): the backup does not drop what it fetched and does not crash — it reports the full
/// disk and fetches nothing more until its write succeeds — and once space returns it goes on;
/// every event handed out ends up in a bundle (no crash, so not even the protocol window
/// applies) and every referenced stream is stored. Skips where a tmpfs cannot be mounted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_state_disk_pauses_the_backup_and_loses_nothing() {
    let test = "a_full_state_disk_pauses_the_backup_and_loses_nothing";
    let Some(s3) = s3_or_skip(test) else { return };
    let Some(disk) = Tmpfs::mount("64m") else {
        eprintln!("SKIPPED {test}: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
        return;
    };
    let emulator =
        Emulator::new(EmulatorConfig::new(SOURCES).max_events_per_fetch(Some(PER_FETCH)));
    let spec = |seed_value| CorpusSpec {
        sources: SOURCES.map(String::from).to_vec(),
        events_per_action: 6,
        insert_events: 10,
        delete_events: 2,
        seed: seed_value,
        max_stream_size: 8 * 1024,
    };
    seed(&emulator, &spec(1)).expect("seed the corpus");
    let server = serve(&emulator).await;
    let env = BackupEnv::new(
        &s3,
        &server.base_url,
        disk.path(),
        &sources_yaml(&SOURCES, &[]),
    )
    .with("BK__EVENT_BATCH_SIZE", 10)
    .with("BK__FLUSH_INTERVAL_MS", 1000);
    let buckets = Buckets::connect(&s3, &env).await;
    let id = env.backup_id.clone();
    let mut backup = RunningBackup::start(&["backup"], &env);
    common::eventually("everything handed out", RUN_TIMEOUT, async || {
        all_handed_out(&emulator, &id, &SOURCES).then_some(())
    })
    .await;

    let filler = fill(disk.path());
    seed(&emulator, &spec(2)).expect("seed more events");
    common::eventually("the full disk to be reported", RUN_TIMEOUT, async || {
        backup
            .stderr()
            .contains("nothing more is fetched until it succeeds")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stderr = backup.stderr();
    assert!(
        stderr.contains("No space left on device"),
        "the error names the cause:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    std::fs::remove_file(&filler).unwrap();
    // Space is back: the backup goes on — unless the stream failures the full disk caused
    // crossed the consecutive-failure threshold, which stops it gracefully, with the reason.
    let deadline = tokio::time::Instant::now() + RUN_TIMEOUT;
    while !all_handed_out(&emulator, &id, &SOURCES) && !backup.has_exited() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            backup.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !backup.has_exited() {
        backup.signal("TERM");
    }
    let stopped = backup.finish(RUN_TIMEOUT).await;
    assert!(
        matches!(stopped.status.code(), Some(0 | 3))
            || stopped.status.code() == Some(1)
                && stopped.stderr.contains("consecutive stream failures"),
        "{}",
        stopped.transcript()
    );
    println!(
        "full state disk: the first run ended with {} after the disk filled and emptied",
        stopped.status
    );
    run(&["backup", "--until-idle"], &env)
        .await
        .assert_success();

    let bundles = buckets.bundles().await;
    let counts = key_counts(&bundles);
    let held = held_events(&emulator, &id, &SOURCES);
    let lost = unbundled(&held, &counts);
    assert!(lost.is_empty(), "events lost to the full disk: {lost:?}");
    let stored = buckets.stream_keys().await;
    let referenced = referenced_streams(&bundles);
    assert!(referenced.is_subset(&stored), "every stream stored");
    assert!(env.state_lines("backup.stream").is_empty());
    println!(
        "full state disk: {} events handed out, all in bundles ({} duplicates); {} streams stored",
        held.len(),
        counts.values().map(|n| n - 1).sum::<usize>(),
        stored.len()
    );
    server.shutdown().await.ok();
}
