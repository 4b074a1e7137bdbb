//! The restore supervisor: streams first, then system insert/delete, then binary events.

use serde::{Deserialize, Serialize};

use crate::RestoreConfig;
use crate::host::{Bucket, Host, Level, Queue, Task};
use crate::retry::with_retry;
use crate::streams::{FAILED_FILE, checkpoint_name};

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
    let mut cursor = with_retry(
        host,
        "checkpoint-read",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.read_state(&checkpoint),
    )
    .map_err(|e| e.message)?
    .filter(|c| !c.is_empty());
    let prefix = format!("{source}/");
    let chunk = config.checkpoint_binary_count.max(1);
    let mut round = 0u32;
    // Once a chunk has a failure the checkpoint stays before it, so a later run retries it.
    let mut advance_checkpoint = true;
    let mut failed_here = false;
    loop {
        if host.stop_requested() {
            return Err(format!("streams of {source}: stopped"));
        }
        let page = with_retry(
            host,
            "list-streams",
            config.list_retry_count,
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
        advance_checkpoint &= errors.len() == before;
        failed_here |= errors.len() > before;
        if advance_checkpoint {
            with_retry(
                host,
                "checkpoint-write",
                config.retry_count,
                config.retry_average_delay_ms,
                || host.write_state(&checkpoint, &last),
            )
            .map_err(|e| format!("saving {checkpoint}: {}", e.message))?;
        }
        cursor = Some(last);
    }
    if failed_here {
        host.log(
            Level::Error,
            &format!("streams of {source}: some could not be restored (see {FAILED_FILE})"),
        );
    } else {
        host.log(Level::Info, &format!("streams of {source} restored"));
        host.metric(source, "streams-complete", 1);
    }
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
    // An empty backup is an operator error (wrong backup id, bucket or endpoint), not a success.
    let holds = |bucket| {
        host.list(bucket, "", None, 1)
            .map(|page| !page.is_empty())
            .map_err(|e| format!("listing the backup: {}", e.message))
    };
    if !holds(Bucket::Streams)? && !holds(Bucket::Events)? {
        return Err(
            "the backup is empty: no objects in its events or streams bucket \
                    (check the backup id, bucket prefix and endpoint)"
                .into(),
        );
    }
    if streams {
        for source in &sources {
            restore_streams(host, config, source, &mut errors)?;
        }
        // A stream that cannot be restored (e.g. a corrupt object) must not hold back every
        // event: it is recorded, the run goes on and fails at the end.
        if !errors.is_empty() {
            host.log(
                Level::Error,
                &format!("streams restore had failures: {}", errors.join("; ")),
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;
    use crate::host::ErrorKind;

    fn config() -> RestoreConfig {
        RestoreConfig {
            sources: vec!["testing".into(), "samples".into()],
            backup_id: "1".into(),
            restore_type: "all".into(),
            stream_workers: 2,
            channel_size: 10,
            retry_count: 3,
            retry_average_delay_ms: 1,
            list_retry_count: 3,
            checkpoint_binary_count: 2,
            skip_existing_streams: false,
        }
    }

    fn seeded() -> FakeHost {
        let host = FakeHost::default();
        for k in [
            "testing/content/aa",
            "testing/content/bb",
            "testing/content/cc",
            "samples/content/dd",
        ] {
            host.put(Bucket::Streams, k);
        }
        for k in [
            "testing/binary/sourced/2025-01-02T00:00:00Z-1-b",
            "testing/binary/sourced/2025-01-01T00:00:00Z-1-a",
            "system/delete/default/2025-01-03T00:00:00Z-1-d",
            "system/insert/default/2025-01-01T00:00:00Z-1-i",
            "samples/binary/extracted/2025-01-01T00:00:00Z-1-e",
        ] {
            host.put(Bucket::Events, k);
        }
        host
    }

    #[test]
    fn restores_streams_then_system_then_binary_oldest_first() {
        let host = seeded();
        run(&host, &config()).unwrap();
        let posted = host.posted();
        let first_event = posted.iter().position(|p| p.starts_with("events")).unwrap();
        assert_eq!(first_event, 4, "all four streams come first: {posted:?}");
        assert!(posted[..4].iter().all(|p| p.starts_with("stream ")));
        let system_done = posted.iter().rposition(|p| p.contains(" system/")).unwrap();
        let binary_first = posted
            .iter()
            .position(|p| p.starts_with("events binary"))
            .unwrap();
        assert!(
            system_done < binary_first,
            "system insert/delete before binary: {posted:?}"
        );
        let testing: Vec<&String> = posted
            .iter()
            .filter(|p| p.contains("testing/binary"))
            .collect();
        assert!(
            testing[0].contains("2025-01-01") && testing[1].contains("2025-01-02"),
            "{testing:?}"
        );
        assert_eq!(host.metric("testing", "event-types-complete"), 5);
        assert_eq!(host.metric("testing", "streams-ok"), 3);
    }

    #[test]
    fn a_second_run_resumes_after_the_checkpoints() {
        let host = seeded();
        run(&host, &config()).unwrap();
        let before = host.posted().len();
        host.put(
            Bucket::Events,
            "testing/binary/sourced/2025-01-03T00:00:00Z-1-c",
        );
        run(&host, &config()).unwrap();
        assert_eq!(
            &host.posted()[before..],
            ["events binary testing/binary/sourced/2025-01-03T00:00:00Z-1-c"]
        );
    }

    #[test]
    fn failures_fail_the_run_and_filtered_bundles_do_not() {
        let host = seeded();
        host.0.borrow_mut().failing.insert(
            "system/delete/default/2025-01-03T00:00:00Z-1-d".into(),
            (ErrorKind::Filtered, false),
        );
        run(&host, &config()).unwrap();
        assert_eq!(host.metric("system", "events-filtered"), 1);

        let host = seeded();
        host.0
            .borrow_mut()
            .failing
            .insert("testing/content/bb".into(), (ErrorKind::Transient, true));
        let err = run(&host, &config()).unwrap_err();
        assert!(err.contains("streams failed"), "{err}");
        assert!(host.0.borrow().files["restore-failed.stream"].contains("testing/content/bb"));
        let posted = host.posted();
        let first_event = posted
            .iter()
            .position(|p| p.starts_with("events"))
            .expect("events are still restored");
        assert!(
            posted[first_event..]
                .iter()
                .all(|p| !p.starts_with("stream")),
            "streams come first: {posted:?}"
        );
        assert_eq!(
            host.metric("testing", "streams-complete"),
            0,
            "a source with a failed stream is not complete"
        );
    }

    #[test]
    fn a_failed_stream_is_never_passed_by_the_checkpoint() {
        let host = seeded();
        // chunk size 2: [aa, bb] fails on bb, [cc] succeeds — the checkpoint must stay before bb.
        host.0
            .borrow_mut()
            .failing
            .insert("testing/content/bb".into(), (ErrorKind::Rejected, false));
        run(&host, &config()).unwrap_err();
        assert_eq!(
            host.0.borrow().files.get("testing.stream"),
            None,
            "no chunk of testing fully succeeded first"
        );
        host.0.borrow_mut().failing.clear();
        run(&host, &config()).unwrap();
        assert!(
            host.posted()
                .contains(&"stream testing/content/bb".to_string()),
            "the failed stream is retried"
        );
    }

    #[test]
    fn a_silently_truncated_bundle_is_finished_event_by_event() {
        let host = seeded();
        host.put(
            Bucket::Events,
            "testing/binary/mapped/2025-01-05T00:00:00Z-3-t-truncated",
        );
        let err = run(&host, &config()).unwrap_err();
        assert!(
            err.contains("1 events or bundles could not be restored"),
            "a refused event fails the run: {err}"
        );
        let key = "testing/binary/mapped/2025-01-05T00:00:00Z-3-t-truncated";
        assert!(
            host.posted()
                .contains(&format!("singly binary {key} from 1")),
            "{:?}",
            host.posted()
        );
        assert_eq!(host.metric("testing", "events-fail"), 1);
        let rejected = host.0.borrow().files["restore-rejected.events"].clone();
        assert!(
            rejected.contains("invalid event") && rejected.contains(key),
            "{rejected}"
        );
    }

    #[test]
    fn an_empty_backup_is_an_error() {
        let err = run(&FakeHost::default(), &config()).unwrap_err();
        assert!(err.contains("the backup is empty"), "{err}");
    }

    #[test]
    fn unknown_restore_type_is_refused() {
        let mut c = config();
        c.restore_type = "everything".into();
        assert!(
            run(&FakeHost::default(), &c)
                .unwrap_err()
                .contains("unknown restore type")
        );
    }
}
