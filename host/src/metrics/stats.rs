//! Per-source counters aggregated across all workers of a run: the end-of-run tables, and
//! the Prometheus series that mirror them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::RunMetrics;
use crate::runtime::Kind;

/// `add("", "cant-be-backed-up:<key>", 1)`: a stream given up on, by its full key.
pub const CANT_BE_BACKED_UP: &str = "cant-be-backed-up:";
/// `add("", "retry:<cause>", 1)`: a component retried an operation (`fetch`, `bundle-put`…).
pub const RETRY: &str = "retry:";

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// `source → stat → count`, in a stable order for printing. Clones share the same counts.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    counts: Arc<Mutex<Counts>>,
    /// Where the counts are mirrored; none for throw-away runs.
    export: Option<Export>,
}

#[derive(Debug, Clone)]
struct Export {
    metrics: Arc<RunMetrics>,
    kind: Kind,
}

impl Stats {
    /// Counts that also update `metrics`: the series of a backup or of a restore.
    pub fn exporting(metrics: Arc<RunMetrics>, kind: Kind) -> Self {
        Stats {
            counts: Default::default(),
            export: Some(Export { metrics, kind }),
        }
    }

    /// The run's Prometheus series, when it exports any.
    pub fn metrics(&self) -> Option<&Arc<RunMetrics>> {
        self.export.as_ref().map(|e| &e.metrics)
    }

    pub fn add(&self, source: &str, stat: &str, delta: u64) {
        self.bump(source, stat, delta, |export, total| {
            export.mirror(source, stat, delta, total)
        });
    }

    /// A failed event-consumer operation; `event` is `<model>/<action>` or `<model>`.
    pub fn event_error(&self, source: &str, event: &str, keyword: &str) {
        self.bump(
            source,
            &format!("event-error:{event}:{keyword}"),
            1,
            |export, _| {
                let labels = [source, event, keyword];
                export.metrics.events_error.with_label_values(&labels).inc();
            },
        );
    }

    /// A stream request that could not be recorded; run-wide, so under the source "".
    pub fn object_error(&self, keyword: &str) {
        self.bump("", &format!("object-error:{keyword}"), 1, |export, _| {
            export
                .metrics
                .object_error
                .with_label_values(&[keyword])
                .inc();
        });
    }

    pub fn get(&self, source: &str, stat: &str) -> u64 {
        let counts = self.lock();
        counts
            .get(source)
            .and_then(|s| s.get(stat))
            .copied()
            .unwrap_or(0)
    }

    /// Sum of `stat` over all sources.
    pub fn total(&self, stat: &str) -> u64 {
        self.lock().values().filter_map(|s| s.get(stat)).sum()
    }

    pub fn snapshot(&self) -> Counts {
        self.lock().clone()
    }

    /// A space-aligned table with one row per source and the given columns.
    pub fn table(&self, columns: &[&str]) -> String {
        self.table_with(columns, |_, count| count.to_string())
    }

    /// [`Stats::table`] with each cell rendered by `cell(column, count)`. Run-wide counters
    /// (source "") are not a source and get no row.
    pub fn table_with(&self, columns: &[&str], cell: impl Fn(&str, u64) -> String) -> String {
        let header =
            std::iter::once("source".to_string()).chain(columns.iter().map(|c| c.to_string()));
        let mut rows = vec![header.collect::<Vec<_>>()];
        for (source, stats) in self.snapshot().iter().filter(|(s, _)| !s.is_empty()) {
            let cells = columns
                .iter()
                .map(|c| cell(c, stats.get(*c).copied().unwrap_or(0)));
            rows.push(std::iter::once(source.clone()).chain(cells).collect());
        }
        align(&rows)
    }

    /// Adds `delta` and, under the same lock so mirrors never go backwards, updates the
    /// exported series with the new per-source total.
    fn bump(&self, source: &str, stat: &str, delta: u64, mirror: impl FnOnce(&Export, u64)) {
        let mut counts = self.lock();
        let count = counts
            .entry(source.to_string())
            .or_default()
            .entry(stat.to_string())
            .or_default();
        *count += delta;
        if let Some(export) = &self.export {
            mirror(export, *count);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Export {
    /// The original's series for each stats field; other stats (e.g. `events-invalid`) are
    /// only in the table.
    fn mirror(&self, source: &str, stat: &str, delta: u64, total: u64) {
        let m = &self.metrics;
        if let Some(key) = stat.strip_prefix(CANT_BE_BACKED_UP) {
            m.stream_cant_be_backed_up
                .with_label_values(&[key])
                .inc_by(delta);
            return;
        }
        if let Some(cause) = stat.strip_prefix(RETRY) {
            m.ops.retries.with_label_values(&[cause]).inc_by(delta);
            return;
        }
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        match (self.kind, stat) {
            (
                Kind::Backup,
                "events-ok" | "events-fail" | "streams-ok" | "streams-missing" | "streams-fail",
            ) => m.backup_stats.with_label_values(&[source, stat]).set(total),
            (Kind::Restore, "events-ok" | "events-fail" | "streams-ok" | "streams-fail") => m
                .restore_stats
                .with_label_values(&[source, stat])
                .set(total),
            (Kind::Restore, "event-types-started") => m
                .total_event_types
                .with_label_values(&[source])
                .inc_by(delta),
            (Kind::Restore, "event-types-complete") => m
                .completed_event_types
                .with_label_values(&[source])
                .set(total),
            (Kind::Restore, "streams-complete") => m
                .stream_restore_complete
                .with_label_values(&[source])
                .set(i64::from(total > 0)),
            _ => {}
        }
    }
}

/// Left-aligned columns separated by two spaces, without trailing blanks.
fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let line = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
