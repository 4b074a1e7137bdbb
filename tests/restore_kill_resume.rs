//! Promise 2 of the design, "restore resumes exactly": a restore killed with `kill -9` and run
//! again posts every bundle and every stream of the backup at least once, in the required
//! order — every stream before any event, system insert/delete before any binary event, and
//! each binary type oldest bundle first — and the rerun goes on from the saved checkpoints
//! rather than from the start.
//!
//! The backup is made by the real `azul-backup backup --until-idle` from a seeded emulator
//! (small bundles, so there are many). The restore goes into a fresh emulator slowed by delay
//! faults, behind a recording proxy; the restore is killed when the proxy has seen it reach
//! the chosen phase (mid-streams, the first system bundle, a few binary bundles). The
//! emulator cannot tell the order of arrival across topics and streams, and a re-posted
//! stream leaves no trace in it, so the proxy records every request in arrival order with a
//! snapshot of what the destination held at that instant; the order is checked on those
//! snapshots, the per-type order on the destination's topics. Each test prints its figures:
//! what was posted in total and distinct, and what the rerun posted again.
//!
//! The crash harness restores one backup again and again, killed each time at a named crash
//! point (`AZUL_CRASH_AT`: after a stream post, after a checkpoint, before and after an event
//! post) or a seeded random instant, and resumed; the same checks hold every time.
//!
//! Needs the S3 server of `scripts/start-s3.sh` and the components of
//! `scripts/build-guests.sh`; without S3 the tests skip loudly, and fail under `CI`.

mod support_restore;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use azul_backup::avro::{Model, decode_bulk};
use azul_dispatcher_emulator::corpus::{CorpusSpec, CorpusSummary, seed};
use azul_dispatcher_emulator::{Emulator, EmulatorConfig};
use rand::{Rng, SeedableRng, rngs::StdRng};
use support_restore::buckets::BackupWriter;
use support_restore::dispatcher::{
    POST_EVENTS, POST_STREAM, binary_keys_by_type, deletes_without_keys, destination,
    distinct_keys, first_occurrences, keys, serve, slow_posts, stream_keys,
};
use support_restore::events::dispatcher_key;
use support_restore::proxy::{Exchange, Proxy};
use support_restore::{
    RUN_TIMEOUT, RunEnv, Running, S3, eventually, run, s3_or_skip, unique_backup_id,
};

const SOURCES: [&str; 2] = ["samples", "testing"];
const STREAMS_PATH: &str = "/api/v3/stream/";
/// Streams per checkpoint of the restore, so that a kill mid-streams lands after some.
const CHECKPOINT_STREAMS: usize = 8;

/// What the destination held when a request arrived.
#[derive(Debug, Clone)]
struct Held {
    streams: usize,
    insert_keys: usize,
    deletes: usize,
}

impl Held {
    fn of(dest: &Emulator) -> Self {
        Held {
            streams: dest.stream_keys().len(),
            insert_keys: distinct_keys(dest, Model::Insert).len(),
            deletes: dest.raw_events(Model::Delete).len(),
        }
    }
}

/// A backup made by the real binary, and what it holds.
struct Backup {
    id: String,
    source: Emulator,
    corpus: CorpusSummary,
    writer: BackupWriter,
    /// Stream object keys.
    streams: BTreeSet<String>,
    /// `(source, action)` → dispatcher keys of its binary events, bundles in key order.
    binary_order: BTreeMap<(String, String), Vec<String>>,
    bundles: usize,
    binary_bundles: usize,
}

