//! `/emulator/v1/...`: reading the emulator's state back and injecting faults, for tests.
//! Not part of the dispatcher's API, and never subject to faults itself.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use azul_backup::avro::Model;
use serde::Serialize;

use super::AppState;
use crate::{
    errors::ApiError,
    faults::{FaultRule, FaultSet},
};

/// A JSON body (axum's `Json` needs a feature this workspace leaves off).
fn json(value: &impl Serialize) -> Response {
    let body = serde_json::to_string(value).expect("plain data serialises");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn admin_error(status: u16, detail: impl ToString) -> ApiError {
    ApiError::new(status, "emulator admin request failed", detail)
}

/// Every event held for the model, in publish order, as the dispatcher's JSON.
pub(super) async fn events(
    State(app): State<AppState>,
    Path(model): Path<String>,
) -> Result<Response, ApiError> {
    let model: Model = model.parse().map_err(|e| admin_error(404, e))?;
    let events = app
        .emulator
        .events_json(model)
        .map_err(|e| admin_error(500, e))?;
    Ok(json(&events))
}

pub(super) async fn streams(State(app): State<AppState>) -> Response {
    json(&app.emulator.streams())
}

pub(super) async fn stats(State(app): State<AppState>) -> Response {
    json(&app.emulator.stats())
}

pub(super) async fn list_faults(State(app): State<AppState>) -> Response {
    json(&app.emulator.faults())
}

/// One rule or an array of them; all are checked before any is added.
pub(super) async fn add_faults(
    State(app): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| admin_error(400, e))?;
    let rules: Vec<FaultRule> = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|rule| vec![rule])
    }
    .map_err(|e| admin_error(400, e))?;
    let mut check = FaultSet::default();
    for rule in &rules {
        check.add(rule.clone()).map_err(|e| admin_error(400, e))?;
    }
    for rule in rules {
        app.emulator
            .add_fault(rule)
            .map_err(|e| admin_error(400, e))?;
    }
    Ok(json(&app.emulator.faults()))
}

pub(super) async fn clear_faults(State(app): State<AppState>) -> StatusCode {
    app.emulator.clear_faults();
    StatusCode::NO_CONTENT
}
