//! Object keys and key segments: what the host accepts from guests and from listings.

/// Why a key or segment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {value:?}")]
pub struct KeyError {
    pub value: String,
    pub reason: &'static str,
}

/// Longest segment accepted: S3 keys are at most 1024 bytes, and a key holds three.
pub const MAX_SEGMENT_LEN: usize = 255;

/// One path segment (a source, label or sha256): non-empty, not `.`/`..`, no separators or
/// control characters, at most [`MAX_SEGMENT_LEN`] bytes — so it can never escape its place
/// in a key or URL.
pub fn validate_segment(value: &str) -> Result<(), KeyError> {
    let reason = if value.is_empty() {
        "empty name"
    } else if value.len() > MAX_SEGMENT_LEN {
        "longer than 255 bytes"
    } else if value == "." || value == ".." {
        "relative path segment"
    } else if value.contains(['/', '\\']) {
        "contains a path separator"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else if value.contains(['?', '#', '%']) {
        "contains a URL metacharacter"
    } else {
        return Ok(());
    };
    Err(KeyError {
        value: value.to_string(),
        reason,
    })
}

/// A datastream's address as the backup stores it: a safe source and label, and a sha256 of
/// 64 lowercase hex digits (the stream's object key and the dispatcher's path use all three).
pub fn validate_stream(source: &str, label: &str, sha256: &str) -> Result<(), KeyError> {
    validate_segment(source)?;
    validate_segment(label)?;
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(KeyError {
            value: sha256.to_string(),
            reason: "not a sha256 (64 lowercase hex digits)",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_stream_addresses_are_refused() {
        let sha = "ab".repeat(32);
        assert_eq!(validate_stream("testing", "content", &sha), Ok(()));
        let long = "x".repeat(300);
        for (source, label, sha256) in [
            ("..", "content", sha.as_str()),
            ("a/b", "content", &sha),
            ("a\\b", "content", &sha),
            ("a\0b", "content", &sha),
            (long.as_str(), "content", &sha),
            ("testing", "con/tent", &sha),
            ("testing", "content", "not-hex"),
            ("testing", "content", &"AB".repeat(32)),
            ("testing", "content", &"ab".repeat(33)),
            ("testing", "content", "../../../etc/passwd"),
        ] {
            assert!(
                validate_stream(source, label, sha256).is_err(),
                "{source:?} {label:?} {sha256:?} must be refused"
            );
        }
    }

    #[test]
    fn hostile_segments_are_refused() {
        for bad in ["", ".", "..", "a/b", "..\\x", "a\nb", "x?y", "%2e%2e"] {
            assert!(validate_segment(bad).is_err(), "{bad:?} must be refused");
        }
        for good in [
            "testing",
            "content",
            "safe_png",
            "0123abcd",
            "2025-08-05T18:10:00Z-100-abc",
        ] {
            assert_eq!(validate_segment(good), Ok(()));
        }
    }
}
