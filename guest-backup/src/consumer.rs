//! One event consumer: fetch, make the batch durable in the spool, queue its stream
//! requests, and flush the spool to a bundle at the original's key layout.

use serde::{Deserialize, Serialize};

use crate::BackupConfig;
use crate::host::{Batch, EventMark, FetchRequest, Host, Journal, Level, Queue, Spool};
use crate::retry::{backoff_ms, with_retry};

/// The dispatcher identity version the original uses (`RECOVERY_VERSION`).
pub const CONSUMER_VERSION: &str = "3.0.0";
pub const BINARY_ACTIONS: [&str; 5] = ["sourced", "extracted", "augmented", "mapped", "enriched"];
pub const SYSTEM_MODELS: [&str; 2] = ["insert", "delete"];
/// Queue of raw stream requests, filled by consumers, drained by dedupe.
pub const STREAM_REQUESTS: &str = "stream-requests";
/// Journal of stream requests not yet handled (state file `streams.journal`).
pub const STREAM_JOURNAL: &str = "streams";

/// What one consumer reads: binary events of (source, action), or a system model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    pub source: String,
    pub model: String,
    pub action: String,
}

impl Consumer {
    pub fn binary(source: &str, action: &str) -> Self {
        Consumer {
            source: source.into(),
            model: "binary".into(),
            action: action.into(),
        }
    }

    pub fn system(model: &str) -> Self {
        Consumer {
            source: "system".into(),
            model: model.into(),
            action: "default".into(),
        }
    }

    fn is_binary(&self) -> bool {
        self.model == "binary"
    }

    /// `backup-events-<source>-<action|model>-<backup_id>`, as the original names it.
    pub fn name(&self, backup_id: &str) -> String {
        let kind = if self.is_binary() {
            &self.action
        } else {
            &self.model
        };
        format!("backup-events-{}-{}-{}", self.source, kind, backup_id)
    }

    pub fn spool_name(&self) -> String {
        format!("{}-{}-{}", self.source, self.model, self.action)
    }

    /// `<source>/<model>/<action>/<T>-<N>-<K>`: T and K from the last valid event.
    pub fn bundle_key(&self, count: u32, last: Option<&EventMark>) -> String {
        let (t, k) = match last {
            Some(m) => (m.timestamp.as_str(), m.kafka_key.as_str()),
            None => ("0001-01-01T00:00:00Z", ""),
        };
        format!(
            "{}/{}/{}/{}-{}-{}",
            self.source, self.model, self.action, t, count, k
        )
    }

    fn request(&self, config: &BackupConfig) -> FetchRequest {
        FetchRequest {
            consumer: self.name(&config.backup_id),
            version: CONSUMER_VERSION.into(),
            model: self.model.clone(),
            source: self.is_binary().then(|| self.source.clone()),
            action: self.is_binary().then(|| self.action.clone()),
            count: config.event_batch_size,
            deadline_secs: config.fetch_deadline_secs,
            deployment_key: config.deployment_key.clone(),
        }
    }
}

/// A queued stream request: `<event id>/<source>/<label>/<sha256>`, the line format of the
/// original's `backup.stream` file.
pub fn request_line(r: &crate::host::StreamRequest) -> String {
    format!(
        "{}/{}/{}/{}",
        r.event_id, r.stream.source, r.stream.label, r.stream.sha256
    )
}

/// Retries a step that writes to the local state directory until it succeeds. The events it
/// saves exist nowhere else (the dispatcher committed them when it handed them out), so giving
/// up would lose them: a full or failing disk pauses this consumer — it fetches nothing more —
/// until the write succeeds, and only a fast stop (second signal) abandons it, loudly.
fn persist<H: Host>(
    host: &H,
    what: &str,
    mut op: impl FnMut() -> Result<(), crate::host::Error>,
) -> Result<(), String> {
    let mut attempt = 0u32;
    loop {
        let Err(e) = op() else { return Ok(()) };
        attempt += 1;
        if host.cancelled() {
            return Err(format!("{what}: {} (abandoned by a fast stop)", e.message));
        }
        host.object_error("StatePersist");
        host.log(
            Level::Error,
            &format!(
                "{what}: {} (attempt {attempt}; retrying, nothing more is fetched until it succeeds)",
                e.message
            ),
        );
        host.sleep_ms(backoff_ms(host, attempt, PERSIST_RETRY_MS));
    }
}

