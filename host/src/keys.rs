//! Object keys and key segments: what the host accepts from guests and from listings.

/// Why a key or segment is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {value:?}")]
pub struct KeyError {
    pub value: String,
    pub reason: &'static str,
}

/// One path segment (a source, label or sha256): non-empty, not `.`/`..`, no separators or
/// control characters — so it can never escape its place in a key or URL.
pub fn validate_segment(value: &str) -> Result<(), KeyError> {
    let reason = if value.is_empty() {
        "empty name"
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

#[cfg(test)]
mod tests {
    use super::*;

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
