//! The original azul-backup's restore tests (`cmd/restore_test.go`), ported to the real
//! `azul-backup restore` binary and restore component, a real S3 server and the dispatcher
//! emulator. Each test writes a small backup directly into fresh buckets, at the original's
//! keys and in its format, restores it into an empty dispatcher, and checks what the
//! dispatcher received, the end-of-run stats table, the exit status and the state files.
//!
//! Where the original only asserted its stats structure, these tests assert what the rules
//! make of each case: an unreadable bundle is recorded in `restore-rejected.events`, counted
//! as events-fail and skipped while the rest of its type is restored; a dispatcher that keeps
//! failing is retried (the client's own attempts times `BK__RETRY_COUNT`), then the type stops
//! with its cursor before the failed bundle and the process exits non-zero, and a rerun
//! continues from that bundle; events the dispatcher refuses (validity rules, with its silent
//! truncation of an avro bulk) are counted and listed one by one; a stream that is not gzip,
//! cannot be read from S3 or is refused by the dispatcher fails alone, is listed in
//! `restore-failed.stream`, keeps the source's checkpoint before it and fails the run.
//!
//! Needs the S3 server of `scripts/start-s3.sh` and the components of
//! `scripts/build-guests.sh`; without S3 the tests skip loudly, and fail under `CI`.

mod support_restore;

use azul_backup::avro::Model;
use support_restore::buckets::{gzip, sha256_hex};
use support_restore::dispatcher::{
    POST_EVENTS, POST_STREAM, failing_posts, keys, passing_posts, stream_keys,
};
use support_restore::events::{
    BASE_MICROS, DAY_MICROS, MINUTE_MICROS, binary_sourced, binary_without_author, bulk,
    bundle_key, dispatcher_key, insert, stream_content,
};
use support_restore::fixture::RestoreFixture;
use support_restore::proxy::{Injected, Proxy};
use support_restore::{StatsTable, s3_or_skip};

const TESTING: &str = "testing";
/// The five binary actions of a source plus system insert and delete.
const BINARY_TYPES: u64 = 5;
const SYSTEM_TYPES: u64 = 2;
/// Attempts the host's dispatcher client makes itself for one call that keeps failing with
/// a 5xx (`host/src/dispatcher`, `RetryPolicy::default`); the restore policy repeats such a
/// call `BK__RETRY_COUNT` times.
const CLIENT_ATTEMPTS_PER_CALL: usize = 3;
/// Attempts the AWS SDK makes for one S3 call that keeps failing with a 5xx (its standard
/// retry mode); the restore policy repeats such a call `BK__RETRY_COUNT` times.
const S3_CLIENT_ATTEMPTS_PER_CALL: usize = 3;

async fn fixture(test: &str) -> Option<RestoreFixture> {
    let s3 = s3_or_skip(test)?;
    Some(RestoreFixture::new(&s3, &[TESTING]).await)
}

/// Valid binary `sourced` events of `testing`, one minute apart from `micros`, each with its
/// own content stream numbered from `first`.
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

/// Sorted keys the dispatcher gives `events`.
fn dispatcher_keys(model: Model, events: &[&[Vec<u8>]]) -> Vec<String> {
    let mut keys: Vec<String> = events
        .iter()
        .flat_map(|bundle| bundle.iter())
        .map(|raw| dispatcher_key(model, raw))
        .collect();
    keys.sort();
    keys
}

/// Put `events` as one `testing/binary/sourced/` bundle; returns its key.
async fn put_testing_bundle(f: &RestoreFixture, events: &[Vec<u8>]) -> String {
    let key = bundle_key(TESTING, Model::Binary, "sourced", events);
    f.backup.put_bundle(&key, &bulk(events)).await;
    key
}

fn assert_types_complete(stats: &StatsTable, testing: u64) {
    assert_eq!(
        stats.get(TESTING, "event-types-complete"),
        testing,
        "testing event types completed: {stats:?}"
    );
    assert_eq!(
        stats.get("system", "event-types-complete"),
        SYSTEM_TYPES,
        "system event types completed: {stats:?}"
    );
}

