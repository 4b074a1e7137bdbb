//! `azul-backup verify`: prove a backup is restorable without restoring it. The restore
//! component's `verify` export decides what is checked, in what order and how many objects at
//! once; this module builds its run (the backup's stores, a state directory of its own, no
//! dispatcher) and prints the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::app::open_store;
use crate::capabilities::{HostState, statedir::StateDir};
use crate::dispatcher::DispatcherClient;
use crate::progress::{Count, Progress, Work};
use crate::run::{Limits, RunContext, Shutdown};
use crate::runtime::bindings::verification::{Problem, ProblemKind, VerifyConfig, VerifyReport};
use crate::runtime::{self, Kind, Runtime};
use crate::settings::Settings;

/// Problems listed one by one; the others are counted (and logged by the component).
const MAX_LISTED_PROBLEMS: u32 = 1000;

/// Verify talks to no dispatcher; a `.invalid` host (RFC 2606) never resolves.
const NO_DISPATCHER: &str = "http://dispatcher.invalid";

pub struct VerifyOptions {
    pub read_data: bool,
    pub source: Option<String>,
    pub component: PathBuf,
}

/// The types of the `verify` export are only imported by the restore world; they have no
/// functions for the host to provide.
impl crate::runtime::bindings::verification::Host for HostState {}

async fn context(
    settings: &Settings,
    component: &Path,
    shutdown: Arc<Shutdown>,
) -> Result<RunContext> {
    // Missing buckets are an error: a typo in the backup id must not verify as empty.
    let events_store = open_store(settings, &settings.events_bucket(), false)
        .await
        .context("events bucket")?;
    let streams_store = open_store(settings, &settings.streams_bucket(), false)
        .await
        .context("streams bucket")?;
    let root = &settings.local_data_rootdir;
    let statedir = StateDir::open(root.join("verify"))
        .with_context(|| format!("state directory {}", root.display()))?;
    let runtime = Runtime::new(Some(&settings.wasm_cache()))?;
    let loaded = runtime.load(Kind::Restore, component).await?;
    Ok(RunContext {
        component_name: "verify",
        component: Arc::new(loaded),
        dispatcher: DispatcherClient::new(NO_DISPATCHER, NO_DISPATCHER, Duration::from_secs(1))?,
        events_store,
        streams_store,
        statedir,
        queues: Default::default(),
        journals: Default::default(),
        stats: Default::default(),
        shutdown,
        limits: Limits::for_settings(settings),
        verify_stream_sha256: settings.verify_stream_sha256,
        started: Instant::now(),
    })
}

pub fn verify_config(settings: &Settings, options: &VerifyOptions) -> VerifyConfig {
    VerifyConfig {
        source: options.source.clone(),
        read_data: options.read_data,
        workers: settings.stream_routine_count,
        retry_count: settings.retry_count,
        retry_average_delay_ms: settings.retry_average_delay_ms,
        max_listed_problems: MAX_LISTED_PROBLEMS,
    }
}

/// Run the component's checks over the backup the settings name.
pub async fn run(
    settings: &Settings,
    options: &VerifyOptions,
    shutdown: Arc<Shutdown>,
) -> Result<VerifyReport> {
    let run = Arc::new(context(settings, &options.component, shutdown).await?);
    let version = run.component.query_version(run.clone()).await?;
    tracing::info!(component = %options.component.display(), %version, "component loaded");
    let prefixes = match &options.source {
        Some(source) => vec![format!("{source}/")],
        None => vec![String::new()],
    };
    let mut total = vec![Count {
        store: run.events_store.clone(),
        prefixes: prefixes.clone(),
        bundles_as_events: false,
    }];
    if options.read_data {
        total.push(Count {
            store: run.streams_store.clone(),
            prefixes,
            bundles_as_events: false,
        });
    }
    let interval = crate::app::progress_interval(settings);
    let progress = Progress::start(
        Work::Verify,
        run.stats.clone(),
        interval,
        run.started,
        total,
    );
    let report = runtime::run_verify(run, verify_config(settings, options)).await;
    progress.finish().await;
    report
}

