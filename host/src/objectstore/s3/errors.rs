//! Turns aws-sdk-s3 failures into [`StoreError`] kinds that say whether a retry can help.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::objectstore::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    NotFound,
    PermissionDenied,
    Transient,
    Other,
}

/// `op` names the S3 operation, `key` the object, prefix or bucket it was about.
pub(super) fn sdk_error<E>(op: &str, bucket: &str, key: &str, err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, detail) = match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code();
            let text = service.err().message().unwrap_or("no message");
            let detail = format!(
                "HTTP {status} {}: {text}",
                code.unwrap_or("(no error code)")
            );
            (classify(status, code), detail)
        }
        // The request may never have reached the server, or the answer was cut off.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            (Kind::Transient, DisplayErrorContext(&err).to_string())
        }
        SdkError::DispatchFailure(failure) if !failure.is_user() => {
            (Kind::Transient, DisplayErrorContext(&err).to_string())
        }
        _ => (Kind::Other, DisplayErrorContext(&err).to_string()),
    };
    let key = key.to_owned();
    let message = format!("{op} in bucket {bucket:?}: {detail}");
    match kind {
        Kind::NotFound => StoreError::NotFound { key, message },
        Kind::PermissionDenied => StoreError::PermissionDenied { key, message },
        Kind::Transient => StoreError::Transient { key, message },
        Kind::Other => StoreError::Other { key, message },
    }
}

/// HEAD answers carry no body, hence no error code: the status alone must do.
pub(super) fn classify(status: u16, code: Option<&str>) -> Kind {
    match code {
        Some("NoSuchKey" | "NoSuchBucket" | "NotFound") => return Kind::NotFound,
        Some(
            "AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken",
        ) => return Kind::PermissionDenied,
        // S3 sends RequestTimeout as a 400.
        Some("RequestTimeout" | "SlowDown" | "InternalError" | "ServiceUnavailable") => {
            return Kind::Transient;
        }
        _ => {}
    }
    match status {
        404 => Kind::NotFound,
        401 | 403 => Kind::PermissionDenied,
        408 | 429 | 500..=599 => Kind::Transient,
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_code_then_status() {
        assert_eq!(classify(404, Some("NoSuchKey")), Kind::NotFound);
        assert_eq!(classify(404, None), Kind::NotFound);
        assert_eq!(classify(403, None), Kind::PermissionDenied);
        assert_eq!(
            classify(403, Some("InvalidAccessKeyId")),
            Kind::PermissionDenied
        );
        assert_eq!(classify(400, Some("ExpiredToken")), Kind::PermissionDenied);
        assert_eq!(classify(400, Some("RequestTimeout")), Kind::Transient);
        assert_eq!(classify(503, Some("SlowDown")), Kind::Transient);
        assert_eq!(classify(500, None), Kind::Transient);
        assert_eq!(classify(429, None), Kind::Transient);
        assert_eq!(classify(400, Some("InvalidArgument")), Kind::Other);
        assert_eq!(classify(409, Some("BucketNotEmpty")), Kind::Other);
    }
}