/// TestEventsStoreFetchError, with the unreadable bundle between two good ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_bundle_is_recorded_and_counted_and_the_others_are_restored() {
    let Some(f) =
        fixture("unreadable_bundle_is_recorded_and_counted_and_the_others_are_restored").await
    else {
        return;
    };
    let day1 = testing_events(1, 2, BASE_MICROS);
    let day3 = testing_events(3, 1, BASE_MICROS + 2 * DAY_MICROS);
    let inserts = vec![insert(1, BASE_MICROS)];
    let first = put_testing_bundle(&f, &day1).await;
    let junk = "testing/binary/sourced/2025-08-06T00:00:00Z-1-0123456789abcdef0123456789abcdef";
    f.backup
        .put_event_object(junk, b"these bytes are not a gzip stream".to_vec())
        .await;
    let last = put_testing_bundle(&f, &day3).await;
    let insert_key = bundle_key("system", Model::Insert, "default", &inserts);
    f.backup.put_bundle(&insert_key, &bulk(&inserts)).await;
    assert!(first.as_str() < junk && junk < last.as_str(), "key order");

    let out = f.restore().await;

    let stats = out.restore_stats();
    let restored = (day1.len() + day3.len()) as u64;
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [restored, 1],
        "the unreadable bundle counts as one failure:\n{}",
        out.transcript()
    );
    assert_eq!(stats.get("system", "events-ok"), inserts.len() as u64);
    assert_types_complete(&stats, BINARY_TYPES);
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&day1, &day3])
    );
    assert_eq!(
        keys(&f.dest, Model::Insert),
        dispatcher_keys(Model::Insert, &[&inserts])
    );
    let rejected = f.env.rejected();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["bundle"], junk);
    assert!(rejected[0]["event"].is_null(), "{rejected:?}");
    assert!(
        rejected[0]["error"].as_str().unwrap_or("").contains("gzip"),
        "{rejected:?}"
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(last.as_str())
    );
    f.stop().await;
}

/// TestEventsStoreFetchError with a real store failure: S3 answers 500 for one bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_s3_cannot_serve_stops_its_type_before_it_and_a_rerun_continues() {
    let Some(f) =
        fixture("bundle_s3_cannot_serve_stops_its_type_before_it_and_a_rerun_continues").await
    else {
        return;
    };
    let day1 = testing_events(1, 2, BASE_MICROS);
    let day2 = testing_events(3, 2, BASE_MICROS + DAY_MICROS);
    let day3 = testing_events(5, 1, BASE_MICROS + 2 * DAY_MICROS);
    let inserts = vec![insert(1, BASE_MICROS)];
    let first = put_testing_bundle(&f, &day1).await;
    let unservable = put_testing_bundle(&f, &day2).await;
    let last = put_testing_bundle(&f, &day3).await;
    let insert_key = bundle_key("system", Model::Insert, "default", &inserts);
    f.backup.put_bundle(&insert_key, &bulk(&inserts)).await;
    let object_path = format!("/{}/{unservable}", f.backup.events_bucket);
    let s3 = Proxy::faulting(&f.s3.endpoint, move |method, path| {
        (method == "GET" && path == object_path).then(Injected::s3_internal_error)
    })
    .await;
    let env = f
        .env
        .clone()
        .with("BK__EXTERNAL_BACKUP__ENDPOINT", &s3.url)
        .with("BK__RETRY_COUNT", 2);

    let out = support_restore::restore(&env).await;

    out.assert_failure();
    assert!(
        out.error_line().contains(&unservable),
        "the error names the bundle:\n{}",
        out.transcript()
    );
    let gets = s3
        .matching("GET", &format!("/{}/{unservable}", f.backup.events_bucket))
        .len();
    assert_eq!(
        gets,
        S3_CLIENT_ATTEMPTS_PER_CALL * env.retry_count(),
        "the read is retried"
    );
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&day1]),
        "nothing after the unservable bundle is posted"
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(first.as_str())
    );
    let stats = out.restore_stats();
    assert_types_complete(&stats, BINARY_TYPES - 1);
    assert_eq!(stats.get("system", "events-ok"), 1);

    // S3 serves it again: the rerun continues with it, and posts nothing twice.
    let rerun = f.restore().await;
    rerun.assert_success();
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&day1, &day2, &day3])
    );
    assert_eq!(
        keys(&f.dest, Model::Insert),
        dispatcher_keys(Model::Insert, &[&inserts])
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(last.as_str())
    );
    f.stop().await;
}