impl Backup {
    async fn make(s3: &S3) -> Self {
        let source = Emulator::new(EmulatorConfig::new(SOURCES).early_return(true));
        let corpus = seed(
            &source,
            &CorpusSpec {
                sources: SOURCES.map(String::from).to_vec(),
                events_per_action: 9,
                insert_events: 12,
                delete_events: 3,
                seed: 11,
                max_stream_size: 4096,
            },
        )
        .expect("seed the source dispatcher");
        let server = serve(&source).await;
        let id = unique_backup_id();
        let state = tempfile::tempdir().unwrap();
        let env = RunEnv::new(s3, &server.base_url, state.path(), &SOURCES, &id)
            .with("BK__EVENT_BATCH_SIZE", 3);
        run(&["backup", "--until-idle"], &env)
            .await
            .assert_success();
        server.shutdown().await.ok();

        let writer = BackupWriter::existing(s3, &id).await;
        let streams: BTreeSet<String> = writer.stream_keys().await.into_iter().collect();
        assert_eq!(
            streams.len(),
            corpus.streams.len(),
            "every stream is backed up"
        );
        let mut binary_order: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        let (mut bundles, mut binary_bundles) = (0, 0);
        // Listing order is key order within a type's folder: the order restore must follow.
        for key in writer.event_keys().await {
            bundles += 1;
            let parts: Vec<&str> = key.split('/').collect();
            if parts[1] != "binary" {
                continue;
            }
            binary_bundles += 1;
            let events = decode_bulk(Model::Binary, &writer.bundle(&key).await)
                .unwrap_or_else(|e| panic!("bundle {key}: {e}"));
            binary_order
                .entry((parts[0].to_string(), parts[2].to_string()))
                .or_default()
                .extend(events.iter().map(|e| dispatcher_key(Model::Binary, &e.raw)));
        }
        Backup {
            id,
            source,
            corpus,
            writer,
            streams,
            binary_order,
            bundles,
            binary_bundles,
        }
    }
}

/// Which requests count as what.
fn is_stream_post(e: &Exchange<Held>) -> bool {
    e.is("POST", STREAMS_PATH)
}

fn is_event_post(e: &Exchange<Held>) -> bool {
    e.is("POST", POST_EVENTS)
}

fn is_binary_post(e: &Exchange<Held>) -> bool {
    is_event_post(e) && e.param("model") == Some("binary")
}

fn is_system_post(e: &Exchange<Held>) -> bool {
    is_event_post(e) && matches!(e.param("model"), Some("insert" | "delete"))
}

/// `<source>/<label>/<sha256>` of a stream upload.
fn stream_of(e: &Exchange<Held>) -> String {
    let at = e.path.trim_start_matches(STREAMS_PATH);
    format!("{at}/{}", e.param("expected-sha256").unwrap_or_default())
}

/// When the restore is killed.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// Half-way through the third checkpoint's worth of streams.
    MidStreams,
    /// As soon as the first system insert/delete bundle is sent.
    FirstSystemBundle,
    /// After a dozen binary bundles were sent.
    MidBinary,
}

impl KillAt {
    fn describe(self) -> &'static str {
        match self {
            KillAt::MidStreams => "mid-streams",
            KillAt::FirstSystemBundle => "at the first system bundle",
            KillAt::MidBinary => "after a dozen binary bundles",
        }
    }

    fn reached(self, seen: &[Exchange<Held>]) -> bool {
        match self {
            KillAt::MidStreams => {
                seen.iter()
                    .filter(|e| is_stream_post(e) && e.succeeded())
                    .count()
                    >= 2 * CHECKPOINT_STREAMS + CHECKPOINT_STREAMS / 2
            }
            KillAt::FirstSystemBundle => seen.iter().any(is_system_post),
            KillAt::MidBinary => seen.iter().filter(|e| is_binary_post(e)).count() >= 12,
        }
    }

    /// The kill landed in the phase it aimed at, before that phase was over.
    fn assert_landed(self, first_run: &[Exchange<Held>], backup: &Backup) {
        let count = |f: fn(&Exchange<Held>) -> bool| first_run.iter().filter(|e| f(e)).count();
        match self {
            KillAt::MidStreams => assert!(
                count(is_event_post) == 0 && count(is_stream_post) < backup.streams.len(),
                "killed mid-streams"
            ),
            KillAt::FirstSystemBundle => {
                assert_eq!(count(is_stream_post), backup.streams.len());
                assert_eq!(count(is_binary_post), 0, "killed before any binary bundle");
            }
            KillAt::MidBinary => assert!(
                count(is_binary_post) < backup.binary_bundles,
                "killed before the last binary bundle"
            ),
        }
    }
}