/// What is verified, for the report's title.
pub fn scope(settings: &Settings, options: &VerifyOptions) -> String {
    let which = match &options.source {
        Some(source) => format!("source {source}"),
        None => "all sources".into(),
    };
    let contents = match options.read_data {
        true => "stream contents read",
        false => "stream contents not read (--read-data reads them)",
    };
    format!(
        "{} and {} ({which}; {contents})",
        settings.events_bucket(),
        settings.streams_bucket()
    )
}

pub fn problem_count(report: &VerifyReport) -> u64 {
    report.missing + report.corrupt + report.undecodable + report.orphans + report.unreadable
}

fn kind_name(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Missing => "missing",
        ProblemKind::Corrupt => "corrupt",
        ProblemKind::Undecodable => "undecodable",
        ProblemKind::Orphan => "orphan",
        ProblemKind::Unreadable => "unreadable",
    }
}

/// The report as the operator reads it: totals, then one line per listed problem.
pub fn render(report: &VerifyReport, scope: &str) -> String {
    let mut out = String::new();
    let r = report;
    let _ = writeln!(out, "Verify of {scope}");
    let _ = writeln!(
        out,
        "  bundles:            {} ({} events, {} invalid)",
        r.bundles, r.events, r.invalid_events
    );
    let _ = writeln!(out, "  referenced streams: {}", r.referenced_streams);
    let _ = writeln!(out, "  stream objects:     {}", r.stream_objects);
    if r.streams_read > 0 {
        let _ = writeln!(
            out,
            "  streams read:       {} ({} bytes, sha256 recomputed)",
            r.streams_read, r.bytes_read
        );
    }
    let total = problem_count(r);
    let _ = writeln!(
        out,
        "  problems:           {total} (missing {}, corrupt {}, undecodable {}, orphan {}, unreadable {})",
        r.missing, r.corrupt, r.undecodable, r.orphans, r.unreadable
    );
    for Problem { kind, key, detail } in &r.problems {
        let _ = writeln!(out, "  {:<12} {key}: {detail}", kind_name(*kind));
    }
    let unlisted = total.saturating_sub(r.problems.len() as u64);
    if unlisted > 0 {
        let _ = writeln!(out, "  … and {unlisted} more (see the log)");
    }
    let _ = write!(
        out,
        "result: {}",
        match total {
            0 => "OK".to_string(),
            1 => "FAILED — 1 problem".to_string(),
            n => format!("FAILED — {n} problems"),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> VerifyReport {
        VerifyReport {
            bundles: 3,
            events: 30,
            invalid_events: 1,
            referenced_streams: 10,
            stream_objects: 11,
            streams_read: 0,
            bytes_read: 0,
            missing: 1,
            corrupt: 0,
            undecodable: 0,
            orphans: 2,
            unreadable: 0,
            problems: vec![Problem {
                kind: ProblemKind::Missing,
                key: "s/content/aa".into(),
                detail: "referenced but not in the streams bucket".into(),
            }],
        }
    }

    #[test]
    fn the_report_lists_totals_problems_and_what_was_left_out() {
        let text = render(&report(), "the backup");
        assert!(
            text.contains("bundles:            3 (30 events, 1 invalid)"),
            "{text}"
        );
        assert!(
            text.contains("missing      s/content/aa: referenced"),
            "{text}"
        );
        assert!(text.contains("… and 2 more"), "{text}");
        assert!(text.ends_with("result: FAILED — 3 problems"), "{text}");
        let clean = VerifyReport {
            missing: 0,
            orphans: 0,
            problems: Vec::new(),
            ..report()
        };
        assert!(render(&clean, "x").ends_with("result: OK"));
    }
}