/// First wait before writing to the state directory again (doubling up to 30 s).
const PERSIST_RETRY_MS: u64 = 1000;

/// Journal the requests (durably) before queueing them, so none is lost in a crash.
fn enqueue<H: Host>(
    host: &H,
    journal: &H::Journal,
    queue: &H::Queue,
    requests: &[crate::host::StreamRequest],
) -> Result<(), String> {
    if requests.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = requests.iter().map(request_line).collect();
    persist(host, &format!("{STREAM_JOURNAL} journal"), || {
        journal.add(&lines)
    })?;
    for line in &lines {
        queue
            .send(line.as_bytes())
            .map_err(|e| format!("stream queue: {}", e.message))?;
    }
    Ok(())
}

/// Upload the spool as one bundle and clear it. On failure the events stay in the spool
/// (on disk) and the next flush tries again.
fn flush<H: Host>(
    host: &H,
    config: &BackupConfig,
    consumer: &Consumer,
    spool: &H::Spool,
) -> Result<(), String> {
    let count = spool.len();
    if count == 0 {
        return Ok(());
    }
    let key = consumer.bundle_key(count, spool.last_valid().as_ref());
    let put = with_retry(
        host,
        "bundle-put",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.put_spool(&key, spool),
    );
    if let Err(e) = put {
        host.metric(&consumer.source, "events-fail", u64::from(count));
        return Err(format!("bundle {key}: {}", e.message));
    }
    let invalid = spool.invalid_count();
    spool
        .clear()
        .map_err(|e| format!("clearing spool after {key}: {}", e.message))?;
    host.metric(&consumer.source, "events-ok", u64::from(count - invalid));
    host.metric(&consumer.source, "events-invalid", u64::from(invalid));
    host.log(Level::Debug, &format!("stored bundle {key}"));
    Ok(())
}

/// Events that make a bundle. The swap-variant test build flushes at half the batch size,
/// so that a swap to it shows in the bundles.
fn flush_threshold(config: &BackupConfig) -> u32 {
    if cfg!(feature = "swap-variant") {
        (config.event_batch_size / 2).max(1)
    } else {
        config.event_batch_size
    }
}