/// How the first restore run ends.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// The harness kills it once the proxy has seen it reach a phase.
    Phase(KillAt),
    /// It kills itself the n-th time it passes a named crash point (`AZUL_CRASH_AT`).
    At(&'static str, u32),
    /// The harness kills it this long after its first request reached the destination.
    After(Duration),
}

/// Figures of one kill and resume.
#[derive(Debug, Default)]
struct Resumed {
    streams_reposted: usize,
    events_reposted: usize,
}

/// Restore `backup` into a slow destination, kill it with SIGKILL at `kill_at`, run it again
/// to the end, check everything and print the figures.
async fn kill_then_resume(s3: &S3, kill_at: KillAt) {
    let backup = Backup::make(s3).await;
    resume_after(s3, &backup, Kill::Phase(kill_at)).await;
    backup.writer.remove().await;
}

/// Restore `backup` into a fresh destination, end the first run by `kill`, run it again to the
/// end and check that everything arrived, in order.
async fn resume_after(s3: &S3, backup: &Backup, kill: Kill) -> Resumed {
    let what = match kill {
        Kill::Phase(at) => at.describe().to_string(),
        Kill::At(point, n) => format!("at {point}@{n}"),
        Kill::After(delay) => format!("{delay:?} after its first request"),
    };
    let (dest, dest_server) = destination(&SOURCES).await;
    // Slow posts give the harness time to catch the phases and random instants.
    if !matches!(kill, Kill::At(..)) {
        dest.add_fault(slow_posts(POST_STREAM, 15)).unwrap();
        dest.add_fault(slow_posts(POST_EVENTS, 60)).unwrap();
    }
    let observed = dest.clone();
    let proxy = Proxy::start(
        &dest_server.base_url,
        move || Held::of(&observed),
        |_, _| None,
    )
    .await;
    let state = tempfile::tempdir().unwrap();
    let env = RunEnv::new(s3, &proxy.url, state.path(), &SOURCES, &backup.id)
        .with("BK__CHECKPOINT_BINARY_COUNT", CHECKPOINT_STREAMS)
        .with("BK__STREAM_ROUTINE_COUNT", 2);

    let killed = match kill {
        Kill::Phase(kill_at) => {
            let running = Running::start(&["restore"], &env);
            eventually(&what, RUN_TIMEOUT, || {
                kill_at.reached(&proxy.exchanges()).then_some(())
            })
            .await;
            running.kill_hard().await
        }
        Kill::At(point, n) => {
            let crashing = env.clone().with("AZUL_CRASH_AT", format!("{point}@{n}"));
            let finished = Running::start(&["restore"], &crashing)
                .finish(RUN_TIMEOUT)
                .await;
            assert!(
                finished.stderr.contains("crash point"),
                "{what} was reached:\n{}",
                finished.transcript()
            );
            finished
        }
        Kill::After(delay) => {
            // Counted from the first request, so that start-up time (a compile, or a cached
            // component) does not decide whether the kill lands in the restore.
            let running = Running::start(&["restore"], &env);
            eventually("the restore's first request", RUN_TIMEOUT, || {
                (!proxy.exchanges().is_empty()).then_some(())
            })
            .await;
            tokio::time::sleep(delay).await;
            running.kill_hard().await
        }
    };
    assert_eq!(
        killed.status.signal(),
        Some(9),
        "the restore was still running when killed ({what}):\n{}",
        killed.transcript()
    );
    let first_run = proxy.exchanges();
    if let Kill::Phase(kill_at) = kill {
        kill_at.assert_landed(&first_run, backup);
    }
    proxy.begin_run(2);
    support_restore::restore(&env).await.assert_success();
    let all = proxy.exchanges();

    // Everything of the backup is in the destination, at least once.
    assert_eq!(stream_keys(&dest), backup.streams, "every stream restored");
    for s in &backup.corpus.streams {
        assert_eq!(
            dest.stream(&s.source, &s.label, &s.sha256),
            backup.source.stream(&s.source, &s.label, &s.sha256),
            "stream {}/{}/{} restored byte for byte",
            s.source,
            s.label,
            s.sha256
        );
    }
    for model in [Model::Binary, Model::Insert] {
        assert_eq!(
            distinct_keys(&dest, model),
            distinct_keys(&backup.source, model),
            "every {model} event restored"
        );
    }
    let expected_deletes = deletes_without_keys(&backup.source);
    let restored_deletes: BTreeSet<String> = deletes_without_keys(&dest).into_iter().collect();
    assert!(
        expected_deletes
            .iter()
            .all(|d| restored_deletes.contains(d)),
        "every delete event restored"
    );

    // Order: streams, then system, then binary; each binary type oldest bundle first.
    let (stream_total, insert_total, delete_total) = (
        backup.streams.len(),
        backup.corpus.count(Model::Insert),
        backup.corpus.count(Model::Delete),
    );
    for e in all.iter().filter(|e| is_event_post(e)) {
        assert_eq!(
            e.snapshot.streams, stream_total,
            "request {} ({} {}) arrived before every stream was restored",
            e.index, e.path, e.query
        );
    }
    for e in all.iter().filter(|e| is_binary_post(e)) {
        assert!(
            e.snapshot.insert_keys == insert_total && e.snapshot.deletes >= delete_total,
            "binary post {} arrived before every insert and delete was restored: {:?}",
            e.index,
            e.snapshot
        );
    }
    let restored_order = binary_keys_by_type(&dest);
    for (event_type, expected) in &backup.binary_order {
        let restored = restored_order.get(event_type).cloned().unwrap_or_default();
        assert_eq!(
            &first_occurrences(&restored),
            expected,
            "{event_type:?}: first arrivals follow the bundles' key order"
        );
    }

    let resumed = Resumed {
        streams_reposted: all
            .iter()
            .filter(|e| e.run == 2 && is_stream_post(e))
            .map(stream_of)
            .filter(|s| {
                first_run
                    .iter()
                    .any(|e| is_stream_post(e) && e.succeeded() && stream_of(e) == *s)
            })
            .count(),
        events_reposted: (keys(&dest, Model::Binary).len()
            + keys(&dest, Model::Insert).len()
            + dest.raw_events(Model::Delete).len())
        .saturating_sub(backup.corpus.count(Model::Binary) + insert_total + delete_total),
    };
    dest_server.shutdown().await.ok();
    if !matches!(kill, Kill::Phase(_)) {
        return resumed;
    }

    // The figures.
    let posted_streams: Vec<String> = all
        .iter()
        .filter(|e| is_stream_post(e) && e.succeeded())
        .map(stream_of)
        .collect();
    let before_kill: BTreeSet<String> = first_run
        .iter()
        .filter(|e| is_stream_post(e) && e.succeeded())
        .map(stream_of)
        .collect();
    let streams_reposted = all
        .iter()
        .filter(|e| e.run == 2 && is_stream_post(e) && before_kill.contains(&stream_of(e)))
        .count();
    let distinct_streams: BTreeSet<&String> = posted_streams.iter().collect();
    let bundle_posts = |run: usize| {
        all.iter()
            .filter(|e| e.run == run && is_event_post(e))
            .count()
    };
    let binary_held = keys(&dest, Model::Binary).len();
    let insert_held = keys(&dest, Model::Insert).len();
    let deletes_held = dest.raw_events(Model::Delete).len();
    println!(
        "kill -9 {what}: first run {} requests ({} stream uploads, {} event posts of which {} system, {} binary) before the kill",
        first_run.len(),
        first_run.iter().filter(|e| is_stream_post(e)).count(),
        first_run.iter().filter(|e| is_event_post(e)).count(),
        first_run.iter().filter(|e| is_system_post(e)).count(),
        first_run.iter().filter(|e| is_binary_post(e)).count(),
    );
    println!(
        "  streams: {} posted in total, {} distinct (backup holds {stream_total}); {streams_reposted} posted again after resume",
        posted_streams.len(),
        distinct_streams.len(),
    );
    println!(
        "  event posts: {} in the first run, {} in the rerun (backup holds {} bundles)",
        bundle_posts(1),
        bundle_posts(2),
        backup.bundles
    );
    println!(
        "  events held: binary {binary_held} ({} distinct), insert {insert_held} ({} distinct), delete {deletes_held} (backup holds {delete_total}); {} re-posted in all",
        distinct_keys(&dest, Model::Binary).len(),
        distinct_keys(&dest, Model::Insert).len(),
        (binary_held + insert_held + deletes_held)
            .saturating_sub(backup.corpus.count(Model::Binary) + insert_total + delete_total),
    );
    resumed
}

