use std::sync::Arc;

use prometheus::proto::MetricType;

use super::{families, labels};
use crate::metrics::{RunMetrics, Stats};
use crate::runtime::Kind;

fn backup_stats() -> (Arc<RunMetrics>, Stats) {
    let metrics = Arc::new(RunMetrics::new().unwrap());
    let stats = Stats::exporting(metrics.clone(), Kind::Backup);
    (metrics, stats)
}

#[test]
fn backup_updates_the_originals_series() {
    let (metrics, stats) = backup_stats();
    stats.add("samples", "events-ok", 2);
    stats.add("samples", "events-ok", 3);
    stats.add("samples", "streams-missing", 1);
    stats.add("samples", "events-invalid", 4);
    stats.add("", "cant-be-backed-up:samples/content/abc", 1);
    stats.event_error("samples", "binary/sourced", "FetchEvents");
    stats.object_error("BackupStreamStashAppend1");

    let found = families(&metrics);
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "recovery_backup_events_error",
            "recovery_backup_object_error",
            "recovery_backup_stats",
            "recovery_backup_stream_cant_be_backed_up",
        ]
    );
    let gauge = &found["recovery_backup_stats"];
    assert_eq!(gauge.0, MetricType::GAUGE);
    // Gauges mirror the per-source totals; events-invalid is never exported (as before).
    assert_eq!(
        gauge
            .1
            .iter()
            .map(|(l, v)| (l.clone(), *v))
            .collect::<Vec<_>>(),
        [
            (labels(&[("source", "samples"), ("stat", "events-ok")]), 5.0),
            (
                labels(&[("source", "samples"), ("stat", "streams-missing")]),
                1.0
            ),
        ]
    );
    let events_error = &found["recovery_backup_events_error"];
    assert_eq!(events_error.0, MetricType::COUNTER);
    let key = labels(&[
        ("event", "binary/sourced"),
        ("keyword", "FetchEvents"),
        ("source", "samples"),
    ]);
    assert_eq!(events_error.1[&key], 1.0);
    let object_error = &found["recovery_backup_object_error"];
    assert_eq!(object_error.0, MetricType::COUNTER);
    assert_eq!(
        object_error.1[&labels(&[("keyword", "BackupStreamStashAppend1")])],
        1.0
    );
    let failed = &found["recovery_backup_stream_cant_be_backed_up"];
    assert_eq!(failed.0, MetricType::COUNTER);
    assert_eq!(
        failed.1[&labels(&[("streampath", "samples/content/abc")])],
        1.0
    );
}

#[test]
fn restore_updates_the_originals_series() {
    let metrics = Arc::new(RunMetrics::new().unwrap());
    let stats = Stats::exporting(metrics.clone(), Kind::Restore);
    stats.add("samples", "events-ok", 7);
    stats.add("samples", "streams-fail", 1);
    stats.add("samples", "events-filtered", 2);
    stats.add("samples", "event-types-started", 1);
    stats.add("samples", "event-types-started", 1);
    stats.add("samples", "event-types-complete", 1);
    stats.add("samples", "streams-complete", 1);

    let found = families(&metrics);
    let source = labels(&[("source", "samples")]);
    let expected = [
        (
            "recovery_completed_event_types_for_source",
            MetricType::GAUGE,
            1.0,
        ),
        ("recovery_stream_restore_complete", MetricType::GAUGE, 1.0),
        (
            "recovery_total_event_types_for_source",
            MetricType::COUNTER,
            2.0,
        ),
    ];
    for (name, kind, value) in expected {
        assert_eq!(found[name].0, kind, "{name}");
        assert_eq!(found[name].1[&source], value, "{name}");
    }
    let restore = &found["recovery_restore_stats"];
    assert_eq!(restore.0, MetricType::GAUGE);
    assert_eq!(
        restore.1.keys().cloned().collect::<Vec<_>>(),
        [
            labels(&[("source", "samples"), ("stat", "events-ok")]),
            labels(&[("source", "samples"), ("stat", "streams-fail")]),
        ]
    );
    assert!(!found.contains_key("recovery_backup_stats"));
}

#[test]
fn every_run_has_its_own_registry() {
    let (first, first_stats) = backup_stats();
    let (second, _) = backup_stats();
    first_stats.add("samples", "streams-ok", 1);
    assert!(families(&first).contains_key("recovery_backup_stats"));
    assert!(families(&second).is_empty());
}

#[test]
fn the_text_format_names_types_and_buckets() {
    let (metrics, stats) = backup_stats();
    stats.add("samples", "streams-ok", 3);
    metrics
        .store_op_duration
        .with_label_values(&["put", "ok"])
        .observe(0.2);
    let text = metrics.encode().unwrap();
    for line in [
        "# TYPE recovery_backup_stats gauge",
        "recovery_backup_stats{source=\"samples\",stat=\"streams-ok\"} 3",
        "# TYPE recovery_streams_op_duration histogram",
        "recovery_streams_op_duration_bucket{method=\"put\",result=\"ok\",le=\"0.25\"} 1",
        "recovery_streams_op_duration_bucket{method=\"put\",result=\"ok\",le=\"60\"} 1",
        "recovery_streams_op_duration_count{method=\"put\",result=\"ok\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    #[cfg(target_os = "linux")]
    assert!(text.contains("process_resident_memory_bytes"), "{text}");
}

#[test]
fn stats_api_is_unchanged_and_run_wide_counters_get_no_row() {
    let (_, stats) = backup_stats();
    stats.add("samples", "events-ok", 2);
    stats.add("system", "events-ok", 1);
    stats.object_error("BackupStreamStashAppend2");
    assert_eq!(stats.get("samples", "events-ok"), 2);
    assert_eq!(stats.total("events-ok"), 3);
    assert_eq!(stats.get("", "object-error:BackupStreamStashAppend2"), 1);
    assert_eq!(stats.snapshot().len(), 3);
    assert_eq!(
        stats.table(&["events-ok", "streams-ok"]),
        "source   events-ok  streams-ok\nsamples  2          0\nsystem   1          0"
    );
    // A clone shares the counts (the stats printer reads the run's).
    stats.clone().add("samples", "events-ok", 1);
    assert_eq!(stats.get("samples", "events-ok"), 3);
}