/// Consume until asked to stop (or, with `until-idle`, until caught up), then flush.
pub fn run<H: Host>(host: &H, config: &BackupConfig, consumer: &Consumer) -> Result<(), String> {
    let spool = host
        .open_spool(&consumer.spool_name(), &consumer.model)
        .map_err(|e| format!("spool {}: {}", consumer.spool_name(), e.message))?;
    let queue = host.open_queue(STREAM_REQUESTS, config.channel_size);
    let journal = host
        .open_journal(STREAM_JOURNAL)
        .map_err(|e| format!("{STREAM_JOURNAL} journal: {}", e.message))?;
    if spool.len() > 0 {
        host.log(
            Level::Info,
            &format!(
                "{}: recovered {} spooled events",
                consumer.spool_name(),
                spool.len()
            ),
        );
        enqueue(host, &journal, &queue, &spool.stream_requests())?;
    }
    let request = consumer.request(config);
    let mut last_flush = host.monotonic_ms();
    let mut failures = 0u32;
    while !host.shutdown_requested() && !host.cancelled() {
        let batch = match with_retry(
            host,
            "fetch",
            config.retry_count,
            config.retry_average_delay_ms,
            || host.fetch_events(&request),
        ) {
            Ok(batch) => batch,
            Err(e) => {
                failures += 1;
                let event = format!("{}/{}", consumer.model, consumer.action);
                host.event_error(&consumer.source, &event, "FetchEvents");
                host.log(
                    Level::Warn,
                    &format!("{}: fetch failed: {}", request.consumer, e.message),
                );
                host.sleep_ms(backoff_ms(host, failures, config.retry_average_delay_ms));
                continue;
            }
        };
        failures = 0;
        let fetched = batch.len();
        if fetched > 0 {
            let what = format!(
                "spool {}: saving {fetched} fetched events",
                consumer.spool_name()
            );
            persist(host, &what, || spool.append(&batch))?;
            enqueue(host, &journal, &queue, &batch.stream_requests())?;
            for _ in 0..batch.invalid_count() {
                host.event_error(&consumer.source, &consumer.model, "CheckValid");
            }
        }
        let caught_up = fetched == 0 && batch.info().ready;
        let now = host.monotonic_ms();
        let due = spool.len() >= flush_threshold(config)
            || (spool.len() > 0 && now.saturating_sub(last_flush) >= config.flush_interval_ms);
        if due || spool.len() == 0 {
            if let Err(e) = flush(host, config, consumer, &spool) {
                host.log(Level::Error, &e);
            }
            last_flush = now;
        }
        if config.until_idle && caught_up {
            break;
        }
    }
    flush(host, config, consumer, &spool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeBatch, FakeHost};
    use crate::host::{StreamRef, StreamRequest};

    fn config(batch: u32) -> BackupConfig {
        BackupConfig {
            sources: vec!["testing".into()],
            backup_id: "1".into(),
            deployment_key: "recovery".into(),
            event_batch_size: batch,
            flush_interval_ms: 600_000,
            fetch_deadline_secs: 30,
            stream_workers: 1,
            channel_size: 10,
            retry_count: 3,
            retry_average_delay_ms: 10,
            consecutive_stream_failures: 5,
            dedupe_capacity: 100,
            until_idle: true,
            retry_failed: None,
        }
    }

    fn batch(start: u32, n: u32) -> FakeBatch {
        let events = (start..start + n)
            .map(|i| (format!("2025-08-05T18:10:{i:02}Z"), format!("key{i}")))
            .collect();
        let streams = (start..start + n)
            .map(|i| StreamRequest {
                event_id: format!("key{i}"),
                stream: StreamRef {
                    source: "testing".into(),
                    label: "content".into(),
                    sha256: format!("{i:064}"),
                },
            })
            .collect();
        FakeBatch {
            events,
            streams,
            ready: true,
        }
    }

    #[test]
    fn names_and_keys_follow_the_original() {
        let c = Consumer::binary("testing", "extracted");
        assert_eq!(c.name("1"), "backup-events-testing-extracted-1");
        let mark = EventMark {
            timestamp: "2025-08-05T18:10:00Z".into(),
            kafka_key: "43ac".into(),
        };
        assert_eq!(
            c.bundle_key(100, Some(&mark)),
            "testing/binary/extracted/2025-08-05T18:10:00Z-100-43ac"
        );
        let d = Consumer::system("delete");
        assert_eq!(d.name("1"), "backup-events-system-delete-1");
        assert_eq!(
            d.bundle_key(2, None),
            "system/delete/default/0001-01-01T00:00:00Z-2-"
        );
        let r = d.request(&config(20));
        assert_eq!(
            (r.source, r.action, r.model.as_str()),
            (None, None, "delete")
        );
    }

    #[test]
    fn flushes_at_the_batch_size_and_at_idle() {
        let host = FakeHost::default();
        host.fetches
            .borrow_mut()
            .extend([Ok(batch(0, 12)), Ok(batch(12, 12)), Ok(batch(24, 5))]);
        run(&host, &config(20), &Consumer::binary("testing", "sourced")).unwrap();
        let stored: Vec<(String, u32)> = host
            .stored
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(
            stored,
            vec![
                (
                    "testing/binary/sourced/2025-08-05T18:10:23Z-24-key23".to_string(),
                    24
                ),
                (
                    "testing/binary/sourced/2025-08-05T18:10:28Z-5-key28".to_string(),
                    5
                ),
            ]
        );
        assert_eq!(host.metric_value("testing", "events-ok"), 29);
        assert_eq!(
            host.queues.borrow()[STREAM_REQUESTS].items.borrow().len(),
            29
        );
    }

    #[test]
    fn transient_upload_failures_are_retried_not_lost() {
        let host = FakeHost::default();
        host.put_failures.set(2);
        host.fetches.borrow_mut().extend([Ok(batch(0, 3))]);
        run(&host, &config(20), &Consumer::binary("testing", "sourced")).unwrap();
        assert_eq!(host.stored.borrow().values().sum::<u32>(), 3);
        assert!(host.clock_ms.get() > 0, "retries back off");
    }

    #[test]
    fn fetch_failures_back_off_and_continue() {
        let host = FakeHost::default();
        host.fetches
            .borrow_mut()
            .extend((0..4).map(|_| Err(FakeHost::transient())));
        host.fetches.borrow_mut().push_back(Ok(batch(0, 2)));
        run(&host, &config(20), &Consumer::binary("testing", "sourced")).unwrap();
        assert_eq!(host.stored.borrow().values().sum::<u32>(), 2);
        assert!(
            host.event_errors
                .borrow()
                .contains(&"testing binary/sourced FetchEvents".to_string())
        );
    }
}
