//! The restore supervisor: streams first, then system insert/delete, then binary events.

use serde::{Deserialize, Serialize};

use crate::RestoreConfig;
use crate::host::{Bucket, Host, Level, Queue, Task};
use crate::retry::with_retry;
use crate::streams::checkpoint_name;

const BINARY_ACTIONS: [&str; 5] = ["sourced", "extracted", "augmented", "mapped", "enriched"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerArgs {
    pub config: RestoreConfig,
    /// Streams: the queue to drain. Events: `source/model/action`.
    pub target: String,
}

fn spawn<H: Host>(
    host: &H,
    role: &str,
    config: &RestoreConfig,
    target: String,
) -> Result<H::Task, String> {
    let args = serde_json::to_vec(&WorkerArgs {
        config: config.clone(),
        target,
    })
    .map_err(|e| e.to_string())?;
    host.spawn(role, &args)
        .map_err(|e| format!("starting {role}: {}", e.message))
}

fn join_all<H: Host>(tasks: Vec<H::Task>, errors: &mut Vec<String>) {
    for t in tasks {
        if let Err(e) = t.join() {
            errors.push(e);
        }
    }
}

/// Restore the streams of one source, chunk by chunk, resuming after its checkpoint.
fn restore_streams<H: Host>(
    host: &H,
    config: &RestoreConfig,
    source: &str,
    errors: &mut Vec<String>,
) -> Result<(), String> {
    let checkpoint = checkpoint_name(source);
    let mut cursor = host
        .read_state(&checkpoint)
        .map_err(|e| e.message)?
        .filter(|c| !c.is_empty());
    let prefix = format!("{source}/");
    let chunk = config.checkpoint_binary_count.max(1);
    let mut round = 0u32;
    loop {
        if host.stop_requested() {
            return Err(format!("streams of {source}: stopped"));
        }
        let page = with_retry(
            host,
            config.retry_count,
            config.retry_average_delay_ms,
            || host.list(Bucket::Streams, &prefix, cursor.as_deref(), chunk),
        )
        .map_err(|e| format!("listing {prefix}: {}", e.message))?;
        let Some(last) = page.last().map(|o| o.key.clone()) else {
            break;
        };
        round += 1;
        let queue_name = format!("restore-streams-{source}-{round}");
        let queue = host.open_queue(&queue_name, config.channel_size);
        let workers = (0..config.stream_workers.max(1))
            .map(|_| spawn(host, "streams", config, queue_name.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        for object in &page {
            queue
                .send(object.key.as_bytes())
                .map_err(|e| e.message.clone())?;
        }
        queue.close();
        let before = errors.len();
        join_all::<H>(workers, errors);
        if errors.len() == before {
            host.write_state(&checkpoint, &last)
                .map_err(|e| format!("saving {checkpoint}: {}", e.message))?;
        }
        cursor = Some(last);
    }
    host.log(Level::Info, &format!("streams of {source} restored"));
    Ok(())
}

pub fn run<H: Host>(host: &H, config: &RestoreConfig) -> Result<(), String> {
    let mut sources = config.sources.clone();
    sources.sort();
    let mut errors = Vec::new();
    let (streams, events) = match config.restore_type.as_str() {
        "all" => (true, true),
        "streams" => (true, false),
        "events" => (false, true),
        other => {
            return Err(format!(
                "unknown restore type {other:?} (all, streams, events)"
            ));
        }
    };
    if streams {
        for source in &sources {
            restore_streams(host, config, source, &mut errors)?;
        }
        if !errors.is_empty() {
            return Err(format!("streams restore failed: {}", errors.join("; ")));
        }
    }
    if events {
        // Deletes and inserts first: the dispatcher drops binary events matching known deletes.
        let system = ["system/insert/default", "system/delete/default"]
            .into_iter()
            .map(|t| spawn(host, "events", config, t.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        join_all::<H>(system, &mut errors);
        let binary = sources
            .iter()
            .flat_map(|s| {
                BINARY_ACTIONS
                    .iter()
                    .map(move |a| format!("{s}/binary/{a}"))
            })
            .map(|t| spawn(host, "events", config, t))
            .collect::<Result<Vec<_>, _>>()?;
        join_all::<H>(binary, &mut errors);
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
    match role {
        "streams" => crate::streams::run_worker(host, &args.config, &args.target),
        "events" => {
            let mut parts = args.target.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(s), Some(m), Some(a)) => crate::events::run(host, &args.config, s, m, a),
                _ => Err(format!("bad event type {:?}", args.target)),
            }
        }
        _ => Err(format!("unknown worker role {role:?}")),
    }
}
