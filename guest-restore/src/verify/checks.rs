//! The check of one object, as a worker runs it: what is wrong with it, if anything.

use serde::{Deserialize, Serialize};

use super::present_key;
use crate::azul::backup::verification::{Problem, ProblemKind, VerifyConfig};
use crate::host::{Bucket, BundleContent, Encoding, Error, ErrorKind, Host, KeySet, StreamRef};
use crate::retry::with_retry;
use crate::streams::parse_key;

/// The outcome of one object's check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub key: String,
    pub events: u64,
    pub invalid: u64,
    /// Decoded bytes read (streams).
    pub bytes: u64,
    pub problem: Option<Problem>,
}

impl Checked {
    fn ok(key: &str) -> Self {
        Checked {
            key: key.to_string(),
            events: 0,
            invalid: 0,
            bytes: 0,
            problem: None,
        }
    }

    fn problem(key: &str, kind: ProblemKind, detail: impl Into<String>) -> Self {
        Checked {
            problem: Some(Problem {
                kind,
                key: key.to_string(),
                detail: detail.into(),
            }),
            ..Checked::ok(key)
        }
    }
}

/// A read that failed for good: the object vanished, is damaged, or could not be read.
fn failed(key: &str, e: &Error) -> Checked {
    let (kind, detail) = match e.kind {
        ErrorKind::NotFound => (ProblemKind::Missing, "vanished while being checked"),
        ErrorKind::Corrupt => (ProblemKind::Corrupt, ""),
        ErrorKind::InvalidInput => (ProblemKind::Undecodable, ""),
        _ => (ProblemKind::Unreadable, "not checked: "),
    };
    // The report names the key already; host messages often start with it too.
    let message = e
        .message
        .strip_prefix(&format!("{key}: "))
        .unwrap_or(&e.message);
    Checked::problem(key, kind, format!("{detail}{message}"))
}

/// `N` of a bundle name `<T>-<N>-<K>` (the timestamp holds dashes itself).
fn named_count(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next()?;
    let mut tail = name.rsplitn(3, '-');
    let (_kafka_key, count) = (tail.next()?, tail.next()?);
    tail.next()?;
    count.parse().ok()
}

fn stream_key(s: &StreamRef) -> String {
    present_key(&format!("{}/{}/{}", s.source, s.label, s.sha256))
}

/// Decode a bundle, record the streams it references, and compare its event count with the
/// count its name promises.
pub fn bundle<H: Host>(
    host: &H,
    config: &VerifyConfig,
    referenced: &H::KeySet,
    key: &str,
) -> Checked {
    let inspected = with_retry(
        host,
        "read-bundle",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.inspect_bundle(key),
    );
    let summary = match inspected {
        Ok(BundleContent::Decoded(summary)) => summary,
        Ok(BundleContent::Undecodable(why)) => {
            return Checked::problem(key, ProblemKind::Undecodable, why);
        }
        Err(e) => return failed(key, &e),
    };
    let refs: Vec<String> = summary.stream_refs.iter().map(stream_key).collect();
    if let Err(e) = referenced.add(&refs) {
        return Checked::problem(
            key,
            ProblemKind::Unreadable,
            format!("its stream references could not be recorded: {}", e.message),
        );
    }
    let (events, invalid) = (u64::from(summary.events), u64::from(summary.invalid));
    let mut checked = match named_count(key) {
        Some(named) if named != events => Checked::problem(
            key,
            ProblemKind::Undecodable,
            format!("holds {events} events, its name says {named}"),
        ),
        _ => Checked::ok(key),
    };
    checked.events = events;
    checked.invalid = invalid;
    checked
}

/// Download a stream object and check that its content hashes to its key.
pub fn stream<H: Host>(host: &H, config: &VerifyConfig, key: &str) -> Checked {
    let read = with_retry(
        host,
        "read-stream",
        config.retry_count,
        config.retry_average_delay_ms,
        || host.check_object(Bucket::Streams, key, Encoding::Gzip),
    );
    let check = match read {
        Ok(check) => check,
        Err(e) => return failed(key, &e),
    };
    let mut checked = match parse_key(key) {
        Some(s) if !s.sha256.eq_ignore_ascii_case(&check.sha256) => Checked::problem(
            key,
            ProblemKind::Corrupt,
            format!("content hashes to {}", check.sha256),
        ),
        _ => Checked::ok(key),
    };
    checked.bytes = check.plain_bytes;
    checked
}

#[cfg(test)]
mod tests {
    use super::named_count;

    #[test]
    fn the_event_count_is_read_from_the_bundle_name() {
        assert_eq!(
            named_count("s/binary/sourced/2025-08-05T18:10:00Z-100-43ac"),
            Some(100)
        );
        assert_eq!(
            named_count("system/delete/default/2025-08-13T18:13:40.005548Z-2-"),
            Some(2)
        );
        assert_eq!(named_count("s/binary/sourced/hand-made"), None);
        assert_eq!(named_count("s/binary/sourced/x"), None);
    }
}
