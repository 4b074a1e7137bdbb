//! Verify policy against the fake host: what each kind of damage is reported as.

use super::*;
use crate::azul::backup::verification::{Problem, ProblemKind};
use crate::fake::FakeHost;
use crate::host::ErrorKind;

const A: &str = "testing/content/aaaa";
const B: &str = "testing/content/bbbb";
const C: &str = "samples/content/cccc";
const BUNDLE_1: &str = "testing/binary/sourced/2025-01-01T00:00:00Z-2-k1";
const BUNDLE_2: &str = "samples/binary/extracted/2025-01-02T00:00:00Z-1-k2";
const DELETES: &str = "system/delete/default/2025-01-03T00:00:00Z-1-k3";

fn config() -> VerifyConfig {
    VerifyConfig {
        source: None,
        read_data: false,
        workers: 3,
        retry_count: 3,
        retry_average_delay_ms: 1,
        max_listed_problems: 100,
    }
}

/// A complete backup: every referenced stream is present, every stream referenced.
fn good() -> FakeHost {
    let host = FakeHost::default();
    host.put_bundle(BUNDLE_1, 2, 0, &[A, B]);
    host.put_bundle(BUNDLE_2, 1, 1, &[C]);
    host.put_bundle(DELETES, 1, 0, &[]);
    for key in [A, B, C] {
        host.put(Bucket::Streams, key);
    }
    host
}

fn kinds(problems: &[Problem]) -> Vec<(ProblemKind, &str)> {
    problems.iter().map(|p| (p.kind, p.key.as_str())).collect()
}

#[test]
fn a_complete_backup_has_no_problems_and_its_totals() {
    let host = good();
    let report = run(&host, &config()).unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        (report.bundles, report.events, report.invalid_events),
        (3, 4, 1)
    );
    assert_eq!((report.referenced_streams, report.stream_objects), (3, 3));
    assert_eq!(report.streams_read, 0, "contents are read only when asked");
    assert!(
        host.0.borrow().key_sets.values().all(|s| s.is_empty()),
        "scratch sets are emptied"
    );
}

#[test]
fn a_missing_stream_and_an_unreferenced_one_are_found() {
    let host = good();
    host.remove(Bucket::Streams, B);
    host.put(Bucket::Streams, "testing/content/dddd");
    let report = run(&host, &config()).unwrap();
    assert_eq!(
        kinds(&report.problems),
        [
            (ProblemKind::Missing, B),
            (ProblemKind::Orphan, "testing/content/dddd")
        ]
    );
    assert_eq!((report.missing, report.orphans), (1, 1));
}

