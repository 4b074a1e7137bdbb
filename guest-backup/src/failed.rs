//! Re-classification after failed streams were re-attempted (the original's
//! `checkForSecondTimeBadBackups`): a stream that failed again and that the dispatcher no
//! longer has moves to `backup-failed.stream`; anything else stays in `backup.stream`.

use crate::host::{Host, Level, StreamRef};
use crate::streams::{COMPLEX_FILE, FAILED_FILE};

fn stream_of(line: &str) -> Option<StreamRef> {
    let mut parts = line.splitn(4, '/').skip(1);
    let (source, label, sha256) = (parts.next()?, parts.next()?, parts.next()?);
    Some(StreamRef {
        source: source.into(),
        label: label.into(),
        sha256: sha256.into(),
    })
}

pub fn reclassify<H: Host>(host: &H) -> Result<(), String> {
    let text = host
        .read_state(FAILED_FILE)
        .map_err(|e| format!("{FAILED_FILE}: {}", e.message))?;
    let lines: Vec<String> = text
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    // Rewrite both lists from what was read; write the new lists before removing the old one.
    let mut keep = Vec::new();
    for line in lines {
        let gone = stream_of(&line).map(|s| host.stream_exists(&s));
        match gone {
            Some(Ok(false)) => {
                host.log(
                    Level::Warn,
                    &format!("giving up trying to back up {line}: the dispatcher does not have it"),
                );
                // Labelled by the stream key (as the original), not by the event.
                let key = line.split_once('/').map_or(line.as_str(), |(_, key)| key);
                host.metric("", &format!("cant-be-backed-up:{key}"), 1);
                if host.append_line(COMPLEX_FILE, &line).is_err() {
                    host.object_error("BackupStreamStashAppend3");
                    keep.push(line);
                }
            }
            _ => keep.push(line),
        }
    }
    let content: String = keep.iter().map(|l| format!("{l}\n")).collect();
    host.write_state(FAILED_FILE, &content).map_err(|e| {
        host.object_error("BackupStreamStashAppend4");
        format!("{FAILED_FILE}: {}", e.message)
    })
}
