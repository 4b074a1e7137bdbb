//! Events restore of one type (`<source>/<model>/<action>/`): post every bundle in key order
//! (oldest day first), saving the last posted key after each one.

use crate::RestoreConfig;
use crate::host::{Bucket, Encoding, Error, ErrorKind, Host, Level, PostResult};
use crate::retry::with_retry;

const PAGE: u32 = 1000;

/// The cursor file of a type (the original's `<source>-<model>-<action>.events`).
pub fn checkpoint_name(source: &str, model: &str, action: &str) -> String {
    format!("{source}-{model}-{action}.events")
}

/// A bundle key must be `<source>/<model>/<action>/<name>`; anything else is not a bundle.
fn is_bundle_key(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|name| !name.is_empty() && !name.contains('/'))
}

pub fn run<H: Host>(
    host: &H,
    config: &RestoreConfig,
    source: &str,
    model: &str,
    action: &str,
) -> Result<(), String> {
    host.metric(source, "event-types-started", 1);
    let prefix = format!("{source}/{model}/{action}/");
    let cursor_file = checkpoint_name(source, model, action);
    let mut cursor = with_retry(
        host,
        "checkpoint-read",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.read_state(&cursor_file),
    )
    .map_err(|e| e.message)?
    .filter(|c| !c.is_empty());
    if let Some(c) = &cursor {
        host.log(Level::Info, &format!("{prefix}: resuming after {c}"));
    }
    let mut not_restored = 0u64;
    loop {
        if host.stop_requested() {
            return Err(format!("{prefix}: stopped before the end"));
        }
        let page = with_retry(
            host,
            "list-bundles",
            config.list_retry_count,
            config.retry_average_delay_ms,
            || host.list(Bucket::Events, &prefix, cursor.as_deref(), PAGE),
        )
        .map_err(|e| format!("listing {prefix}: {}", e.message))?;
        let Some(last) = page.last() else { break };
        let last = last.key.clone();
        for object in page {
            if !is_bundle_key(&object.key, &prefix) {
                host.log(
                    Level::Warn,
                    &format!("ignoring {:?}: not a bundle key", object.key),
                );
                continue;
            }
            // Stop between bundles: the cursor names the last acknowledged one.
            if host.stop_requested() {
                return Err(format!("{prefix}: stopped before {}", object.key));
            }
            not_restored += post_bundle(host, config, source, model, &object.key)?;
            with_retry(
                host,
                "checkpoint-write",
                config.retry_count,
                config.retry_average_delay_ms,
                || host.write_state(&cursor_file, &object.key),
            )
            .map_err(|e| format!("saving {cursor_file}: {}", e.message))?;
        }
        cursor = Some(last);
    }
    host.metric(source, "event-types-complete", 1);
    if not_restored > 0 {
        return Err(format!(
            "{prefix}: {not_restored} events or bundles could not be restored (see {REJECTED_FILE})"
        ));
    }
    Ok(())
}

/// Events and bundles the dispatcher refused or skipped: one JSON line each, with the reason.
pub const REJECTED_FILE: &str = "restore-rejected.events";

fn record_rejected<H: Host>(host: &H, key: &str, error: &str, event: Option<&str>) {
    let line = serde_json::json!({ "bundle": key, "error": error, "event": event }).to_string();
    if let Err(e) = host.append_line(REJECTED_FILE, &line) {
        host.log(
            Level::Error,
            &format!("{REJECTED_FILE}: cannot record a rejection: {}", e.message),
        );
    }
}

/// Post one bundle; returns how many of its events (or 1 for an unreadable bundle) could not
/// be restored. Retryable failures are retried, then stop this event type (the cursor stays
/// before the bundle); refused events, deliberately skipped ones (425: aged off, deleted) and
/// undecodable bundles are recorded in [`REJECTED_FILE`] with the reason, and the restore goes
/// on — refusals and undecodable bundles make the run fail at the end, skips do not.
fn post_bundle<H: Host>(
    host: &H,
    config: &RestoreConfig,
    source: &str,
    model: &str,
    key: &str,
) -> Result<u64, String> {
    let retry = |op: &dyn Fn() -> Result<PostResult, Error>| {
        with_retry(
            host,
            "post-events",
            config.retry_count,
            config.retry_average_delay_ms,
            op,
        )
    };
    let posted = with_retry(
        host,
        "read-bundle",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.open(Bucket::Events, key, Encoding::Gzip),
    )
    .and_then(|body| {
        let mut result = match retry(&|| host.post_events(model, &body)) {
            // A 425 for a whole bundle may hide valid events behind an invalid first one (the
            // dispatcher stops at it): find out event by event.
            Err(e) if e.kind == ErrorKind::Filtered => {
                host.log(
                    Level::Warn,
                    &format!(
                        "{key}: 425 for the whole bundle ({}); posting it one by one",
                        e.message
                    ),
                );
                return retry(&|| host.post_events_singly(model, &body, 0));
            }
            other => other?,
        };
        // The dispatcher silently stops at the first invalid event of an avro bulk.
        let answered = result.total_ok + result.total_failures;
        if answered < result.sent {
            host.log(
                Level::Warn,
                &format!(
                    "{key}: dispatcher took {answered} of {} events; posting the rest one by one",
                    result.sent
                ),
            );
            let rest = retry(&|| host.post_events_singly(model, &body, answered))?;
            result.total_ok += rest.total_ok;
            result.total_failures += rest.total_failures;
            result.failures.extend(rest.failures);
        }
        Ok(result)
    });
    match posted {
        Ok(result) => {
            host.metric(source, "events-ok", u64::from(result.total_ok));
            if result.total_failures > 0 {
                host.metric(source, "events-fail", u64::from(result.total_failures));
                host.log(
                    Level::Warn,
                    &format!(
                        "{key}: dispatcher rejected {} events",
                        result.total_failures
                    ),
                );
            }
            for f in &result.failures {
                record_rejected(host, key, &f.error, Some(&f.event));
            }
            if !result.skipped.is_empty() {
                host.metric(source, "events-filtered", result.skipped.len() as u64);
            }
            for f in &result.skipped {
                record_rejected(host, key, &format!("skipped: {}", f.error), Some(&f.event));
            }
            Ok(u64::from(result.total_failures))
        }
        Err(e) if e.kind == ErrorKind::Corrupt => {
            host.metric(source, "events-fail", 1);
            host.log(
                Level::Error,
                &format!("{key}: not a readable bundle: {}", e.message),
            );
            record_rejected(host, key, &e.message, None);
            Ok(1)
        }
        Err(e) => {
            host.metric(source, "events-fail", 1);
            Err(format!("bundle {key}: {}", e.message))
        }
    }
}
