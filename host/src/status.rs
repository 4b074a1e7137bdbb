//! `azul-backup status`: what the state directory holds, read without changing anything (a
//! backup may be running): events spooled per consumer, stream requests outstanding, failed,
//! given up on and missing, restore cursors, and how the last runs ended.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::avro::Model;
use crate::capabilities::journal::Journal;
use crate::capabilities::statedir::{Spool, StateDir};

/// How a `backup` or `restore` run ended, kept as `last-run.json` (and, when it succeeded,
/// `last-success.json`) in its state directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub command: String,
    pub started_at: String,
    pub finished_at: String,
    /// `ok`, or what went wrong.
    pub outcome: String,
    pub component_version: String,
    pub events_ok: u64,
    pub streams_ok: u64,
    pub events_fail: u64,
    pub streams_fail: u64,
}

pub const LAST_RUN: &str = "last-run.json";
pub const LAST_SUCCESS: &str = "last-success.json";

impl RunRecord {
    pub fn save(&self, dir: &StateDir) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        dir.write_atomic(LAST_RUN, &json)?;
        if self.outcome == "ok" {
            dir.write_atomic(LAST_SUCCESS, &json)?;
        }
        Ok(())
    }
}

/// RFC 3339 in UTC, for run records.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub state_dir: PathBuf,
    pub backup: BackupStatus,
    pub restore: RestoreStatus,
}

#[derive(Debug, Default, Serialize)]
pub struct BackupStatus {
    /// Consumers with events not yet in a bundle.
    pub spools: Vec<SpoolStatus>,
    /// Stream requests journaled and not yet handled (`streams.journal`).
    pub pending_streams: usize,
    /// `backup.stream`: failed, re-attempted by the next run.
    pub failed_streams: usize,
    /// `backup-failed.stream`: given up on (see `trigger-backup-failed-streams`).
    pub given_up_streams: usize,
    /// `backup-missing.stream`: the dispatcher did not have them.
    pub missing_streams: usize,
    pub last_run: Option<RunRecord>,
    pub last_success: Option<RunRecord>,
}

