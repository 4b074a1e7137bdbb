//! Stream workers: copy each requested stream from the dispatcher into the streams bucket
//! (gzip), or record it as missing (404) or failed in the state directory.

use crate::BackupConfig;
use crate::consumer::STREAM_JOURNAL;
use crate::dedupe::STREAMS_DEDUPED;
use crate::host::{Bucket, Encoding, ErrorKind, Host, Journal, Level, Queue, StreamRef};
use crate::retry::with_retry;

/// Failed stream requests, one line each (the original's `backup.stream`).
pub const FAILED_FILE: &str = "backup.stream";
/// Streams the dispatcher does not have (404), one line each.
pub const MISSING_FILE: &str = "backup-missing.stream";
/// Failed streams the dispatcher no longer has (the original's `backup-failed.stream`).
pub const COMPLEX_FILE: &str = "backup-failed.stream";

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

/// Record `line` in `file` and only then mark it done; if the state directory refuses, the
/// request stays journaled and the next run handles it again.
fn record<H: Host>(host: &H, journal: &H::Journal, file: &str, line: &str, keyword: &str) {
    match host.append_line(file, line) {
        Ok(()) => {
            let _ = journal.done(line);
        }
        Err(e) => {
            host.object_error(keyword);
            host.log(
                Level::Error,
                &format!("{file}: cannot record {line}: {}", e.message),
            );
        }
    }
}

pub fn run<H: Host>(host: &H, config: &BackupConfig) -> Result<(), String> {
    let input = host.open_queue(STREAMS_DEDUPED, config.channel_size);
    let journal = host
        .open_journal(STREAM_JOURNAL)
        .map_err(|e| format!("{STREAM_JOURNAL} journal: {}", e.message))?;
    let mut consecutive_failures = 0u32;
    let mut stop_requested = false;
    while let Some(message) = input.recv() {
        let line = String::from_utf8_lossy(&message).into_owned();
        let Some(stream) = parse(&line) else {
            host.log(Level::Error, &format!("malformed stream request {line:?}"));
            let _ = journal.done(&line);
            continue;
        };
        let key = format!("{}/{}/{}", stream.source, stream.label, stream.sha256);
        // Past the failure threshold (or on a fast stop) requests are recorded, not tried.
        if host.cancelled() || consecutive_failures > config.consecutive_stream_failures {
            if !stop_requested && !host.cancelled() {
                stop_requested = true;
                host.request_stop(&format!(
                    "{consecutive_failures} consecutive stream failures (threshold {}); later requests are recorded in {FAILED_FILE}",
                    config.consecutive_stream_failures
                ));
            }
            record(
                host,
                &journal,
                FAILED_FILE,
                &line,
                "BackupStreamStashAppend1",
            );
            continue;
        }
        match with_retry(
            host,
            "stream-copy",
            config.retry_count,
            config.retry_average_delay_ms,
            || copy(host, &stream, &key),
        ) {
            Ok(Outcome::Missing) => {
                consecutive_failures = 0;
                host.metric(&stream.source, "streams-missing", 1);
                record(
                    host,
                    &journal,
                    MISSING_FILE,
                    &line,
                    "BackupStreamStashAppendMissing",
                );
            }
            Ok(Outcome::Stored | Outcome::AlreadyStored) => {
                consecutive_failures = 0;
                host.metric(&stream.source, "streams-ok", 1);
                let _ = journal.done(&line);
            }
            Err(e) => {
                consecutive_failures += 1;
                host.log(Level::Error, &format!("stream {key} failed: {}", e.message));
                host.metric(&stream.source, "streams-fail", 1);
                record(
                    host,
                    &journal,
                    FAILED_FILE,
                    &line,
                    "BackupStreamStashAppend2",
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeHost;
    use crate::host::Journal;

    fn config(threshold: u32) -> BackupConfig {
        BackupConfig {
            sources: vec!["testing".into()],
            backup_id: "1".into(),
            deployment_key: "recovery".into(),
            event_batch_size: 10,
            flush_interval_ms: 1000,
            fetch_deadline_secs: 1,
            stream_workers: 1,
            channel_size: 100,
            retry_count: 2,
            retry_average_delay_ms: 1,
            consecutive_stream_failures: threshold,
            dedupe_capacity: 100,
            until_idle: true,
            retry_failed: None,
        }
    }

    fn feed(host: &FakeHost, shas: &[&str]) -> Vec<String> {
        let lines: Vec<String> = shas
            .iter()
            .map(|s| format!("ev/testing/content/{s}"))
            .collect();
        host.journal.add(&lines).unwrap();
        let queue = host.open_queue(STREAMS_DEDUPED, 100);
        for l in &lines {
            queue.send(l.as_bytes()).unwrap();
        }
        lines
    }

    #[test]
    fn outcomes_are_recorded_and_every_request_leaves_the_journal() {
        let host = FakeHost::default();
        host.failing.borrow_mut().push("bad".into());
        host.missing.borrow_mut().push("gone".into());
        feed(&host, &["ok1", "bad", "gone", "ok2"]);
        run(&host, &config(5)).unwrap();
        assert_eq!(host.metric_value("testing", "streams-ok"), 2);
        assert_eq!(host.metric_value("testing", "streams-fail"), 1);
        assert_eq!(host.metric_value("testing", "streams-missing"), 1);
        assert_eq!(host.files.borrow()[FAILED_FILE], "ev/testing/content/bad\n");
        assert_eq!(
            host.files.borrow()[MISSING_FILE],
            "ev/testing/content/gone\n"
        );
        assert!(host.stored.borrow().contains_key("testing/content/ok2"));
        assert!(host.journal.outstanding.borrow().is_empty());
    }

    #[test]
    fn the_failure_threshold_stops_the_run_and_records_the_rest() {
        let host = FakeHost::default();
        host.failing
            .borrow_mut()
            .extend(["f1".to_string(), "f2".to_string(), "f3".to_string()]);
        feed(&host, &["f1", "f2", "f3", "later1", "later2"]);
        run(&host, &config(1)).unwrap();
        let reason = host
            .stop_reason
            .borrow()
            .clone()
            .expect("the run is stopped");
        assert!(reason.contains("consecutive stream failures"), "{reason}");
        assert_eq!(
            host.metric_value("testing", "streams-fail"),
            2,
            "only two tried before the threshold"
        );
        let recorded = &host.files.borrow()[FAILED_FILE];
        assert_eq!(
            recorded.lines().count(),
            5,
            "tried failures and untried requests are all recorded: {recorded}"
        );
        assert!(host.journal.outstanding.borrow().is_empty());
    }
}