/// TestEventsDPError: the dispatcher answers 503 to every POST after the first bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_failing_is_retried_then_stops_before_the_failed_bundle() {
    let Some(f) =
        fixture("dispatcher_failing_is_retried_then_stops_before_the_failed_bundle").await
    else {
        return;
    };
    let day1 = testing_events(1, 2, BASE_MICROS);
    let day2 = testing_events(3, 3, BASE_MICROS + DAY_MICROS);
    let first = put_testing_bundle(&f, &day1).await;
    let failed = put_testing_bundle(&f, &day2).await;
    f.dest.add_fault(passing_posts(POST_EVENTS, 1)).unwrap();
    f.dest
        .add_fault(failing_posts(POST_EVENTS, 503, None))
        .unwrap();

    let out = f.restore().await;

    out.assert_failure();
    assert!(
        out.error_line().contains(&failed),
        "the error names the failed bundle:\n{}",
        out.transcript()
    );
    assert_eq!(
        f.posts(POST_EVENTS),
        1 + CLIENT_ATTEMPTS_PER_CALL * f.env.retry_count(),
        "one good post, then the failed bundle retried"
    );
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&day1])
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(first.as_str()),
        "the cursor stays before the failed bundle"
    );
    let stats = out.restore_stats();
    assert_eq!(stats.get(TESTING, "events-ok"), day1.len() as u64);
    assert_types_complete(&stats, BINARY_TYPES - 1);

    // The dispatcher recovers: the rerun posts the failed bundle and nothing before it.
    f.dest.clear_faults();
    let posts_before = f.posts(POST_EVENTS);
    let rerun = f.restore().await;
    rerun.assert_success();
    assert_eq!(f.posts(POST_EVENTS) - posts_before, 1);
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&day1, &day2])
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(failed.as_str())
    );
    assert_eq!(
        rerun.restore_stats().get(TESTING, "events-ok"),
        day2.len() as u64
    );
    f.stop().await;
}

/// TestEventsInvalid: the original's two bundles that are gzip but not avro, plus a bundle
/// whose middle event fails the dispatcher's validity rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_dispatcher_refuses_are_counted_and_listed() {
    let Some(f) = fixture("events_the_dispatcher_refuses_are_counted_and_listed").await else {
        return;
    };
    let not_avro = [
        ("testing/binary/sourced/2000-01-01T01:00:00Z-1", &b"{}"[..]),
        (
            "testing/binary/sourced/2000-01-01T02:00:00Z-1",
            &b"{}df"[..],
        ),
    ];
    for (key, body) in not_avro {
        f.backup.put_event_object(key, gzip(body)).await;
    }
    let valid_before = binary_sourced(TESTING, &stream_content(TESTING, 1), BASE_MICROS);
    let invalid = binary_without_author(
        TESTING,
        &stream_content(TESTING, 2),
        BASE_MICROS + MINUTE_MICROS,
    );
    let valid_after = binary_sourced(
        TESTING,
        &stream_content(TESTING, 3),
        BASE_MICROS + 2 * MINUTE_MICROS,
    );
    let mixed = vec![valid_before.clone(), invalid, valid_after.clone()];
    let mixed_key = put_testing_bundle(&f, &mixed).await;

    let out = f.restore().await;

    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [2, 2 + 1],
        "two unreadable bundles and one refused event:\n{}",
        out.transcript()
    );
    assert_types_complete(&stats, BINARY_TYPES);
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&[valid_before, valid_after]]),
        "the events around the refused one are restored"
    );
    let rejected = f.env.rejected();
    let bundles: Vec<&str> = rejected
        .iter()
        .map(|r| r["bundle"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(bundles, [not_avro[0].0, not_avro[1].0, mixed_key.as_str()]);
    assert!(rejected[..2].iter().all(|r| r["event"].is_null()));
    let refused: serde_json::Value =
        serde_json::from_str(rejected[2]["event"].as_str().expect("the refused event"))
            .expect("the refused event is JSON");
    assert_eq!(refused["author"]["name"], "", "{refused}");
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(mixed_key.as_str())
    );
    f.stop().await;
}

/// The dispatcher truncates an avro bulk at its first invalid event; when that is the first
/// event nothing is left to publish and it answers 425 ("all filtered out"). The valid events
/// after it must still be restored, and the invalid one counted and listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_whose_first_event_is_refused_still_restores_the_others() {
    let Some(f) = fixture("bundle_whose_first_event_is_refused_still_restores_the_others").await
    else {
        return;
    };
    let invalid = binary_without_author(TESTING, &stream_content(TESTING, 1), BASE_MICROS);
    let valid = testing_events(2, 2, BASE_MICROS + MINUTE_MICROS);
    let bundle: Vec<Vec<u8>> = std::iter::once(invalid).chain(valid.clone()).collect();
    let key = put_testing_bundle(&f, &bundle).await;

    let out = f.restore().await;

    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&valid]),
        "the valid events of the bundle are restored:\n{}",
        out.transcript()
    );
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [valid.len() as u64, 1]
    );
    let rejected = f.env.rejected();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["bundle"], key);
    assert!(
        rejected[0]["event"].is_string(),
        "the refused event is listed: {rejected:?}"
    );
    f.stop().await;
}

