//! What an operator meets around a restore, with the real binary, component, S3 server and
//! dispatcher emulator: a wrong backup id (a missing bucket) is an error that names the
//! bucket, creates nothing and posts nothing — unlike the original, which silently created an
//! empty bucket and restored nothing (its defect B15); an empty backup is an error too; a
//! backup written by the original with its AES setting (`.aesc1` objects: a 24-byte header
//! before the gzip body, never actually encrypted — its defect B13) restores; SIGTERM stops a
//! restore promptly with a non-zero exit, in the streams phase and in the events phase, and
//! the same command run again finishes the job; and a restore that could not restore every
//! event of the backup does not report success.
//!
//! Needs the S3 server of `scripts/start-s3.sh` and the components of
//! `scripts/build-guests.sh`; without S3 the tests skip loudly, and fail under `CI`.

mod support_restore;

use azul_backup::avro::Model;
use support_restore::buckets::{
    BackupWriter, LEGACY_AES_SUFFIX, gzip, legacy_aes_wrapped, sha256_hex,
};
use support_restore::dispatcher::{
    POST_EVENTS, POST_STREAM, destination, distinct_keys, keys, slow_posts, stream_keys,
};
use support_restore::events::{
    BASE_MICROS, DAY_MICROS, MINUTE_MICROS, binary_sourced, binary_without_author, bulk,
    bundle_key, dispatcher_key, stream_content,
};
use support_restore::fixture::RestoreFixture;
use support_restore::proxy::Proxy;
use support_restore::{RUN_TIMEOUT, RunEnv, Running, eventually, s3_or_skip, unique_backup_id};

const TESTING: &str = "testing";
const SOURCES: [&str; 1] = [TESTING];

/// Sorted keys the dispatcher gives `events`.
fn dispatcher_keys(model: Model, events: &[Vec<u8>]) -> Vec<String> {
    let mut keys: Vec<String> = events.iter().map(|e| dispatcher_key(model, e)).collect();
    keys.sort();
    keys
}

/// `count` binary events of `testing`, each with its own stream, one a minute from `micros`.
fn testing_events(first: u32, count: u32, micros: i64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            binary_sourced(
                TESTING,
                &stream_content(TESTING, first + i),
                micros + i64::from(i) * MINUTE_MICROS,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_backup_id_is_an_error_naming_the_bucket_and_creates_nothing() {
    let Some(s3) = s3_or_skip("wrong_backup_id_is_an_error_naming_the_bucket_and_creates_nothing")
    else {
        return;
    };
    let wrong_id = unique_backup_id();
    let never_backed_up = BackupWriter::existing(&s3, &wrong_id).await;
    let (dest, dest_server) = destination(&SOURCES).await;
    let dispatcher = Proxy::plain(&dest_server.base_url).await;
    let state = tempfile::tempdir().unwrap();
    let env = RunEnv::new(&s3, &dispatcher.url, state.path(), &SOURCES, &wrong_id);

    let out = support_restore::restore(&env).await;

    out.assert_failure();
    let error = out.error_line();
    assert!(
        error.contains(&never_backed_up.events_bucket) && error.contains("does not exist"),
        "the error names the missing bucket: {error}"
    );
    for bucket in [
        &never_backed_up.events_bucket,
        &never_backed_up.streams_bucket,
    ] {
        assert!(
            !never_backed_up.s3.bucket_exists(bucket).await,
            "{bucket} was created by the restore"
        );
    }
    assert!(
        dispatcher.exchanges().is_empty(),
        "nothing reaches the dispatcher"
    );
    assert!(dest.stream_keys().is_empty() && dest.events(Model::Binary).is_empty());

    // Half a backup (its streams bucket missing) is refused the same way.
    let half_id = unique_backup_id();
    let half = BackupWriter::existing(&s3, &half_id).await;
    half.s3.create_bucket(&half.events_bucket).await;
    let events = testing_events(1, 1, BASE_MICROS);
    half.put_bundle(
        &bundle_key(TESTING, Model::Binary, "sourced", &events),
        &bulk(&events),
    )
    .await;
    let state = tempfile::tempdir().unwrap();
    let out = support_restore::restore(&RunEnv::new(
        &s3,
        &dispatcher.url,
        state.path(),
        &SOURCES,
        &half_id,
    ))
    .await;
    out.assert_failure();
    assert!(
        out.error_line().contains(&half.streams_bucket),
        "{}",
        out.error_line()
    );
    assert!(!half.s3.bucket_exists(&half.streams_bucket).await);
    assert!(dispatcher.exchanges().is_empty());
    half.remove().await;
    dest_server.shutdown().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_backup_is_an_error() {
    let Some(s3) = s3_or_skip("empty_backup_is_an_error") else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;

    let out = f.restore().await;

    out.assert_failure();
    assert!(
        out.error_line().contains("the backup is empty"),
        "{}",
        out.error_line()
    );
    assert!(f.dispatcher.exchanges().is_empty());
    f.stop().await;
}

/// The original with `aes_state: enabled` wrote `<key>.aesc1` objects whose payload follows
/// a 24-byte header in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_aes_bundle_and_stream_are_restored() {
    let Some(s3) = s3_or_skip("legacy_aes_bundle_and_stream_are_restored") else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;
    let content = stream_content(TESTING, 1);
    let sha256 = sha256_hex(&content);
    let stream_key = format!("testing/content/{sha256}{LEGACY_AES_SUFFIX}");
    f.backup
        .put_stream_object(&stream_key, legacy_aes_wrapped(&gzip(&content)))
        .await;
    let legacy = vec![binary_sourced(TESTING, &content, BASE_MICROS)];
    let legacy_key = format!(
        "{}{LEGACY_AES_SUFFIX}",
        bundle_key(TESTING, Model::Binary, "sourced", &legacy)
    );
    f.backup
        .put_event_object(&legacy_key, legacy_aes_wrapped(&gzip(&bulk(&legacy))))
        .await;
    let plain = testing_events(2, 2, BASE_MICROS + DAY_MICROS);
    let plain_key = bundle_key(TESTING, Model::Binary, "sourced", &plain);
    f.backup.put_bundle(&plain_key, &bulk(&plain)).await;

    let out = f.restore().await;

    out.assert_success();
    assert_eq!(
        f.dest.stream(TESTING, "content", &sha256).as_deref(),
        Some(&content[..]),
        "the stream is restored under its sha256, without the suffix"
    );
    let all: Vec<Vec<u8>> = legacy.iter().chain(&plain).cloned().collect();
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &all)
    );
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail"),
            stats.get(TESTING, "streams-ok"),
            stats.get(TESTING, "streams-fail"),
        ],
        [all.len() as u64, 0, 1, 0]
    );
    assert_eq!(
        f.env.streams_checkpoint(TESTING).as_deref(),
        Some(stream_key.as_str())
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(plain_key.as_str())
    );
    f.stop().await;
}

