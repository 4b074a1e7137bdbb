//! The original's periodic stats log: every minute for the first half hour, then hourly,
//! and once more when the run ends.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::Stats;
use crate::runtime::Kind;

/// Columns of the original's stats tables (§10 of its description).
pub const BACKUP_TABLE: &[&str] = &[
    "events-ok",
    "events-fail",
    "streams-ok",
    "streams-missing",
    "streams-fail",
];
pub const RESTORE_TABLE: &[&str] = &[
    "events-ok",
    "events-fail",
    "event-types-complete",
    "streams-ok",
    "streams-fail",
    "streams-complete",
];

pub const REDUCING_NOTICE: &str = "reducing stat printing frequency to every hour";

/// When to print: every tick up to `frequent_ticks`, a notice on the next one, then on every
/// tick divisible by `every_after`. The original: 1-minute ticks, 30, 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintSchedule {
    pub tick: Duration,
    pub frequent_ticks: u64,
    pub every_after: u64,
}

impl Default for PrintSchedule {
    fn default() -> Self {
        PrintSchedule {
            tick: Duration::from_secs(60),
            frequent_ticks: 30,
            every_after: 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickAction {
    Print,
    AnnounceReduced,
    Quiet,
}

impl PrintSchedule {
    /// What tick `n` (counting from 1) does.
    pub fn at(&self, n: u64) -> TickAction {
        if n <= self.frequent_ticks {
            TickAction::Print
        } else if n == self.frequent_ticks + 1 {
            TickAction::AnnounceReduced
        } else if self.every_after > 0 && n.is_multiple_of(self.every_after) {
            TickAction::Print
        } else {
            TickAction::Quiet
        }
    }
}

/// A running printer; [`StatsPrinter::finish`] (or dropping it) makes the final print.
#[derive(Debug)]
pub struct StatsPrinter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl StatsPrinter {
    /// Logs through `tracing` on the original's schedule.
    pub fn start(kind: Kind, stats: Stats, started: Instant) -> Self {
        let log = |line: String| tracing::info!("{line}");
        Self::with_schedule(kind, stats, started, PrintSchedule::default(), log)
    }

    pub fn with_schedule(
        kind: Kind,
        stats: Stats,
        started: Instant,
        schedule: PrintSchedule,
        emit: impl Fn(String) + Send + Sync + 'static,
    ) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let print = || {
                report(kind, &stats, started.elapsed())
                    .into_iter()
                    .for_each(&emit)
            };
            let mut ticks = tokio::time::interval_at(
                tokio::time::Instant::now() + schedule.tick,
                schedule.tick,
            );
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut n = 0u64;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = ticks.tick() => {
                        n += 1;
                        match schedule.at(n) {
                            TickAction::Print => print(),
                            TickAction::AnnounceReduced => emit(REDUCING_NOTICE.to_string()),
                            TickAction::Quiet => {}
                        }
                    }
                }
            }
            print();
        });
        StatsPrinter { stop, task }
    }

    /// Stops the ticks and waits for the final print.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The table and the throughput line, as the original logged them.
pub fn report(kind: Kind, stats: &Stats, elapsed: Duration) -> [String; 2] {
    let (title, columns) = match kind {
        Kind::Backup => ("Backup", BACKUP_TABLE),
        Kind::Restore => ("Restore", RESTORE_TABLE),
    };
    // The original's streams-complete is a bool.
    let table = stats.table_with(columns, |column, count| match column {
        "streams-complete" => (count > 0).to_string(),
        _ => count.to_string(),
    });
    let secs = elapsed.as_secs_f64();
    let per_second = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let (events, streams) = (stats.total("events-ok"), stats.total("streams-ok"));
    [
        format!("{title} stats:\n{table}"),
        format!(
            "Processed {events} events ({:.2}/s) and {streams} streams ({:.2}/s)",
            per_second(events),
            per_second(streams)
        ),
    ]
}
