//! The stream store and the dispatcher's single-range reads (`streams/range.go` plus the
//! store's offset/size rules).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::inspect::StreamInfo;

/// `(source, label, sha256)`, the address of a stored stream.
pub type StreamKey = (String, String, String);

#[derive(Debug, Default)]
pub struct StreamStore {
    blobs: BTreeMap<StreamKey, Bytes>,
}

impl StreamStore {
    /// Store `data` under `(source, label, sha256)`; the caller hashed it (outside any lock).
    pub fn insert(&mut self, source: &str, label: &str, sha256: &str, data: Bytes) {
        self.blobs
            .insert((source.into(), label.into(), sha256.into()), data);
    }

    /// The stream at `(source, label, hash)`, falling back to the legacy root key `("", "", hash)`.
    pub fn find(&self, source: &str, label: &str, hash: &str) -> Option<Bytes> {
        let key = |s: &str, l: &str| (s.to_string(), l.to_string(), hash.to_string());
        self.blobs
            .get(&key(source, label))
            .or_else(|| self.blobs.get(&key("", "")))
            .cloned()
    }

    pub fn keys(&self) -> Vec<StreamKey> {
        self.blobs.keys().cloned().collect()
    }

    /// Every stored stream with its size, sorted by address.
    pub fn infos(&self) -> Vec<StreamInfo> {
        self.blobs
            .iter()
            .map(|((source, label, sha256), data)| StreamInfo {
                source: source.clone(),
                label: label.clone(),
                sha256: sha256.clone(),
                size: data.len() as u64,
            })
            .collect()
    }
}

/// A parsed `Range` header: `start` < 0 counts back from the end; `length` -1 means to EOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    start: i64,
    length: i64,
}

/// A `Range` header the dispatcher refuses (title `invalid range provided`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("invalid range (no bytes= prefix)")]
    NoBytesPrefix,
    #[error("invalid range (multiple not supported)")]
    Multiple,
    #[error("invalid range (relative with range not supported)")]
    RelativeWithRange,
    #[error("invalid range (no range)")]
    NoRange,
    #[error("invalid range (invalid end)")]
    InvalidEnd,
    #[error("invalid range (non numeric)")]
    NonNumeric,
}

/// `parseRange`: a useful subset of RFC 7233, one range only.
pub fn parse_range(header: &str) -> Result<ByteRange, RangeError> {
    let spec = header
        .strip_prefix("bytes=")
        .ok_or(RangeError::NoBytesPrefix)?;
    if header.contains(',') {
        return Err(RangeError::Multiple);
    }
    let spec = spec.trim();
    if spec.matches('-').count() > 1 {
        return Err(RangeError::RelativeWithRange);
    }
    let Some((start, end)) = spec.split_once('-').filter(|_| spec != "-") else {
        return Err(RangeError::NoRange);
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        let suffix: i64 = end.parse().map_err(|_| RangeError::InvalidEnd)?;
        return Ok(ByteRange {
            start: -suffix,
            length: suffix,
        });
    }
    let start: i64 = start.parse().map_err(|_| RangeError::NonNumeric)?;
    if end.is_empty() {
        return Ok(ByteRange { start, length: -1 });
    }
    match end.parse::<i64>() {
        Ok(end) if start <= end => Ok(ByteRange {
            start,
            length: end - start + 1,
        }),
        _ => Err(RangeError::InvalidEnd),
    }
}

/// The requested start lies at or past the end (title `invalid range end`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset after EOF: {0}")]
pub struct OffsetAfterEnd(pub u64);

/// Resolve a range against a stream of `total` bytes, as the store's `Fetch` does:
/// returns `(start, len)`.
pub fn resolve(range: ByteRange, total: u64) -> Result<(u64, u64), OffsetAfterEnd> {
    let total_i = total as i64;
    let size = if range.length <= 0 {
        total_i
    } else {
        range.length
    };
    let start = if range.start < 0 {
        (total_i + range.start).max(0)
    } else {
        range.start
    };
    if start > 0 && start >= total_i {
        return Err(OffsetAfterEnd(total));
    }
    let size = size.min(total_i - start);
    Ok((start as u64, size as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_the_store() {
        let r = |h: &str| resolve(parse_range(h).unwrap(), 10);
        assert_eq!(r("bytes=2-4"), Ok((2, 3)));
        assert_eq!(r("bytes=2-"), Ok((2, 8)));
        assert_eq!(r("bytes=-3"), Ok((7, 3)));
        assert_eq!(r("bytes=-30"), Ok((0, 10)));
        assert_eq!(r("bytes=5-100"), Ok((5, 5)));
        assert_eq!(r("bytes=0-0"), Ok((0, 1)));
        assert_eq!(r("bytes=10-"), Err(OffsetAfterEnd(10)));
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert_eq!(parse_range("items=1-2"), Err(RangeError::NoBytesPrefix));
        assert_eq!(parse_range("bytes=1-2,4-5"), Err(RangeError::Multiple));
        assert_eq!(
            parse_range("bytes=-1-2"),
            Err(RangeError::RelativeWithRange)
        );
        assert_eq!(parse_range("bytes=-"), Err(RangeError::NoRange));
        assert_eq!(parse_range("bytes=5"), Err(RangeError::NoRange));
        assert_eq!(parse_range("bytes=a-2"), Err(RangeError::NonNumeric));
        assert_eq!(parse_range("bytes=4-2"), Err(RangeError::InvalidEnd));
    }
}
