//! Stream workers: copy each requested stream from the dispatcher into the streams bucket
//! (gzip), or record it as missing (404) or failed in the state directory.

use crate::BackupConfig;
use crate::dedupe::STREAMS_DEDUPED;
use crate::host::{Bucket, Encoding, ErrorKind, Host, Level, Queue, StreamRef};
use crate::retry::with_retry;

/// Failed stream requests, one line each (the original's `backup.stream`).
pub const FAILED_FILE: &str = "backup.stream";
/// Streams the dispatcher does not have (404), one line each.
pub const MISSING_FILE: &str = "backup-missing.stream";

enum Outcome {
    Stored,
    AlreadyStored,
    Missing,
}

fn parse(line: &str) -> Option<StreamRef> {
    let mut parts = line.splitn(4, '/').skip(1);
    let (source, label, sha256) = (parts.next()?, parts.next()?, parts.next()?);
    Some(StreamRef {
        source: source.into(),
        label: label.into(),
        sha256: sha256.into(),
    })
}

fn copy<H: Host>(host: &H, stream: &StreamRef, key: &str) -> Result<Outcome, crate::host::Error> {
    if host.exists(Bucket::Streams, key)? {
        return Ok(Outcome::AlreadyStored);
    }
    match host.open_stream(stream) {
        Ok(body) => host
            .put(Bucket::Streams, key, body, Encoding::Gzip)
            .map(|_| Outcome::Stored),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Outcome::Missing),
        Err(e) => Err(e),
    }
}

pub fn run<H: Host>(host: &H, config: &BackupConfig) -> Result<(), String> {
    let input = host.open_queue(STREAMS_DEDUPED, config.channel_size);
    let mut consecutive_failures = 0u32;
    while let Some(message) = input.recv() {
        let line = String::from_utf8_lossy(&message).into_owned();
        let Some(stream) = parse(&line) else {
            host.log(Level::Error, &format!("malformed stream request {line:?}"));
            continue;
        };
        let key = format!("{}/{}/{}", stream.source, stream.label, stream.sha256);
        // Past the failure threshold (or on a fast stop) requests are recorded, not tried.
        if host.cancelled() || consecutive_failures > config.consecutive_stream_failures {
            host.append_line(FAILED_FILE, &line)
                .map_err(|e| format!("{FAILED_FILE}: {}", e.message))?;
            continue;
        }
        match with_retry(
            host,
            config.retry_count,
            config.retry_average_delay_ms,
            || copy(host, &stream, &key),
        ) {
            Ok(outcome) => {
                consecutive_failures = 0;
                let stat = match outcome {
                    Outcome::Stored | Outcome::AlreadyStored => "streams-ok",
                    Outcome::Missing => {
                        host.append_line(MISSING_FILE, &line)
                            .map_err(|e| format!("{MISSING_FILE}: {}", e.message))?;
                        "streams-missing"
                    }
                };
                host.metric(&stream.source, stat, 1);
            }
            Err(e) => {
                consecutive_failures += 1;
                host.log(Level::Error, &format!("stream {key} failed: {}", e.message));
                host.metric(&stream.source, "streams-fail", 1);
                host.append_line(FAILED_FILE, &line)
                    .map_err(|e| format!("{FAILED_FILE}: {}", e.message))?;
            }
        }
    }
    Ok(())
}
