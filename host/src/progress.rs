//! Progress lines: every interval (a minute by default) one log line with what was copied
//! since the last one and the rates (events/s, MiB/s); for restore and verify also done/total
//! and an ETA, once a background listing of the backup has counted the total (the events a
//! bundle holds are in its name, so no bundle is read for it).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::metrics::Stats;
use crate::objectstore::ObjectStore;

/// What a run's progress is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Events and streams copied; no end (a continuous backup).
    Backup,
    /// Events and streams posted, out of those the backup holds.
    Restore,
    /// Bundles (and with `--read-data` stream objects) checked, out of those present.
    Verify,
}

/// One measurement of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    pub events: u64,
    pub streams: u64,
    /// Units of work done, comparable with the total (restore: events + streams; verify:
    /// objects checked).
    pub done: u64,
    pub bytes: u64,
}

/// Stats counted by the verify component, per object checked.
const BUNDLES_CHECKED: &str = "bundles-checked";
const STREAMS_CHECKED: &str = "streams-checked";

pub fn sample(work: Work, stats: &Stats) -> Sample {
    let events = stats.total("events-ok");
    let streams = stats.total("streams-ok");
    let bytes = stats.metrics().map_or(0, |m| {
        let direction = if work == Work::Backup {
            "stored"
        } else {
            "read"
        };
        m.ops.bytes.with_label_values(&[direction]).get()
    });
    let done = match work {
        Work::Backup => events + streams,
        Work::Restore => {
            events + streams + stats.total("events-fail") + stats.total("streams-fail")
        }
        Work::Verify => stats.total(BUNDLES_CHECKED) + stats.total(STREAMS_CHECKED),
    };
    Sample {
        events,
        streams,
        done,
        bytes,
    }
}

