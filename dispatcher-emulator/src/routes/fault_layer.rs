//! Applying fault rules to the dispatcher's routes (a middleware around every route but
//! `/emulator/`).

use std::time::Duration;

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures::stream;

use super::AppState;
use crate::errors::ApiError;

pub(super) async fn inject(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/emulator/") {
        return next.run(request).await;
    }
    let Some(rule) = app.emulator.take_fault(request.method().as_str(), path) else {
        return next.run(request).await;
    };
    if rule.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
    }
    let injected = rule.status.map(|status| {
        ApiError::new(status, "injected fault", "fault injected by the emulator").into_response()
    });
    if !rule.after_processing
        && !rule.drop_connection
        && let Some(response) = injected
    {
        return response;
    }
    let drop_connection = rule.drop_connection;
    // Handlers read the rule for the faults they carry out themselves (truncation, not ready).
    request.extensions_mut().insert(rule);
    let response = next.run(request).await;
    if drop_connection {
        return dropped(response);
    }
    match injected {
        Some(injected) => injected,
        None => response,
    }
}

/// The response's head, then a body that fails at once: hyper aborts the connection, and the
/// client sees it break after the request was handled.
fn dropped(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let failing = stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an injected fault",
        ))
    });
    Response::from_parts(parts, Body::from_stream(failing))
}
