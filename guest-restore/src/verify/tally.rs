//! What verify found so far: totals, problem counts, and the first problems in full.

use super::checks::Checked;
use crate::azul::backup::verification::{Problem, ProblemKind, VerifyReport};
use crate::host::{Host, Level};

pub struct Tally {
    report: VerifyReport,
    max_listed: usize,
}

impl Tally {
    pub fn new(max_listed: u32) -> Self {
        Tally {
            report: VerifyReport {
                bundles: 0,
                events: 0,
                invalid_events: 0,
                referenced_streams: 0,
                stream_objects: 0,
                streams_read: 0,
                bytes_read: 0,
                missing: 0,
                corrupt: 0,
                undecodable: 0,
                orphans: 0,
                unreadable: 0,
                problems: Vec::new(),
            },
            max_listed: max_listed as usize,
        }
    }

    /// Count a problem, log it, and list it while there is room.
    pub fn problem<H: Host>(&mut self, host: &H, kind: ProblemKind, key: &str, detail: &str) {
        let r = &mut self.report;
        let (count, name) = match kind {
            ProblemKind::Missing => (&mut r.missing, "missing"),
            ProblemKind::Corrupt => (&mut r.corrupt, "corrupt"),
            ProblemKind::Undecodable => (&mut r.undecodable, "undecodable"),
            ProblemKind::Orphan => (&mut r.orphans, "orphan"),
            ProblemKind::Unreadable => (&mut r.unreadable, "unreadable"),
        };
        *count += 1;
        host.log(Level::Warn, &format!("verify: {name} {key}: {detail}"));
        if r.problems.len() < self.max_listed {
            r.problems.push(Problem {
                kind,
                key: key.to_string(),
                detail: detail.to_string(),
            });
        }
    }

    fn checked<H: Host>(&mut self, host: &H, checked: Checked) {
        if let Some(p) = checked.problem {
            self.problem(host, p.kind, &p.key, &p.detail);
        }
    }

    pub fn bundle<H: Host>(&mut self, host: &H, checked: Checked) {
        self.report.bundles += 1;
        self.report.events += checked.events;
        self.report.invalid_events += checked.invalid;
        self.checked(host, checked);
    }

    pub fn stream<H: Host>(&mut self, host: &H, checked: Checked) {
        self.report.streams_read += 1;
        self.report.bytes_read += checked.bytes;
        self.checked(host, checked);
    }

    pub fn stream_objects(&mut self, n: u64) {
        self.report.stream_objects += n;
    }

    pub fn referenced(&mut self) {
        self.report.referenced_streams += 1;
    }

    /// Nothing was found to check.
    pub fn is_empty(&self) -> bool {
        self.report.bundles == 0 && self.report.stream_objects == 0
    }

    pub fn report(self) -> VerifyReport {
        self.report
    }
}
