use std::io;

/// A failed store operation. Every kind names the key (or prefix, or bucket) it was about and
/// keeps the backend's own message, so an operator can act on it without the debug log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {key:?} not found: {message}")]
    NotFound { key: String, message: String },

    #[error("permission denied for {key:?}: {message}")]
    PermissionDenied { key: String, message: String },

    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },

    /// The backend was unreachable, overloaded or timed out; the same request may succeed later.
    #[error("temporary failure for {key:?}: {message}")]
    Transient { key: String, message: String },

    #[error("i/o error for {key:?}: {source}")]
    Io {
        key: String,
        #[source]
        source: io::Error,
    },

    #[error("store error for {key:?}: {message}")]
    Other { key: String, message: String },
}

impl StoreError {
    /// Whether repeating the same call can succeed. Only failures of the connection or of an
    /// overloaded backend qualify; a missing object or a refused credential stays so.
    pub fn retryable(&self) -> bool {
        match self {
            StoreError::Transient { .. } => true,
            StoreError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::WouldBlock
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ),
            StoreError::NotFound { .. }
            | StoreError::PermissionDenied { .. }
            | StoreError::InvalidKey { .. }
            | StoreError::Other { .. } => false,
        }
    }

    /// The key, prefix or bucket the failure is about.
    pub fn key(&self) -> &str {
        match self {
            StoreError::NotFound { key, .. }
            | StoreError::PermissionDenied { key, .. }
            | StoreError::InvalidKey { key, .. }
            | StoreError::Transient { key, .. }
            | StoreError::Io { key, .. }
            | StoreError::Other { key, .. } => key,
        }
    }

    pub(crate) fn io(key: &str, source: io::Error) -> Self {
        StoreError::Io {
            key: key.to_owned(),
            source,
        }
    }

    /// Maps a local I/O failure to the kind a caller can act on.
    pub(crate) fn from_io(key: &str, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::NotFound => StoreError::NotFound {
                key: key.to_owned(),
                message: source.to_string(),
            },
            io::ErrorKind::PermissionDenied => StoreError::PermissionDenied {
                key: key.to_owned(),
                message: source.to_string(),
            },
            _ => StoreError::io(key, source),
        }
    }

    /// The same error reported for another key; used where a wrapper rewrites keys.
    pub(crate) fn with_key(self, new_key: &str) -> Self {
        let key = new_key.to_owned();
        match self {
            StoreError::NotFound { message, .. } => StoreError::NotFound { key, message },
            StoreError::PermissionDenied { message, .. } => {
                StoreError::PermissionDenied { key, message }
            }
            StoreError::InvalidKey { reason, .. } => StoreError::InvalidKey { key, reason },
            StoreError::Transient { message, .. } => StoreError::Transient { key, message },
            StoreError::Io { source, .. } => StoreError::Io { key, source },
            StoreError::Other { message, .. } => StoreError::Other { key, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retryable() {
        let transient = StoreError::Transient {
            key: "k".into(),
            message: "503".into(),
        };
        assert!(transient.retryable());
        let reset = StoreError::io("k", io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(reset.retryable());
        let missing = StoreError::from_io("k", io::Error::from(io::ErrorKind::NotFound));
        assert!(matches!(missing, StoreError::NotFound { .. }));
        assert!(!missing.retryable());
        let denied = StoreError::from_io("k", io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(denied, StoreError::PermissionDenied { .. }));
        assert!(!denied.retryable());
    }

    #[test]
    fn messages_name_the_key() {
        let err = StoreError::NotFound {
            key: "src/label/id".into(),
            message: "NoSuchKey".into(),
        };
        assert_eq!(err.key(), "src/label/id");
        assert!(err.to_string().contains("src/label/id"));
        let moved = err.with_key("label/id");
        assert_eq!(moved.key(), "label/id");
    }
}
