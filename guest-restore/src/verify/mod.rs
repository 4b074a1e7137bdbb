//! Verify: prove a backup restorable without restoring it. Every bundle is decoded, every
//! stream its binary events reference must exist, every stream object must be referenced,
//! and with `read-data` every stream object must hash to its key.
//!
//! Order: bundles, then stream objects, then the comparison of the two. Bundles (and, with
//! `read-data`, stream objects) are checked a page at a time by a round of workers. The
//! references and the stream keys go into two host key sets (sorted on disk), so this
//! component's memory holds a page of keys however big the backup is, and the comparison is
//! a merge of two sorted sequences whatever order the store lists in.

mod checks;
mod compare;
mod rounds;
mod tally;

use serde::{Deserialize, Serialize};

use crate::azul::backup::verification::{VerifyConfig, VerifyReport};
use crate::host::{Bucket, Host, KeySet, Queue};
use crate::retry::with_retry;
use crate::streams::parse_key;
use tally::Tally;

/// Keys listed, and objects handed to one round of workers, at a time.
pub const PAGE: u32 = 500;
/// Worker roles, routed here by [`crate::run_worker`].
pub const BUNDLE_ROLE: &str = "verify-bundles";
pub const STREAM_ROLE: &str = "verify-streams";
/// Run-wide stats counting the objects checked.
pub const BUNDLES_CHECKED: &str = "bundles-checked";
pub const STREAMS_CHECKED: &str = "streams-checked";
/// Key sets: the streams the bundles reference, and the stream objects present.
pub const REFERENCED: &str = "verify-referenced-streams";
pub const PRESENT: &str = "verify-stream-objects";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerArgs {
    pub config: VerifyConfig,
    /// Queue of object keys to check.
    pub work: String,
    /// Queue the outcome of every key goes to.
    pub results: String,
}

/// The stream an object holds, as bundles reference it: `.aesc1` objects count as their key
/// without the suffix; a key that is no stream's is kept as it is (and found unreferenced).
fn present_key(key: &str) -> String {
    match parse_key(key) {
        Some(s) => format!("{}/{}/{}", s.source, s.label, s.sha256),
        None => key.to_string(),
    }
}

/// Every key under `prefix` of `bucket`, a page at a time.
fn for_each_page<H: Host>(
    host: &H,
    config: &VerifyConfig,
    bucket: Bucket,
    prefix: &str,
    mut each: impl FnMut(Vec<String>) -> Result<(), String>,
) -> Result<(), String> {
    let mut after: Option<String> = None;
    loop {
        if host.stop_requested() {
            return Err("verify stopped before the end".into());
        }
        let page = with_retry(
            host,
            "list",
            config.retry_count,
            config.retry_average_delay_ms,
            || host.list(bucket, prefix, after.as_deref(), PAGE),
        )
        .map_err(|e| format!("listing {bucket:?} {prefix:?}: {}", e.message))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.key.clone());
        each(page.into_iter().map(|o| o.key).collect())?;
    }
}

fn open_empty<H: Host>(host: &H, name: &str) -> Result<H::KeySet, String> {
    let set = host
        .open_key_set(name)
        .map_err(|e| format!("key set {name}: {}", e.message))?;
    set.clear()
        .map_err(|e| format!("clearing key set {name}: {}", e.message))?;
    Ok(set)
}

pub fn run<H: Host>(host: &H, config: &VerifyConfig) -> Result<VerifyReport, String> {
    let prefix = match &config.source {
        Some(s) if s.is_empty() || s.contains('/') => {
            return Err(format!("{s:?} is not a source name"));
        }
        Some(s) => format!("{s}/"),
        None => String::new(),
    };
    let mut tally = Tally::new(config.max_listed_problems);
    let referenced = open_empty(host, REFERENCED)?;
    let present = open_empty(host, PRESENT)?;
    let mut round = 0;
    for_each_page(host, config, Bucket::Events, &prefix, |keys| {
        round += 1;
        let checked = rounds::run(host, config, BUNDLE_ROLE, round, &keys)?;
        checked.into_iter().for_each(|c| tally.bundle(host, c));
        Ok(())
    })?;
    for_each_page(host, config, Bucket::Streams, &prefix, |keys| {
        let present_keys: Vec<String> = keys.iter().map(|k| present_key(k)).collect();
        present
            .add(&present_keys)
            .map_err(|e| format!("recording stream objects: {}", e.message))?;
        tally.stream_objects(keys.len() as u64);
        if config.read_data {
            round += 1;
            let checked = rounds::run(host, config, STREAM_ROLE, round, &keys)?;
            checked.into_iter().for_each(|c| tally.stream(host, c));
        }
        Ok(())
    })?;
    if tally.is_empty() {
        return Err(format!(
            "nothing to verify: no bundles and no stream objects under {prefix:?} \
             (check the backup id, bucket prefix, endpoint and source)"
        ));
    }
    compare::run(host, config, &referenced, &present, &prefix, &mut tally)?;
    // The sets are scratch: free the disk (a failure here changes no finding).
    let _ = referenced.clear();
    let _ = present.clear();
    Ok(tally.report())
}

/// One worker of a round: check every key of its queue and send each outcome.
pub fn run_worker<H: Host>(host: &H, role: &str, args: &[u8]) -> Result<(), String> {
    let args: WorkerArgs =
        serde_json::from_slice(args).map_err(|e| format!("worker arguments: {e}"))?;
    let work = host.open_queue(&args.work, PAGE);
    let results = host.open_queue(&args.results, PAGE);
    let referenced = match role {
        BUNDLE_ROLE => Some(
            host.open_key_set(REFERENCED)
                .map_err(|e| format!("key set {REFERENCED}: {}", e.message))?,
        ),
        STREAM_ROLE => None,
        _ => return Err(format!("unknown worker role {role:?}")),
    };
    while let Some(message) = work.recv() {
        let key = String::from_utf8_lossy(&message);
        let (checked, stat) = match &referenced {
            Some(set) => (
                checks::bundle(host, &args.config, set, &key),
                BUNDLES_CHECKED,
            ),
            None => (checks::stream(host, &args.config, &key), STREAMS_CHECKED),
        };
        // Progress for the host's log (done out of what it counted in the buckets).
        host.metric("", stat, 1);
        let message = serde_json::to_vec(&checked).map_err(|e| e.to_string())?;
        results.send(&message).map_err(|e| e.message)?;
    }
    match referenced {
        Some(set) => set
            .flush()
            .map_err(|e| format!("recording references: {}", e.message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
