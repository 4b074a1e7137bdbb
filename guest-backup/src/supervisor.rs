//! The supervisor: decides the topology, starts the workers and stops them in the order
//! that loses nothing — events first, then dedupe, then streams.

use serde::{Deserialize, Serialize};

use crate::BackupConfig;
use crate::azul::backup::config::FailedStreams;
use crate::consumer::{
    self, BINARY_ACTIONS, Consumer, STREAM_JOURNAL, STREAM_REQUESTS, SYSTEM_MODELS,
};
use crate::host::{Host, Journal, Level, Queue, Task};
use crate::streams::{COMPLEX_FILE, FAILED_FILE};

/// What a worker needs: the run's settings and, for event consumers, which one it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerArgs {
    pub config: BackupConfig,
    pub consumer: Option<Consumer>,
}

/// Every consumer of a run: 5 actions per source, then system insert and delete.
pub fn consumers(sources: &[String]) -> Vec<Consumer> {
    let mut all: Vec<Consumer> = sources
        .iter()
        .flat_map(|s| BINARY_ACTIONS.iter().map(move |a| Consumer::binary(s, a)))
        .collect();
    all.extend(SYSTEM_MODELS.iter().map(|m| Consumer::system(m)));
    all
}

fn spawn<H: Host>(host: &H, role: &str, args: &WorkerArgs) -> Result<H::Task, String> {
    let bytes = serde_json::to_vec(args).map_err(|e| e.to_string())?;
    host.spawn(role, &bytes)
        .map_err(|e| format!("starting {role}: {}", e.message))
}

fn join_all<H: Host>(tasks: Vec<(String, H::Task)>, errors: &mut Vec<String>) {
    for (name, task) in tasks {
        if let Err(e) = task.join() {
            errors.push(format!("{name}: {e}"));
        }
    }
}

/// Queue again what an earlier run left unfinished (journal) and the recorded failures
/// `files` asks for; each file is journaled before it is removed, so nothing is lost between.
fn requeue<H: Host>(host: &H, config: &BackupConfig, files: &[&str]) -> Result<usize, String> {
    let journal = host
        .open_journal(STREAM_JOURNAL)
        .map_err(|e| format!("{STREAM_JOURNAL} journal: {}", e.message))?;
    let queue = host.open_queue(STREAM_REQUESTS, config.channel_size);
    let mut lines = journal.recovered();
    for file in files {
        let text = host
            .read_state(file)
            .map_err(|e| format!("{file}: {}", e.message))?;
        let recorded: Vec<String> = text
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        journal
            .add(&recorded)
            .map_err(|e| format!("{STREAM_JOURNAL} journal: {}", e.message))?;
        host.remove_state(file)
            .map_err(|e| format!("{file}: {}", e.message))?;
        lines.extend(recorded);
    }
    for line in &lines {
        queue
            .send(line.as_bytes())
            .map_err(|e| format!("stream queue: {}", e.message))?;
    }
    Ok(lines.len())
}

pub fn run<H: Host>(host: &H, config: &BackupConfig) -> Result<(), String> {
    let plain = WorkerArgs {
        config: config.clone(),
        consumer: None,
    };
    let mut errors = Vec::new();
    let streams: Vec<_> = (0..config.stream_workers.max(1))
        .map(|i| spawn(host, "streams", &plain).map(|t| (format!("streams-{i}"), t)))
        .collect::<Result<_, _>>()?;
    let dedupe = vec![("dedupe".to_string(), spawn(host, "dedupe", &plain)?)];
    let files: &[&str] = match config.retry_failed {
        None | Some(FailedStreams::Simple) => &[FAILED_FILE],
        Some(FailedStreams::Complex) => &[COMPLEX_FILE],
        Some(FailedStreams::Both) => &[FAILED_FILE, COMPLEX_FILE],
    };
    let requeued = requeue(host, config, files)?;
    if requeued > 0 {
        host.log(
            Level::Info,
            &format!("re-attempting {requeued} unfinished or failed stream requests"),
        );
    }
    if config.retry_failed.is_none() {
        let consumers = consumers(&config.sources);
        host.log(
            Level::Info,
            &format!(
                "{}: starting {} event consumers and {} stream workers",
                crate::POLICY_VERSION,
                consumers.len(),
                streams.len()
            ),
        );
        let events: Vec<_> = consumers
            .into_iter()
            .map(|c| {
                let name = c.name(&config.backup_id);
                let args = WorkerArgs {
                    config: config.clone(),
                    consumer: Some(c),
                };
                spawn(host, "events", &args).map(|t| (name, t))
            })
            .collect::<Result<_, _>>()?;
        join_all::<H>(events, &mut errors);
        host.log(
            Level::Info,
            "all event consumers stopped, draining stream requests",
        );
    }
    host.open_queue(STREAM_REQUESTS, config.channel_size)
        .close();
    join_all::<H>(dedupe, &mut errors);
    join_all::<H>(streams, &mut errors);
    host.log(Level::Info, "all stream workers stopped");
    if config.retry_failed.is_some() {
        crate::failed::reclassify(host)?;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

pub fn run_worker<H: Host>(host: &H, role: &str, args: &[u8]) -> Result<(), String> {
    let args: WorkerArgs =
        serde_json::from_slice(args).map_err(|e| format!("worker arguments: {e}"))?;
    match (role, &args.consumer) {
        ("events", Some(c)) => consumer::run(host, &args.config, c),
        ("dedupe", _) => {
            crate::dedupe::run(host, args.config.dedupe_capacity, args.config.channel_size)
        }
        ("streams", _) => crate::streams::run(host, &args.config),
        _ => Err(format!("unknown worker role {role:?}")),
    }
}