/// A stream object that cannot be restored (here: not gzip) is recorded and fails the run,
/// but does not hold back the events: they are posted after every stream was attempted.
/// `BK__RESTORE_TYPE=streams` restores only the streams (and fails again on the bad one),
/// `events` only the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_stream_fails_the_run_without_holding_back_events() {
    let Some(s3) = s3_or_skip("failed_stream_fails_the_run_without_holding_back_events") else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;
    let good_key = f
        .backup
        .put_stream(TESTING, "content", &stream_content(TESTING, 1))
        .await;
    f.backup
        .put_stream_object(
            &format!("testing/content/{}", sha256_hex(b"hello")),
            b"hello".to_vec(),
        )
        .await;
    let events = testing_events(2, 2, BASE_MICROS);
    f.backup
        .put_bundle(
            &bundle_key(TESTING, Model::Binary, "sourced", &events),
            &bulk(&events),
        )
        .await;

    let all = f.restore().await;
    all.assert_failure();
    assert_eq!(stream_keys(&f.dest), [good_key.clone()].into());
    assert_eq!(
        f.posts(POST_EVENTS),
        1,
        "the events are restored despite the bad stream"
    );
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &events)
    );

    let streams_only =
        support_restore::restore(&f.env.clone().with("BK__RESTORE_TYPE", "streams")).await;
    streams_only.assert_failure();
    assert_eq!(f.posts(POST_EVENTS), 1, "streams only");

    let stream_posts = f.posts("/api/v3/stream/");
    let events_only =
        support_restore::restore(&f.env.clone().with("BK__RESTORE_TYPE", "events")).await;
    events_only.assert_success();
    assert_eq!(f.posts("/api/v3/stream/"), stream_posts, "events only");
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &events)
    );
    f.stop().await;
}

/// A backup of `streams` streams and `bundles` one-event bundles of `testing/binary/sourced`.
async fn put_backup(f: &RestoreFixture, streams: u32, bundles: u32) -> Vec<Vec<u8>> {
    for n in 0..streams {
        f.backup
            .put_stream(TESTING, "content", &stream_content(TESTING, 1000 + n))
            .await;
    }
    let mut events = Vec::new();
    for n in 0..bundles {
        let bundle = testing_events(n, 1, BASE_MICROS + i64::from(n) * DAY_MICROS);
        f.backup
            .put_bundle(
                &bundle_key(TESTING, Model::Binary, "sourced", &bundle),
                &bulk(&bundle),
            )
            .await;
        events.extend(bundle);
    }
    events
}

