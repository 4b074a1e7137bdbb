//! The dispatcher's route table (`restapi/route.go`) with gin's answers for everything else,
//! plus the emulator's own `/emulator/v1/` admin routes.

mod admin;
mod events_get;
mod events_post;
mod fault_layer;
mod post_body;
mod streams;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::StatusCode,
    middleware,
    response::Response,
    routing::{get, patch, post},
};
use tokio::sync::watch;

use crate::{
    Emulator,
    errors::{ApiError, not_found, plain_text},
};

/// What every handler gets: the emulator, and a signal that the server is stopping.
#[derive(Clone)]
struct AppState {
    emulator: Emulator,
    stopping: watch::Receiver<bool>,
}

/// Title of the 422 the emulator answers for features it does not have.
const UNSUPPORTED: &str = "not supported by the emulator";

fn unsupported(detail: impl ToString) -> ApiError {
    ApiError::new(422, UNSUPPORTED, detail)
}

pub(crate) fn router(emulator: Emulator, stopping: watch::Receiver<bool>) -> Router {
    let state = AppState { emulator, stopping };
    // gin answers HEAD on a GET-only route, and any unregistered method, with its plain 404.
    Router::new()
        .route("/", get(root).head(not_found).fallback(not_found))
        .route(
            "/api/v2/event",
            post(events_post::post_events).fallback(not_found),
        )
        .route(
            "/api/v2/event/simulate",
            post(post_simulate).fallback(not_found),
        )
        .route(
            "/api/v2/event/{model}/passive",
            get(events_get::get_passive)
                .head(not_found)
                .fallback(not_found),
        )
        .route(
            "/api/v2/event/{model}/active",
            get(events_get::get_active)
                .head(not_found)
                .fallback(not_found),
        )
        .route(
            "/api/v3/stream/{source}/{label}",
            post(streams::post_stream).fallback(not_found),
        )
        // DELETE is only registered when `api_allow_delete` is set, which defaults to off.
        .route(
            "/api/v3/stream/{source}/{label}/{hash}",
            get(streams::get_stream)
                .head(streams::head_stream)
                .fallback(not_found),
        )
        .route(
            "/api/v3/stream/{source_a}/{source_b}/{label}/{hash}",
            patch(streams::copy_stream).fallback(not_found),
        )
        .route("/emulator/v1/events/{model}", get(admin::events))
        .route("/emulator/v1/streams", get(admin::streams))
        .route("/emulator/v1/stats", get(admin::stats))
        .route(
            "/emulator/v1/faults",
            get(admin::list_faults)
                .post(admin::add_faults)
                .delete(admin::clear_faults),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            fault_layer::inject,
        ))
        // The dispatcher reads bodies of any size.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn root() -> Response {
    plain_text(StatusCode::OK, "Azul Dispatcher")
}

async fn post_simulate() -> ApiError {
    unsupported("the emulator does not simulate consumer filters")
}