#[derive(Debug, Serialize)]
pub struct SpoolStatus {
    /// `<source>-<model>-<action>`.
    pub consumer: String,
    pub events: usize,
    /// A torn last write (a crash mid-append) that the next run cuts off.
    pub torn_bytes: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct RestoreStatus {
    /// Per source: the last stream key restored.
    pub stream_cursors: Vec<Cursor>,
    /// Per `<source>-<model>-<action>`: the last event bundle restored.
    pub event_cursors: Vec<Cursor>,
    /// `restore-failed.stream`.
    pub failed_streams: usize,
    /// `restore-rejected.events`: bundles the dispatcher refused.
    pub rejected_bundles: usize,
    pub last_run: Option<RunRecord>,
    pub last_success: Option<RunRecord>,
}

#[derive(Debug, Serialize)]
pub struct Cursor {
    pub name: String,
    pub last_key: String,
}

fn lines(dir: &Path, name: &str) -> io::Result<usize> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(text.lines().filter(|l| !l.trim().is_empty()).count()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

fn record(dir: &Path, name: &str) -> Option<RunRecord> {
    let text = std::fs::read(dir.join(name)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Files of `dir` (sorted by name) ending in `suffix`, without it.
fn names(dir: &Path, suffix: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(suffix) {
            out.push((stem.to_string(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The model of a spool named `<source>-<model>-<action>` (sources may hold dashes).
fn spool_model(name: &str) -> Option<Model> {
    let mut parts = name.rsplitn(3, '-');
    let (_action, model) = (parts.next()?, parts.next()?);
    model.parse().ok()
}

fn backup_status(dir: &Path) -> io::Result<BackupStatus> {
    let mut spools = Vec::new();
    for (name, path) in names(dir, ".spool")? {
        let Some(model) = spool_model(&name) else {
            continue;
        };
        let (events, torn_bytes) = Spool::peek(&path, model)?;
        if events > 0 || torn_bytes > 0 {
            spools.push(SpoolStatus {
                consumer: name,
                events,
                torn_bytes,
            });
        }
    }
    Ok(BackupStatus {
        spools,
        pending_streams: Journal::peek(&dir.join("streams.journal"))?.len(),
        failed_streams: lines(dir, "backup.stream")?,
        given_up_streams: lines(dir, "backup-failed.stream")?,
        missing_streams: lines(dir, "backup-missing.stream")?,
        last_run: record(dir, LAST_RUN),
        last_success: record(dir, LAST_SUCCESS),
    })
}

fn cursors(dir: &Path, suffix: &str, skip: &str) -> io::Result<Vec<Cursor>> {
    let mut out = Vec::new();
    for (name, path) in names(dir, suffix)? {
        if format!("{name}{suffix}") == skip {
            continue;
        }
        let last_key = std::fs::read_to_string(path)?.trim().to_string();
        out.push(Cursor { name, last_key });
    }
    Ok(out)
}

fn restore_status(dir: &Path) -> io::Result<RestoreStatus> {
    Ok(RestoreStatus {
        stream_cursors: cursors(dir, ".stream", "restore-failed.stream")?,
        event_cursors: cursors(dir, ".events", "restore-rejected.events")?,
        failed_streams: lines(dir, "restore-failed.stream")?,
        rejected_bundles: lines(dir, "restore-rejected.events")?,
        last_run: record(dir, LAST_RUN),
        last_success: record(dir, LAST_SUCCESS),
    })
}

/// Reads `<rootdir>/backup` and `<rootdir>/restore`.
pub fn read(rootdir: &Path) -> io::Result<Status> {
    Ok(Status {
        state_dir: rootdir.to_path_buf(),
        backup: backup_status(&rootdir.join("backup"))?,
        restore: restore_status(&rootdir.join("restore"))?,
    })
}

fn run_line(what: &str, record: &Option<RunRecord>) -> String {
    match record {
        None => format!("{what:<22}never"),
        Some(r) => format!(
            "{what:<22}{} ({}, {}): {} events, {} streams copied; {} events, {} streams failed",
            r.finished_at,
            r.outcome,
            r.component_version,
            r.events_ok,
            r.streams_ok,
            r.events_fail,
            r.streams_fail
        ),
    }
}

/// The status as the table an operator reads.
pub fn render(status: &Status) -> String {
    let b = &status.backup;
    let r = &status.restore;
    let mut out = format!("State directory {}\n\nBackup\n", status.state_dir.display());
    out.push_str(&run_line("  last run", &b.last_run));
    out.push('\n');
    out.push_str(&run_line("  last success", &b.last_success));
    out.push('\n');
    for (what, n) in [
        ("  pending streams", b.pending_streams),
        ("  failed streams", b.failed_streams),
        ("  given-up streams", b.given_up_streams),
        ("  missing streams", b.missing_streams),
    ] {
        out.push_str(&format!("{what:<22}{n}\n"));
    }
    let spooled: usize = b.spools.iter().map(|s| s.events).sum();
    out.push_str(&format!("{:<22}{spooled}\n", "  spooled events"));
    for s in &b.spools {
        let torn = match s.torn_bytes {
            0 => String::new(),
            n => format!(" (+{n} torn bytes)"),
        };
        out.push_str(&format!("    {:<40}{}{torn}\n", s.consumer, s.events));
    }
    out.push_str("\nRestore\n");
    out.push_str(&run_line("  last run", &r.last_run));
    out.push('\n');
    out.push_str(&run_line("  last success", &r.last_success));
    out.push('\n');
    out.push_str(&format!("{:<22}{}\n", "  failed streams", r.failed_streams));
    out.push_str(&format!(
        "{:<22}{}\n",
        "  rejected bundles", r.rejected_bundles
    ));
    for (what, list) in [
        ("  stream cursors", &r.stream_cursors),
        ("  event cursors", &r.event_cursors),
    ] {
        out.push_str(&format!("{what:<22}{}\n", list.len()));
        for c in list {
            out.push_str(&format!("    {:<40}{}\n", c.name, c.last_key));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_names_give_their_model() {
        assert_eq!(spool_model("my-source-binary-sourced"), Some(Model::Binary));
        assert_eq!(spool_model("system-insert-default"), Some(Model::Insert));
        assert_eq!(spool_model("nonsense"), None);
    }

    #[test]
    fn an_empty_state_directory_reads_as_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let status = read(dir.path()).unwrap();
        assert_eq!(status.backup.pending_streams, 0);
        assert!(status.backup.spools.is_empty() && status.restore.event_cursors.is_empty());
        let text = render(&status);
        assert!(text.contains("  last run            never"), "{text}");
        assert!(
            !dir.path().join("backup").exists(),
            "status creates nothing"
        );
    }
}
