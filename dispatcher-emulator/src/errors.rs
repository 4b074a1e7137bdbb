//! The dispatcher's error responses: gin's plain-text 404 and the JSON `models.Error` body.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::gostr::json_string;

/// `models.ErrorStringEnum`: always present in a JSON error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEnum {
    Unset,
    AllEventsFiltered,
    AllEventsAgedOffImmediately,
}

impl ErrorEnum {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorEnum::Unset => "ErrorStringEnumUnset",
            ErrorEnum::AllEventsFiltered => "ErrorStringEnumAllEventsFiltered",
            ErrorEnum::AllEventsAgedOffImmediately => "ErrorStringEnumAllEventsAgedOffImmediately",
        }
    }
}

/// A JSON error as `restapi_handlers.JSONErrorWithEnum` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Fixed per call site in the dispatcher.
    pub title: &'static str,
    /// `err.Error()`, or `no error provided` when the dispatcher passed a nil error.
    pub detail: String,
    pub error_enum: ErrorEnum,
}

impl ApiError {
    pub fn new(status: u16, title: &'static str, detail: impl ToString) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            title,
            detail: detail.to_string(),
            error_enum: ErrorEnum::Unset,
        }
    }

    /// An error the dispatcher raises with a nil `error`.
    pub fn without_detail(status: u16, title: &'static str) -> Self {
        Self::new(status, title, "no error provided")
    }

    pub fn with_enum(mut self, error_enum: ErrorEnum) -> Self {
        self.error_enum = error_enum;
        self
    }

    /// The body, byte for byte as Go's JSON encoder writes `models.Error`.
    pub fn body(&self) -> String {
        format!(
            r#"{{"status":"{}","title":{},"detail":{},"error_enum":"{}"}}"#,
            self.status.as_u16(),
            json_string(self.title),
            json_string(&self.detail),
            self.error_enum.as_str()
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }
}

/// gin's answer for an unknown route or method (HandleMethodNotAllowed is off).
pub async fn not_found() -> Response {
    plain_text(StatusCode::NOT_FOUND, "404 page not found")
}

/// A `text/plain` response without a charset, as gin writes one.
pub fn plain_text(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_body_is_exact() {
        let e = ApiError::new(404, "not found", "not found");
        assert_eq!(
            e.body(),
            r#"{"status":"404","title":"not found","detail":"not found","error_enum":"ErrorStringEnumUnset"}"#
        );
    }
}
