//! Dedupe: drop stream requests seen recently (LRU, shared by all sources), forward the rest.

use std::num::NonZeroUsize;

use lru::LruCache;

use crate::consumer::STREAM_JOURNAL;
use crate::host::{Host, Journal, Level, Queue};

pub const STREAMS_DEDUPED: &str = "streams-deduped";

/// The object key a request line `<event>/<source>/<label>/<sha256>` maps to.
pub fn stream_key(line: &str) -> Option<&str> {
    let (_, key) = line.split_once('/')?;
    (key.split('/').count() == 3).then_some(key)
}

pub fn run<H: Host>(host: &H, capacity: u32, channel_size: u32) -> Result<(), String> {
    let input = host.open_queue(crate::consumer::STREAM_REQUESTS, channel_size);
    let output = host.open_queue(STREAMS_DEDUPED, channel_size);
    let journal = host
        .open_journal(STREAM_JOURNAL)
        .map_err(|e| format!("{STREAM_JOURNAL} journal: {}", e.message))?;
    let mut seen: LruCache<String, ()> =
        LruCache::new(NonZeroUsize::new(capacity.max(1) as usize).expect("non-zero"));
    while let Some(message) = input.recv() {
        let line = String::from_utf8_lossy(&message).into_owned();
        let Some(key) = stream_key(&line) else {
            host.log(Level::Error, &format!("malformed stream request {line:?}"));
            let _ = journal.done(&line);
            continue;
        };
        // A duplicate is handled by its first occurrence, which stays journaled until done.
        if seen.get(key).is_some() {
            let _ = journal.done(&line);
            continue;
        }
        seen.put(key.to_string(), ());
        output
            .send(line.as_bytes())
            .map_err(|e| format!("deduped queue: {}", e.message))?;
    }
    output.close();
    Ok(())
}
