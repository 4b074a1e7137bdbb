//! `GET /api/v2/event/{model}/passive` and `POST /api/v2/event` (`events/restapi.go`).

use std::fmt::Write;

use axum::{
    body::{Body, to_bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use azul_backup::avro::{Model, decode_bulk, encode_bulk_from_raw};

use super::{AppState, unsupported};
use crate::{
    consumers::Pulled,
    errors::{ApiError, ErrorEnum},
    framing,
    gostr::json_string,
    params::{ConsumeParams, QueryValues},
};

const TRANSFORM_FAILED: &str = "PostEvent TransformEvents invalid events";

pub(super) async fn get_passive(
    State(app): State<AppState>,
    Path(model): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let q = QueryValues::parse(query.as_deref());
    let p =
        ConsumeParams::parse(&model, &q).map_err(|e| ApiError::new(422, "bad parameters", e))?;
    if let Some(filter) = p.unsupported_filter() {
        return Err(unsupported(format!(
            "the emulator does not apply {filter} yet"
        )));
    }
    // Refused before fetching: the dispatcher only fails at encoding time, after the offsets
    // moved, which would lose the events.
    if !p.avro_format {
        return Err(unsupported(
            "the emulator cannot return events as JSON yet (it has no avro to JSON converter); \
             ask for avro-format=true",
        ));
    }
    let pulled = app.emulator.fetch(&p, app.stopping.clone()).await;
    let events = encode_bulk_from_raw(pulled.events.iter().map(|e| e.event.raw.as_slice()));
    let body = framing::events_response(info_json(&pulled).as_bytes(), &events);
    let mut response = body.body.into_response();
    let content_type =
        HeaderValue::try_from(body.content_type).expect("hex boundary is a valid header");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// `models.EventResponseInfo`, fields in Go's order, `filters` omitted when empty.
fn info_json(pulled: &Pulled) -> String {
    let mut info = format!(
        r#"{{"filtered":{},"fetched":{},"ready":true,"paused":false"#,
        pulled.filtered(),
        pulled.events.len()
    );
    if !pulled.filters.is_empty() {
        let filters: Vec<String> = pulled
            .filters
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_string(k)))
            .collect();
        let _ = write!(info, r#","filters":{{{}}}"#, filters.join(","));
    }
    info.push('}');
    info
}

pub(super) async fn get_active() -> ApiError {
    unsupported("the emulator serves passive consumers only; use /passive")
}

pub(super) async fn post_simulate() -> ApiError {
    unsupported("the emulator does not simulate consumer filters")
}

pub(super) async fn post_events(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
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
    if !q.is_truthy("avro-format") {
        return Err(refuse_json(&body));
    }
    if q.is_truthy("include_ok") {
        return Err(unsupported(
            "the emulator cannot return include_ok events yet (they are JSON and it has no avro \
             to JSON converter)",
        ));
    }
    let decoded = decode_bulk(model, &body).map_err(|e| {
        let detail = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
            "supplied events were in json format, not avro".to_string()
        } else {
            format!(
                "avro event did not match expected bulk schema: failed to parse avro bulk event \
                 with len({}): {e}",
                body.len()
            )
        };
        ApiError::new(422, TRANSFORM_FAILED, detail)
    })?;

    let mut accepted = Vec::new();
    let mut failures = Vec::new();
    for event in decoded {
        match &event.invalid {
            None => accepted.push(event),
            // The dispatcher's bulk conversion `break`s here and drops the error.
            Some(_) if app.emulator.config().truncate_at_invalid => break,
            Some(reason) => failures.push(format!("innerNewMsgInFlight {reason}")),
        }
    }
    if accepted.is_empty() {
        return Err(all_filtered(&failures));
    }

    let total = accepted.len();
    let publish_failures = app.emulator.append(model, accepted);
    if !publish_failures.is_empty() {
        let mut detail = format!(
            "successfully submitted {}/{total} events with the failed events providing the \
             following errors: ",
            total - publish_failures.len()
        );
        for (_, e) in &publish_failures {
            let _ = writeln!(detail, "{e};");
        }
        return Err(ApiError::new(500, "failed ProduceAnyEvents", detail));
    }
    let mut response = post_response(total, &failures).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// JSON bodies: the dispatcher's own first checks, then an honest refusal.
fn refuse_json(body: &[u8]) -> ApiError {
    let detail = if body.len() <= 2 {
        "ensure events were in json format: event message too small"
    } else if serde_json::from_slice::<serde_json::Value>(body).is_err() {
        "ensure events were in json format: event message invalid json"
    } else {
        return unsupported(
            "the emulator cannot accept JSON events yet (it has no JSON to avro converter); \
             post an avro bulk with avro-format=true",
        );
    };
    ApiError::new(422, TRANSFORM_FAILED, detail)
}

/// 425: nothing was left to publish.
fn all_filtered(failures: &[String]) -> ApiError {
    let detail = format!(
        "failed to produce any of the provided events as they were all filtered out by the \
         following filters [], with {} response failures which are: [{}]",
        failures.len(),
        failures.join(" ")
    );
    ApiError::new(
        425,
        "All events to be published have been filtered out",
        detail,
    )
    .with_enum(ErrorEnum::AllEventsFiltered)
}

/// `models.ResponsePostEvent`; the avro path leaves `failures` nil, so it encodes as `null`.
fn post_response(total_ok: usize, failures: &[String]) -> String {
    let listed = if failures.is_empty() {
        "null".to_string()
    } else {
        let items: Vec<String> = failures
            .iter()
            .map(|e| format!(r#"{{"event":"","error":{}}}"#, json_string(e)))
            .collect();
        format!("[{}]", items.join(","))
    };
    format!(
        r#"{{"total_ok":{total_ok},"total_failures":{},"failures":{listed}}}"#,
        failures.len()
    )
}
