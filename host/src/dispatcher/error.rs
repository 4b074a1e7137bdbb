//! Dispatcher failures, classified so callers know whether retrying can help.

/// What went wrong talking to the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error("not found: {0}")]
    NotFound(String),
    /// 425: every event was filtered out (e.g. aged off); nothing was published.
    #[error("dispatcher filtered every event (425): {0}")]
    Filtered(String),
    /// 500 after publishing some of the events: the rest will fail again the same way.
    #[error("dispatcher published {published} of {total} events: {body}")]
    PartialPublish {
        published: u32,
        total: u32,
        body: String,
    },
    #[error("dispatcher rejected the request ({status}): {body}")]
    Rejected { status: u16, body: String },
    #[error("dispatcher failed ({status}): {body}")]
    Server { status: u16, body: String },
    #[error("dispatcher unreachable or timed out: {0}")]
    Transport(String),
    #[error("dispatcher response is malformed: {0}")]
    Malformed(String),
    #[error("local I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl DispatcherError {
    /// Transport errors, 5xx (but not a partial publish) and 429 may succeed later.
    pub fn retryable(&self) -> bool {
        match self {
            DispatcherError::Server { .. } | DispatcherError::Transport(_) => true,
            DispatcherError::Rejected { status, .. } => *status == 429,
            _ => false,
        }
    }

    /// Classify a non-2xx answer, keeping the body for the operator.
    pub fn from_status(status: u16, body: String, what: &str) -> Self {
        match status {
            404 => DispatcherError::NotFound(what.to_string()),
            425 => DispatcherError::Filtered(body),
            500 => match partial_publish(&body) {
                Some((published, total)) => DispatcherError::PartialPublish {
                    published,
                    total,
                    body,
                },
                None => DispatcherError::Server { status, body },
            },
            s if s >= 500 => DispatcherError::Server { status: s, body },
            s => DispatcherError::Rejected { status: s, body },
        }
    }
}

impl From<reqwest::Error> for DispatcherError {
    fn from(e: reqwest::Error) -> Self {
        DispatcherError::Transport(format!("{e:#}"))
    }
}

/// `successfully submitted X/Y events` in the detail of the dispatcher's partial-publish 500.
fn partial_publish(body: &str) -> Option<(u32, u32)> {
    let rest = body.split("successfully submitted ").nth(1)?;
    let (counts, _) = rest.split_once(' ')?;
    let (x, y) = counts.split_once('/')?;
    Some((x.parse().ok()?, y.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert!(matches!(
            DispatcherError::from_status(404, String::new(), "x"),
            DispatcherError::NotFound(_)
        ));
        assert!(matches!(
            DispatcherError::from_status(425, String::new(), "x"),
            DispatcherError::Filtered(_)
        ));
        assert!(DispatcherError::from_status(503, String::new(), "x").retryable());
        assert!(DispatcherError::from_status(429, String::new(), "x").retryable());
        assert!(!DispatcherError::from_status(400, String::new(), "x").retryable());
        assert!(!DispatcherError::from_status(422, String::new(), "x").retryable());
    }

    #[test]
    fn partial_publish_is_recognised_and_not_retried() {
        let body = r#"{"status":"500","title":"failed ProduceAnyEvents","detail":"successfully submitted 3/4 events with the failed events providing the following errors: too big","error_enum":"ErrorStringEnumUnset"}"#;
        let e = DispatcherError::from_status(500, body.into(), "events");
        assert!(
            matches!(
                e,
                DispatcherError::PartialPublish {
                    published: 3,
                    total: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(!e.retryable());
    }
}