/// Start a restore, SIGTERM it once `ready` holds for the requests seen so far, and wait
/// for it to exit. Returns the run and how many requests had arrived when the signal went.
async fn terminate_when(
    f: &RestoreFixture,
    env: &RunEnv,
    what: &str,
    ready: impl Fn(&RestoreFixture) -> bool,
) -> (support_restore::Finished, usize) {
    let running = Running::start(&["restore"], env);
    eventually(what, RUN_TIMEOUT, || ready(f).then_some(())).await;
    let arrived_before_signal = f.dispatcher.exchanges().len();
    running.signal("TERM");
    (running.finish(RUN_TIMEOUT).await, arrived_before_signal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_streams_stops_the_restore_and_a_rerun_completes_it() {
    let Some(s3) = s3_or_skip("sigterm_during_streams_stops_the_restore_and_a_rerun_completes_it")
    else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;
    let (streams, chunk) = (40, 5);
    let events = put_backup(&f, streams, 3).await;
    f.dest.add_fault(slow_posts(POST_STREAM, 40)).unwrap();
    let env = f
        .env
        .clone()
        .with("BK__CHECKPOINT_BINARY_COUNT", chunk)
        .with("BK__STREAM_ROUTINE_COUNT", 2);

    let (stopped, before_signal) = terminate_when(&f, &env, "a few chunks of streams", |f| {
        f.posts("/api/v3/stream/") >= 2 * chunk
    })
    .await;

    stopped.assert_failure();
    let after_signal: Vec<_> = f.dispatcher.exchanges()[before_signal..].to_vec();
    assert!(
        after_signal.len() <= chunk,
        "at most the chunk in progress is finished after SIGTERM, got {} requests",
        after_signal.len()
    );
    assert_eq!(f.posts(POST_EVENTS), 0, "no event before every stream");
    let posted_first = f.posts("/api/v3/stream/");
    assert!(posted_first < streams as usize, "stopped mid-way");

    f.dest.clear_faults();
    let rerun = support_restore::restore(&env).await;
    rerun.assert_success();
    assert_eq!(stream_keys(&f.dest).len(), streams as usize);
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &events)
    );
    let reposted = f.posts("/api/v3/stream/") - streams as usize;
    assert!(
        reposted < chunk,
        "the rerun resumes after the last checkpoint: {reposted} streams posted twice"
    );
    println!(
        "SIGTERM during streams: {posted_first} of {streams} streams posted before stopping, {reposted} posted again by the rerun"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_events_stops_the_restore_and_a_rerun_completes_it() {
    let Some(s3) = s3_or_skip("sigterm_during_events_stops_the_restore_and_a_rerun_completes_it")
    else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;
    let bundles = 20;
    let events = put_backup(&f, 2, bundles).await;
    f.dest.add_fault(slow_posts(POST_EVENTS, 100)).unwrap();

    let (stopped, before_signal) = terminate_when(&f, &f.env, "a few bundles posted", |f| {
        f.posts(POST_EVENTS) >= 3
    })
    .await;

    stopped.assert_failure();
    let posted_first = f.posts(POST_EVENTS);
    let after_signal = f.dispatcher.exchanges().len() - before_signal;
    assert!(
        after_signal <= 1,
        "the bundle in flight may finish, no other starts after SIGTERM: {after_signal} started \
         ({posted_first} of {bundles} bundles posted in all)\n{}",
        stopped.transcript()
    );
    let cursor = f
        .env
        .events_cursor(TESTING, "binary", "sourced")
        .expect("a cursor after the bundles posted");

    f.dest.clear_faults();
    let rerun = support_restore::restore(&f.env).await;
    rerun.assert_success();
    assert_eq!(
        distinct_keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &events)
            .into_iter()
            .collect(),
    );
    let reposted = f.posts(POST_EVENTS) - bundles as usize;
    assert!(
        reposted <= 1,
        "the rerun continues after {cursor}: {reposted} bundles posted twice"
    );
    f.stop().await;
}

/// The design's promise: a restore exits non-zero if anything failed. Here one bundle is not
/// gzip and one event is refused by the dispatcher: both are recorded and everything else is
/// restored, but the backup was not entirely restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_that_could_not_restore_every_event_exits_non_zero() {
    let Some(s3) = s3_or_skip("restore_that_could_not_restore_every_event_exits_non_zero") else {
        return;
    };
    let f = RestoreFixture::new(&s3, &SOURCES).await;
    let good = testing_events(1, 2, BASE_MICROS);
    f.backup
        .put_bundle(
            &bundle_key(TESTING, Model::Binary, "sourced", &good),
            &bulk(&good),
        )
        .await;
    f.backup
        .put_event_object(
            "testing/binary/sourced/2025-08-06T00:00:00Z-1-00000000000000000000000000000000",
            b"not gzip".to_vec(),
        )
        .await;
    let accepted_then_refused = vec![
        binary_sourced(
            TESTING,
            &stream_content(TESTING, 8),
            BASE_MICROS + 2 * DAY_MICROS,
        ),
        binary_without_author(
            TESTING,
            &stream_content(TESTING, 9),
            BASE_MICROS + 2 * DAY_MICROS + MINUTE_MICROS,
        ),
    ];
    f.backup
        .put_bundle(
            &bundle_key(TESTING, Model::Binary, "sourced", &accepted_then_refused),
            &bulk(&accepted_then_refused),
        )
        .await;

    let out = f.restore().await;

    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [good.len() as u64 + 1, 2]
    );
    assert_eq!(f.env.rejected().len(), 2);
    out.assert_failure();
    f.stop().await;
}