fn per_second(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// The line for the interval from `before` to `now`, `interval` long, `elapsed` since start.
pub fn line(
    work: Work,
    before: Sample,
    now: Sample,
    interval: Duration,
    elapsed: Duration,
    total: Option<u64>,
) -> String {
    let secs = interval.as_secs_f64();
    let mut out = match work {
        Work::Verify => format!(
            "progress: {} objects checked ({:.1}/s) in the last {}",
            now.done,
            per_second(now.done - before.done, secs),
            clock(interval),
        ),
        _ => format!(
            "progress: {} events ({:.1}/s), {} streams ({:.1}/s), {:.1} MiB ({:.2} MiB/s) in the last {}",
            now.events,
            per_second(now.events - before.events, secs),
            now.streams,
            per_second(now.streams - before.streams, secs),
            now.bytes as f64 / f64::from(1 << 20),
            (now.bytes - before.bytes) as f64 / f64::from(1 << 20) / secs.max(f64::EPSILON),
            clock(interval),
        ),
    };
    if work == Work::Backup {
        return out;
    }
    let unit = match work {
        Work::Verify => "objects",
        _ => "events and streams",
    };
    match total {
        Some(total) if total > 0 => {
            let done = now.done.min(total);
            let fraction = done as f64 / total as f64;
            out.push_str(&format!(
                "; {done}/{total} {unit} ({:.1}%)",
                fraction * 100.0
            ));
            if done > 0 && done < total {
                let left = elapsed.as_secs_f64() * (1.0 - fraction) / fraction;
                out.push_str(&format!(", ETA {}", clock(Duration::from_secs_f64(left))));
            }
        }
        Some(_) => out.push_str(&format!("; {} {unit}, nothing to do", now.done)),
        None => out.push_str(&format!("; {} {unit}, total still being counted", now.done)),
    }
    out
}

/// The events a bundle key `<…>/<T>-<N>-<K>` names.
fn bundle_events(key: &str) -> u64 {
    let name = key.rsplit('/').next().unwrap_or_default();
    name.rsplit('-')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What to count: objects of `store` under `prefixes`, as bundle events or as objects.
pub struct Count {
    pub store: Arc<dyn ObjectStore>,
    pub prefixes: Vec<String>,
    pub bundles_as_events: bool,
}

async fn count(counts: Vec<Count>) -> Result<u64, crate::objectstore::StoreError> {
    let mut total = 0;
    for c in counts {
        for prefix in &c.prefixes {
            let mut after: Option<String> = None;
            loop {
                let page = c.store.list(prefix, after.as_deref(), 1000).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.key.clone());
                total += match c.bundles_as_events {
                    true => page.iter().map(|o| bundle_events(&o.key)).sum(),
                    false => page.len() as u64,
                };
            }
        }
    }
    Ok(total)
}

/// A running reporter; [`Progress::finish`] ends it with a line for the whole run.
pub struct Progress {
    work: Work,
    stats: Stats,
    started: Instant,
    known: Arc<OnceLock<u64>>,
    task: JoinHandle<()>,
    lister: Option<JoinHandle<()>>,
    bar: Option<(indicatif::ProgressBar, JoinHandle<()>)>,
}

/// How long the final line waits for a listing still counting the total.
const FINAL_COUNT_WAIT: Duration = Duration::from_secs(5);

/// On a terminal: a bar (done/total, ETA) once the total is known, a spinner with the totals
/// before that and for a backup.
fn draw_bar(
    work: Work,
    stats: Stats,
    known: Arc<OnceLock<u64>>,
) -> Option<(indicatif::ProgressBar, JoinHandle<()>)> {
    use indicatif::{ProgressBar, ProgressStyle};
    let bars = crate::logging::bars()?;
    let bar = bars.add(ProgressBar::new_spinner());
    let counted = ProgressStyle::with_template("{bar:30} {pos}/{len} ({percent}%) ETA {eta} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let drawn = bar.clone();
    let task = tokio::spawn(async move {
        let mut styled = false;
        loop {
            let now = sample(work, &stats);
            if let (Some(total), false) = (known.get(), styled) {
                drawn.set_style(counted.clone());
                drawn.set_length(*total);
                styled = true;
            }
            drawn.set_position(now.done);
            drawn.set_message(format!(
                "{} events, {} streams, {:.1} MiB",
                now.events,
                now.streams,
                now.bytes as f64 / f64::from(1 << 20)
            ));
            drawn.tick();
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    Some((bar, task))
}

impl Progress {
    /// Log a progress line every `interval`; `total` (restore, verify) is counted meanwhile.
    pub fn start(
        work: Work,
        stats: Stats,
        interval: Duration,
        started: Instant,
        total: Vec<Count>,
    ) -> Self {
        let known: Arc<OnceLock<u64>> = Arc::default();
        let (stats_for_bar, known_for_bar) = (stats.clone(), known.clone());
        let (stats_for_end, known_for_end) = (stats.clone(), known.clone());
        let lister = (work != Work::Backup).then(|| {
            let known = known.clone();
            tokio::spawn(async move {
                match count(total).await {
                    Ok(n) => {
                        let _ = known.set(n);
                    }
                    Err(e) => tracing::warn!("cannot count the backup for progress: {e}"),
                }
            })
        });
        let task = tokio::spawn(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut before = sample(work, &stats);
            let mut last = Instant::now();
            loop {
                ticks.tick().await;
                let now = sample(work, &stats);
                let total = known.get().copied();
                tracing::info!(
                    "{}",
                    line(work, before, now, last.elapsed(), started.elapsed(), total)
                );
                (before, last) = (now, Instant::now());
            }
        });
        let bar = draw_bar(work, stats_for_bar, known_for_bar);
        Progress {
            work,
            stats: stats_for_end,
            started,
            known: known_for_end,
            task,
            lister,
            bar,
        }
    }

    /// Stops the lines and logs one for the whole run (rates over the run, done/total).
    pub async fn finish(self) {
        self.task.abort();
        if let Some((bar, task)) = self.bar {
            task.abort();
            bar.finish_and_clear();
        }
        if let Some(mut lister) = self.lister
            && tokio::time::timeout(FINAL_COUNT_WAIT, &mut lister)
                .await
                .is_err()
        {
            lister.abort();
        }
        let now = sample(self.work, &self.stats);
        let elapsed = self.started.elapsed();
        let total = self.known.get().copied();
        let text = line(self.work, Sample::default(), now, elapsed, elapsed, total);
        tracing::info!(
            "{}",
            text.replacen("progress:", "progress of the run:", 1)
                .replace(" in the last ", " in ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(events: u64, streams: u64, done: u64, bytes: u64) -> Sample {
        Sample {
            events,
            streams,
            done,
            bytes,
        }
    }

    #[test]
    fn backup_lines_give_totals_and_rates() {
        let text = line(
            Work::Backup,
            at(100, 10, 110, 0),
            at(700, 70, 770, 30 << 20),
            Duration::from_secs(60),
            Duration::from_secs(120),
            None,
        );
        assert_eq!(
            text,
            "progress: 700 events (10.0/s), 70 streams (1.0/s), 30.0 MiB (0.50 MiB/s) in the last 1m00s"
        );
    }

    #[test]
    fn restore_lines_give_done_total_and_eta() {
        let text = line(
            Work::Restore,
            at(0, 0, 0, 0),
            at(200, 50, 250, 0),
            Duration::from_secs(60),
            Duration::from_secs(60),
            Some(1000),
        );
        // A quarter done in a minute: three more minutes.
        assert!(
            text.ends_with("; 250/1000 events and streams (25.0%), ETA 3m00s"),
            "{text}"
        );
        let counting = line(
            Work::Verify,
            at(0, 0, 0, 0),
            at(0, 0, 5, 0),
            Duration::from_secs(1),
            Duration::from_secs(1),
            None,
        );
        assert_eq!(
            counting,
            "progress: 5 objects checked (5.0/s) in the last 1s; 5 objects, total still being counted"
        );
    }

    #[test]
    fn bundle_names_give_their_event_count() {
        assert_eq!(
            bundle_events("s/binary/sourced/2025-07-30T11:00:40Z-20-44cb"),
            20
        );
        assert_eq!(
            bundle_events("system/delete/default/0001-01-01T00:00:00Z-2-"),
            2
        );
        assert_eq!(bundle_events("stray"), 0);
    }
}