/// The dispatcher's silent truncation (`total_ok` short of what was sent, no failure): the
/// rest of the bundle is posted event by event and nothing is lost or counted as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silently_truncated_bundle_is_completed_event_by_event() {
    let Some(f) = fixture("silently_truncated_bundle_is_completed_event_by_event").await else {
        return;
    };
    let events = testing_events(1, 4, BASE_MICROS);
    put_testing_bundle(&f, &events).await;
    let published_of_first_post = 1;
    f.dest
        .add_fault(azul_dispatcher_emulator::faults::FaultRule {
            truncate_at: Some(published_of_first_post),
            count: Some(1),
            ..passing_posts(POST_EVENTS, 1)
        })
        .unwrap();

    let out = f.restore().await;

    out.assert_success();
    assert_eq!(
        f.posts(POST_EVENTS),
        1 + events.len() - published_of_first_post,
        "the bundle, then each event it did not take"
    );
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&events])
    );
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [events.len() as u64, 0]
    );
    assert!(f.env.rejected().is_empty());
    f.stop().await;
}

/// TestEvents: one valid bundle, posted as the original posts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_events_are_restored_with_the_originals_post_parameters() {
    let Some(f) = fixture("valid_events_are_restored_with_the_originals_post_parameters").await
    else {
        return;
    };
    let events = testing_events(1, 1, BASE_MICROS);
    let key = put_testing_bundle(&f, &events).await;

    let out = f.restore().await;

    out.assert_success();
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "events-ok"),
            stats.get(TESTING, "events-fail")
        ],
        [1, 0]
    );
    assert_types_complete(&stats, BINARY_TYPES);
    assert_eq!(
        keys(&f.dest, Model::Binary),
        dispatcher_keys(Model::Binary, &[&events])
    );
    let posts = f.dispatcher.matching("POST", POST_EVENTS);
    assert_eq!(posts.len(), 1);
    for (param, value) in [
        ("model", "binary"),
        ("avro-format", "true"),
        ("sync", "true"),
        ("pause_plugins", "true"),
    ] {
        assert_eq!(posts[0].param(param), Some(value), "{param}: {posts:?}");
    }
    assert!(
        f.dest.last_pause_time().is_some(),
        "the dispatcher was asked to pause plugins"
    );
    assert_eq!(
        f.env.events_cursor(TESTING, "binary", "sourced").as_deref(),
        Some(key.as_str())
    );
    f.stop().await;
}

/// TestStreamsInvalid: a stream object that is not gzip fails alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_object_that_is_not_gzip_fails_alone() {
    let Some(f) = fixture("stream_object_that_is_not_gzip_fails_alone").await else {
        return;
    };
    let bad_key = format!("testing/content/{}", sha256_hex(b"hello"));
    f.backup
        .put_stream_object(&bad_key, b"hello".to_vec())
        .await;
    let good = stream_content(TESTING, 1);
    let good_key = f.backup.put_stream(TESTING, "content", &good).await;

    let out = f.restore().await;

    out.assert_failure();
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "streams-ok"),
            stats.get(TESTING, "streams-fail")
        ],
        [1, 1],
        "{}",
        out.transcript()
    );
    assert_eq!(f.env.failed_streams(), [bad_key.as_str()]);
    assert_eq!(stream_keys(&f.dest), [good_key].into());
    assert_eq!(
        f.posts(POST_STREAM.trim_end_matches('*')),
        1,
        "an object that is not gzip is never posted"
    );
    assert_eq!(
        f.env.streams_checkpoint(TESTING),
        None,
        "no checkpoint past a failed stream"
    );
    f.stop().await;
}

