use super::StoreError;

/// S3's limit on the UTF-8 length of a key.
const MAX_KEY_BYTES: usize = 1024;

/// Refuses keys that some backend would store under a different name or path: S3-compatible
/// servers such as SeaweedFS collapse `//` and resolve `.`/`..`, and the local store maps keys
/// to file paths, where a leading `/`, `..` or a backslash would escape or alias the bucket.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    check_key(key).map_err(|reason| StoreError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    })
}

/// Like [`validate_key`], but a list prefix may be empty or end with `/`.
pub fn validate_prefix(prefix: &str) -> Result<(), StoreError> {
    if prefix.is_empty() {
        return Ok(());
    }
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    check_key(trimmed).map_err(|reason| StoreError::InvalidKey {
        key: prefix.to_owned(),
        reason: format!("invalid list prefix: {reason}"),
    })
}

fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("key is empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return Err("key is longer than 1024 bytes, the S3 limit");
    }
    if key.chars().any(char::is_control) {
        return Err("key contains a control character");
    }
    if key.contains('\\') {
        return Err("key contains a backslash");
    }
    if key.starts_with('/') {
        return Err("key starts with '/'");
    }
    if key.ends_with('/') {
        return Err("key ends with '/', which names a folder, not an object");
    }
    for segment in key.split('/') {
        match segment {
            "" => {
                return Err(
                    "key contains an empty segment ('//'), which S3-compatible stores collapse",
                );
            }
            "." | ".." => return Err("key contains a '.' or '..' segment"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(key: &str) -> String {
        match validate_key(key) {
            Err(StoreError::InvalidKey { reason, .. }) => reason,
            other => panic!("{key:?} should be invalid, got {other:?}"),
        }
    }

    #[test]
    fn accepts_backup_keys() {
        for key in [
            "testing/content/001f4f38b6a486ca8446a8f5d6f373bd58029735e1c1cfd198e6dd6754004001",
            "folder/system/delete/default/2025-08-13T18:13:40.005548Z-2-260485ec",
            "a",
            "odd name/ünïcode+%&'()/.hidden/x..y",
        ] {
            validate_key(key).unwrap();
        }
    }

    #[test]
    fn rejects_keys_with_a_specific_reason() {
        assert_eq!(reason(""), "key is empty");
        assert!(reason("a//b").contains("empty segment"));
        assert!(reason("a/./b").contains("'.' or '..'"));
        assert!(reason("../b").contains("'.' or '..'"));
        assert!(reason("a/..").contains("'.' or '..'"));
        assert!(reason("/a").contains("starts with '/'"));
        assert!(reason("a/").contains("ends with '/'"));
        assert!(reason("a\\b").contains("backslash"));
        assert!(reason("a\nb").contains("control character"));
        assert!(reason("a\u{7f}b").contains("control character"));
        assert!(reason(&"k".repeat(1025)).contains("1024"));
    }

    #[test]
    fn prefixes_may_be_empty_or_end_with_a_slash() {
        validate_prefix("").unwrap();
        validate_prefix("src/").unwrap();
        validate_prefix("src/lab").unwrap();
        assert!(validate_prefix("/").is_err());
        assert!(validate_prefix("a//").is_err());
        assert!(validate_prefix("../").is_err());
    }
}