/// The named crash points of a restore, each at a few occurrences. The backup holds 56
/// streams (a checkpoint every 8) and 35 bundles.
const POINTS: [(&str, u32); 20] = [
    ("stream-posted", 1),
    ("stream-posted", 8),
    ("stream-posted", 9),
    ("stream-posted", 30),
    ("state-written", 1),
    ("state-written", 2),
    ("state-written", 5),
    ("state-written", 12),
    ("state-written", 20),
    ("events-posting", 1),
    ("events-posting", 2),
    ("events-posting", 6),
    ("events-posting", 15),
    ("events-posting", 30),
    ("events-posted", 1),
    ("events-posted", 4),
    ("events-posted", 5),
    ("events-posted", 12),
    ("events-posted", 25),
    ("events-posted", 33),
];

/// The crash harness for restore: one backup, restored into a fresh destination for each of
/// the crash points and a few seeded random instants (`AZUL_CRASH_RANDOM=N` for more), killed
/// there with SIGKILL and resumed; each time every stream and event arrives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_every_crash_point_then_resume_restores_everything_in_order() {
    let test = "kill_9_at_every_crash_point_then_resume_restores_everything_in_order";
    let Some(s3) = s3_or_skip(test) else { return };
    let random: usize = std::env::var("AZUL_CRASH_RANDOM")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut rng = StdRng::seed_from_u64(2027);
    let mut kills: Vec<Kill> = POINTS.iter().map(|&(p, n)| Kill::At(p, n)).collect();
    kills.extend(
        (0..random).map(|_| Kill::After(Duration::from_millis(rng.random_range(20..1000)))),
    );
    let backup = Backup::make(&s3).await;
    let mut total = Resumed::default();
    for (i, kill) in kills.iter().enumerate() {
        let resumed = resume_after(&s3, &backup, *kill).await;
        println!(
            "kill {:>2} {kill:?}: resumed; {} streams and {} events posted again",
            i + 1,
            resumed.streams_reposted,
            resumed.events_reposted
        );
        total.streams_reposted += resumed.streams_reposted;
        total.events_reposted += resumed.events_reposted;
    }
    backup.writer.remove().await;
    assert!(kills.len() >= 20);
    println!(
        "crash harness (restore): {} kills ({} crash points, {random} random instants) of a \
         backup of {} streams and {} bundles; streams lost 0, events lost 0, order kept; \
         duplicates: {} streams and {} events posted again",
        kills.len(),
        POINTS.len(),
        backup.streams.len(),
        backup.bundles,
        total.streams_reposted,
        total.events_reposted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_streams_then_resume_restores_everything_in_order() {
    if let Some(s3) = s3_or_skip("kill_during_streams_then_resume_restores_everything_in_order") {
        kill_then_resume(&s3, KillAt::MidStreams).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_system_events_then_resume_restores_everything_in_order() {
    if let Some(s3) =
        s3_or_skip("kill_during_system_events_then_resume_restores_everything_in_order")
    {
        kill_then_resume(&s3, KillAt::FirstSystemBundle).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_during_binary_events_then_resume_restores_everything_in_order() {
    if let Some(s3) =
        s3_or_skip("kill_during_binary_events_then_resume_restores_everything_in_order")
    {
        kill_then_resume(&s3, KillAt::MidBinary).await;
    }
}
