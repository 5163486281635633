//! `GET /ping` and `GET /healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use p2p_chat_protocol::api::Health;

use crate::state::AppState;

/// Liveness of the process only: answers `pong` without touching the store.
pub(super) async fn ping() -> &'static str {
    "pong"
}

/// Readiness: 200 `{"status":"ok"}` when the store answers, 503 `{"status":"unavailable"}`
/// when it does not.
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
