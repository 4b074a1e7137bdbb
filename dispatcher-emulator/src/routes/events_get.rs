//! `GET /api/v2/event/{model}/passive` (`events/restapi.go: getEvents`).

use std::fmt::Write;

use axum::{
    Extension,
    extract::{Path, RawQuery, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use azul_backup::avro::{Model, encode_bulk_from_raw, to_json};

use super::{AppState, unsupported};
use crate::{
    consumers::Pulled,
    errors::ApiError,
    faults::FaultRule,
    framing,
    gostr::{go_json, json_string},
    params::{ConsumeParams, QueryValues},
};

pub(super) async fn get_passive(
    State(app): State<AppState>,
    Path(model): Path<String>,
    RawQuery(query): RawQuery,
    fault: Option<Extension<FaultRule>>,
) -> Result<Response, ApiError> {
    let q = QueryValues::parse(query.as_deref());
    let p =
        ConsumeParams::parse(&model, &q).map_err(|e| ApiError::new(422, "bad parameters", e))?;
    if let Some(filter) = p.unsupported_filter() {
        return Err(unsupported(format!("the emulator does not apply {filter}")));
    }
    let not_ready = fault.is_some_and(|Extension(rule)| rule.not_ready);
    let pulled = if not_ready {
        Pulled::default()
    } else {
        app.emulator.fetch(&p, app.stopping.clone()).await
    };
    // As in the dispatcher, encoding happens after the offsets moved.
    let events = if p.avro_format {
        encode_bulk_from_raw(pulled.events.iter().map(|e| e.raw.as_slice()))
    } else {
        json_events(p.model, &pulled)?.into_bytes()
    };
    let info = info_json(&pulled, not_ready.then_some(&p));
    let body = framing::events_response(info.as_bytes(), &events);
    let mut response = body.body.into_response();
    let content_type =
        HeaderValue::try_from(body.content_type).expect("hex boundary is a valid header");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// `{"events":[...]}`, each event as Go's `json.Marshal` writes it.
fn json_events(model: Model, pulled: &Pulled) -> Result<String, ApiError> {
    let mut rendered = Vec::with_capacity(pulled.events.len());
    let mut bad = 0;
    for event in &pulled.events {
        match to_json(model, &event.raw) {
            Ok(json) => rendered.push(go_json(json.to_string())),
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        let detail = format!(
            "total events good {} and bad {bad}",
            pulled.events.len() - bad
        );
        return Err(ApiError::new(500, "Marshalling Failed", detail));
    }
    Ok(format!(r#"{{"events":[{}]}}"#, rendered.join(",")))
}

/// `models.EventResponseInfo`, fields in Go's order, `filters` omitted when empty. A consumer
/// whose subscriptions have no partitions yet (`not_ready`) is told which ones.
fn info_json(pulled: &Pulled, not_ready: Option<&ConsumeParams>) -> String {
    let mut info = format!(
        r#"{{"filtered":{},"fetched":{},"ready":{},"paused":false"#,
        pulled.filtered(),
        pulled.events.len(),
        not_ready.is_none()
    );
    if let Some(p) = not_ready {
        let subs: Vec<&str> = [
            (p.expedite, "expedite"),
            (p.live, "live"),
            (p.historic, "historic"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let _ = write!(info, r#","consumers_not_ready":"{}""#, subs.join(","));
    }
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
