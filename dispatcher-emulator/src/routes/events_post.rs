//! `POST /api/v2/event` (`events/restapi.go: PostEvent`).

use std::fmt::Write;

use axum::{
    Extension,
    body::{Body, to_bytes},
    extract::{RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use azul_backup::avro::{Model, to_json};
use serde::Serialize;

use super::{
    AppState,
    post_body::{self, Batch, Failure},
};
use crate::{
    errors::{ApiError, ErrorEnum},
    faults::FaultRule,
    gostr::go_json,
    params::QueryValues,
    produce::{self, AGEOFF},
};

pub(super) async fn post_events(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    fault: Option<Extension<FaultRule>>,
    body: Body,
) -> Result<Response, ApiError> {
    let q = QueryValues::parse(query.as_deref());
    // The dispatcher starts the pause before it even checks the model.
    if q.is_truthy("pause_plugins") {
        app.emulator.record_pause();
    }
    let model: Model = q.get("model").parse().map_err(|_| {
        let detail = format!("not a registered model type: {}", q.get("model"));
        ApiError::new(400, "not a registered model type", detail)
    })?;
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::new(500, "Couldn't read request body", e))?;
    if body.is_empty() {
        let detail = "no events were provided to be published";
        return Err(ApiError::new(400, "Empty Request", detail));
    }
    let config = app.emulator.config();
    let batch = if q.is_truthy("avro-format") {
        let keep = fault.and_then(|Extension(rule)| rule.truncate_at);
        post_body::avro(model, &body, config.truncate_at_invalid, keep)?
    } else {
        post_body::json(model, &body)?
    };
    let Batch {
        events,
        total_ok,
        failures,
    } = batch;

    let graveyard = app.emulator.graveyard();
    let transformed = produce::transform(model, events, &config.ageoff, &graveyard);
    if transformed.events.is_empty() {
        return Err(all_filtered(&transformed.dropped, failures.as_deref()));
    }
    let (ready, mut errors) = produce::prepare(model, transformed.events);
    let attempted = ready.len() + errors.len();
    // The dispatcher answers with the events as published: new key, tracking ids.
    let ok = q.is_truthy("include_ok").then(|| {
        ready
            .iter()
            .filter_map(|event| to_json(model, &event.raw).ok())
            .collect::<Vec<_>>()
    });
    errors.extend(app.emulator.append(model, ready));
    if !errors.is_empty() {
        errors.sort_by_key(|(index, _)| *index);
        let mut detail = format!(
            "successfully submitted {}/{attempted} events with the failed events providing the \
             following errors: ",
            attempted - errors.len()
        );
        for (_, e) in &errors {
            let _ = writeln!(detail, "{e};");
        }
        return Err(ApiError::new(500, "failed ProduceAnyEvents", detail));
    }
    let response = PostResponse {
        total_failures: failures.as_ref().map_or(0, Vec::len),
        total_ok,
        failures,
        ok: ok.filter(|ok| !ok.is_empty()),
    };
    let body = go_json(serde_json::to_string(&response).expect("plain data serialises"));
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `models.ResponsePostEvent`, fields in Go's order.
#[derive(Serialize)]
struct PostResponse {
    total_ok: usize,
    total_failures: usize,
    failures: Option<Vec<Failure>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<Vec<serde_json::Value>>,
}

/// 425: nothing was left to publish.
fn all_filtered(
    dropped: &std::collections::BTreeMap<&'static str, usize>,
    failures: Option<&[Failure]>,
) -> ApiError {
    let title = "All events to be published have been filtered out";
    if dropped.contains_key(AGEOFF) {
        let detail = "all submitted events aged off immediately, is the submission time older \
                      than ageoff?";
        return ApiError::new(425, title, detail).with_enum(ErrorEnum::AllEventsAgedOffImmediately);
    }
    let filters: Vec<String> = dropped.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let failures = failures.unwrap_or_default();
    let errors: Vec<&str> = failures.iter().map(|f| f.error.as_str()).collect();
    let detail = format!(
        "failed to produce any of the provided events as they were all filtered out by the \
         following filters [{}], with {} response failures which are: [{}]",
        filters.join(","),
        failures.len(),
        errors.join(" ")
    );
    ApiError::new(425, title, detail).with_enum(ErrorEnum::AllEventsFiltered)
}