/// TestStreamsStoreError: S3 answers 500 for one stream object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_object_s3_cannot_serve_fails_alone_and_a_rerun_restores_it() {
    let Some(f) =
        fixture("stream_object_s3_cannot_serve_fails_alone_and_a_rerun_restores_it").await
    else {
        return;
    };
    let unservable = stream_content(TESTING, 1);
    let unservable_key = f.backup.put_stream(TESTING, "content", &unservable).await;
    let good = stream_content(TESTING, 2);
    let good_key = f.backup.put_stream(TESTING, "content", &good).await;
    let object_path = format!("/{}/{unservable_key}", f.backup.streams_bucket);
    let s3 = Proxy::faulting(&f.s3.endpoint, move |method, path| {
        (method == "GET" && path == object_path).then(Injected::s3_internal_error)
    })
    .await;
    let env = f
        .env
        .clone()
        .with("BK__EXTERNAL_BACKUP__ENDPOINT", &s3.url)
        .with("BK__RETRY_COUNT", 2);

    let out = support_restore::restore(&env).await;

    out.assert_failure();
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "streams-ok"),
            stats.get(TESTING, "streams-fail")
        ],
        [1, 1],
        "{}",
        out.transcript()
    );
    assert_eq!(f.env.failed_streams(), [unservable_key.as_str()]);
    assert_eq!(
        s3.matching(
            "GET",
            &format!("/{}/{unservable_key}", f.backup.streams_bucket)
        )
        .len(),
        S3_CLIENT_ATTEMPTS_PER_CALL * env.retry_count(),
        "the read is retried"
    );
    assert_eq!(stream_keys(&f.dest), [good_key.clone()].into());
    assert_eq!(f.env.streams_checkpoint(TESTING), None);

    let rerun = f.restore().await;
    rerun.assert_success();
    assert_eq!(
        stream_keys(&f.dest),
        [good_key.clone(), unservable_key.clone()].into()
    );
    assert_eq!(
        f.dest
            .stream(TESTING, "content", &sha256_hex(&unservable))
            .as_deref(),
        Some(&unservable[..])
    );
    assert_eq!(
        f.env.streams_checkpoint(TESTING).as_deref(),
        Some(good_key.max(unservable_key).as_str())
    );
    f.stop().await;
}

/// TestStreamsDPError: the dispatcher answers 500 to every upload of one stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_the_dispatcher_refuses_is_retried_then_fails_alone() {
    let Some(f) = fixture("stream_the_dispatcher_refuses_is_retried_then_fails_alone").await else {
        return;
    };
    let refused = stream_content(TESTING, 1);
    let refused_key = f.backup.put_stream(TESTING, "text", &refused).await;
    let good = stream_content(TESTING, 2);
    let good_key = f.backup.put_stream(TESTING, "content", &good).await;
    f.dest
        .add_fault(failing_posts("/api/v3/stream/testing/text", 500, None))
        .unwrap();

    let out = f.restore().await;

    out.assert_failure();
    assert_eq!(
        f.posts("/api/v3/stream/testing/text"),
        CLIENT_ATTEMPTS_PER_CALL * f.env.retry_count()
    );
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "streams-ok"),
            stats.get(TESTING, "streams-fail")
        ],
        [1, 1],
        "{}",
        out.transcript()
    );
    assert_eq!(f.env.failed_streams(), [refused_key.as_str()]);
    assert_eq!(stream_keys(&f.dest), [good_key.clone()].into());
    assert_eq!(f.env.streams_checkpoint(TESTING), None);

    f.dest.clear_faults();
    let rerun = f.restore().await;
    rerun.assert_success();
    assert_eq!(stream_keys(&f.dest), [good_key, refused_key].into());
    f.stop().await;
}

/// TestStreams: gzip("hello") is posted as "hello", under its sha256, the fast restore way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_restored_with_the_originals_upload_parameters() {
    let Some(f) = fixture("streams_are_restored_with_the_originals_upload_parameters").await else {
        return;
    };
    let key = f.backup.put_stream(TESTING, "content", b"hello").await;
    let sha256 = sha256_hex(b"hello");

    let out = f.restore().await;

    out.assert_success();
    let stats = out.restore_stats();
    assert_eq!(
        [
            stats.get(TESTING, "streams-ok"),
            stats.get(TESTING, "streams-fail"),
            stats.get(TESTING, "streams-complete"),
        ],
        [1, 0, 1]
    );
    assert_types_complete(&stats, BINARY_TYPES);
    assert_eq!(
        f.dest.stream(TESTING, "content", &sha256).as_deref(),
        Some(&b"hello"[..])
    );
    let posts = f
        .dispatcher
        .matching("POST", "/api/v3/stream/testing/content");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].param("skip-identify"), Some("true"));
    assert_eq!(posts[0].param("expected-sha256"), Some(sha256.as_str()));
    assert_eq!(
        f.env.streams_checkpoint(TESTING).as_deref(),
        Some(key.as_str())
    );
    f.stop().await;
}
