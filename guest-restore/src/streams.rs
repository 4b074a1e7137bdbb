//! Streams restore: list `<source>/` in the streams bucket, post each stream (gunzipped) with
//! its sha256 checked by the dispatcher. Work goes out in chunks; the checkpoint (last key of
//! a chunk whose every stream succeeded) is written only after the chunk's workers finish.

use crate::RestoreConfig;
use crate::host::{Bucket, Encoding, Host, Level, Queue, StreamRef};
use crate::retry::with_retry;

/// Streams that could not be restored, one key per line.
pub const FAILED_FILE: &str = "restore-failed.stream";

/// `<source>/<label>/<sha256>[.suffix]` → the stream it holds (the original strips `.aesc1`).
pub fn parse_key(key: &str) -> Option<StreamRef> {
    let mut parts = key.rsplitn(3, '/');
    let id = parts.next()?;
    let label = parts.next()?;
    let source = parts.next()?;
    let sha256 = id.split('.').next().unwrap_or_default();
    (!sha256.is_empty() && !label.is_empty() && !source.is_empty()).then(|| StreamRef {
        source: source.into(),
        label: label.into(),
        sha256: sha256.into(),
    })
}

/// Restore one stream object; returns whether it succeeded.
fn restore_one<H: Host>(host: &H, config: &RestoreConfig, key: &str) -> bool {
    let Some(stream) = parse_key(key) else {
        host.log(
            Level::Warn,
            &format!("ignoring stream object with an unexpected key {key:?}"),
        );
        return false;
    };
    let posted = with_retry(
        host,
        "post-stream",
        config.retry_count,
        config.retry_average_delay_ms,
        || {
            let body = host.open(Bucket::Streams, key, Encoding::Gzip)?;
            host.post_stream(&stream, &body)
        },
    );
    match posted {
        Ok(()) => {
            host.metric(&stream.source, "streams-ok", 1);
            true
        }
        Err(e) => {
            host.log(
                Level::Error,
                &format!("stream {key} not restored: {}", e.message),
            );
            host.metric(&stream.source, "streams-fail", 1);
            let _ = host.append_line(FAILED_FILE, key);
            false
        }
    }
}

/// Worker: restore every key from `queue`; fails if any stream failed.
pub fn run_worker<H: Host>(host: &H, config: &RestoreConfig, queue: &str) -> Result<(), String> {
    let input = host.open_queue(queue, config.channel_size);
    let mut failed = 0;
    while let Some(message) = input.recv() {
        if !restore_one(host, config, &String::from_utf8_lossy(&message)) {
            failed += 1;
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} streams failed"))
    }
}

/// Checkpoint file of a source (the original's `<source>.stream`).
pub fn checkpoint_name(source: &str) -> String {
    format!("{source}.stream")
}