#[test]
fn bad_bundles_are_corrupt_or_undecodable_and_their_streams_orphans() {
    let host = good();
    // Not gzip: the fake has no summary for it.
    host.0.borrow_mut().bundles.remove(BUNDLE_2);
    let not_avro = "testing/binary/mapped/2025-01-05T00:00:00Z-1-k5";
    host.put(Bucket::Events, not_avro);
    host.0.borrow_mut().bundles.insert(
        not_avro.into(),
        crate::host::BundleContent::Undecodable("bad block".into()),
    );
    let short = "testing/binary/augmented/2025-01-06T00:00:00Z-5-k6";
    host.put_bundle(short, 4, 0, &[]);
    host.put(Bucket::Events, "testing/binary/sourced/deeper/key");
    host.0.borrow_mut().failing.insert(
        "testing/binary/sourced/deeper/key".into(),
        (ErrorKind::InvalidInput, false),
    );
    let report = run(&host, &config()).unwrap();
    let found = kinds(&report.problems);
    for expected in [
        (ProblemKind::Corrupt, BUNDLE_2),
        (ProblemKind::Undecodable, not_avro),
        (ProblemKind::Undecodable, short),
        (
            ProblemKind::Undecodable,
            "testing/binary/sourced/deeper/key",
        ),
        (ProblemKind::Orphan, C),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    let short_problem = report.problems.iter().find(|p| p.key == short).unwrap();
    assert_eq!(short_problem.detail, "holds 4 events, its name says 5");
    assert_eq!(
        report.bundles, 6,
        "every object of the events bucket is looked at"
    );
}

#[test]
fn a_flipped_stream_is_found_only_when_contents_are_read() {
    let host = good();
    host.0.borrow_mut().hashes.insert(A.into(), "ffff".into());
    assert_eq!(run(&host, &config()).unwrap().problems, vec![]);
    let report = run(
        &host,
        &VerifyConfig {
            read_data: true,
            ..config()
        },
    )
    .unwrap();
    assert_eq!(kinds(&report.problems), [(ProblemKind::Corrupt, A)]);
    assert_eq!(report.problems[0].detail, "content hashes to ffff");
    assert_eq!(report.streams_read, 3);
}

#[test]
fn objects_that_stay_unreadable_are_reported_not_skipped() {
    let host = good();
    host.0
        .borrow_mut()
        .failing
        .insert(BUNDLE_1.into(), (ErrorKind::Transient, true));
    let report = run(&host, &config()).unwrap();
    let found = kinds(&report.problems);
    assert!(
        found.contains(&(ProblemKind::Unreadable, BUNDLE_1)),
        "{found:?}"
    );
    // Its references are unknown, so its streams look unreferenced: say so too.
    assert!(found.contains(&(ProblemKind::Orphan, A)), "{found:?}");
}

#[test]
fn one_source_is_verified_alone_and_its_foreign_references_looked_up() {
    let host = good();
    // A testing bundle referencing a samples stream: checked by lookup, not by listing.
    host.put_bundle(
        "testing/binary/enriched/2025-01-07T00:00:00Z-1-k7",
        1,
        0,
        &[C, "samples/content/eeee"],
    );
    let report = run(
        &host,
        &VerifyConfig {
            source: Some("testing".into()),
            ..config()
        },
    )
    .unwrap();
    assert_eq!(report.bundles, 2, "only testing's bundles");
    assert_eq!(report.stream_objects, 2, "only testing's streams");
    assert_eq!(
        kinds(&report.problems),
        [(ProblemKind::Missing, "samples/content/eeee")]
    );
    let err = run(
        &host,
        &VerifyConfig {
            source: Some("a/b".into()),
            ..config()
        },
    )
    .unwrap_err();
    assert!(err.contains("not a source name"), "{err}");
}

#[test]
fn many_objects_are_checked_page_by_page_and_problems_capped() {
    let host = FakeHost::default();
    let streams: Vec<String> = (0..1200).map(|i| format!("s/content/{i:064x}")).collect();
    for (i, chunk) in streams.chunks(10).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        host.put_bundle(&format!("s/binary/sourced/t{i:04}-10-k"), 10, 0, &refs);
    }
    // Every other stream is missing.
    for key in streams.iter().step_by(2) {
        host.put(Bucket::Streams, key);
    }
    let report = run(
        &host,
        &VerifyConfig {
            read_data: true,
            max_listed_problems: 5,
            ..config()
        },
    )
    .unwrap();
    assert_eq!((report.bundles, report.events), (120, 1200));
    assert_eq!(report.referenced_streams, 1200);
    assert_eq!((report.stream_objects, report.streams_read), (600, 600));
    assert_eq!(report.missing, 600);
    assert_eq!(report.problems.len(), 5, "listed up to the cap");
}

#[test]
fn an_empty_backup_is_an_error_and_a_stop_ends_the_verify() {
    let err = run(&FakeHost::default(), &config()).unwrap_err();
    assert!(err.contains("nothing to verify"), "{err}");
    let host = good();
    host.0.borrow_mut().stop_after_posts = Some(0);
    let err = run(&host, &config()).unwrap_err();
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn workers_of_unknown_roles_and_bad_arguments_fail() {
    let host = good();
    assert!(run_worker(&host, "verify-other", b"{}").is_err());
    assert!(run_worker(&host, BUNDLE_ROLE, b"not json").is_err());
}
