//! `GET /ping` and `GET /healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use p2p_chat_protocol::api::Health;

use crate::state::AppState;

/// Liveness of the process only: answers `pong` without touching the store.
#[utoipa::path(get, path = "/ping", tag = "health",
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")))]
pub(super) async fn ping() -> &'static str {
    "pong"
}

/// Readiness: 200 `{"status":"ok"}` when the store answers, 503 `{"status":"unavailable"}`
/// when it does not.
#[utoipa::path(get, path = "/healthz", tag = "health", responses(
    (status = 200, description = "The database answers", body = p2p_chat_protocol::api::Health),
    (status = 503, description = "The database does not answer", body = p2p_chat_protocol::api::Health)))]
pub(super) async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    match state.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok".into(),
            }),
        ),
        Err(err) => {
            tracing::warn!(cause = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                }),
            )
        }
    }
}
