//! The relay's routes (see [`crate::relay`]): `POST /relay/{username}` asks for a ticket to
//! meet `username` and offers it to them over signaling; `GET /relay/{ticket}` with
//! `Upgrade: p2p-chat-relay` joins it.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use p2p_chat_protocol::api::signal::{
    RELAY_MAX_BYTES_HEADER, RELAY_UPGRADE, RelayTicket, ServerSignal,
};

use super::clients::path_username;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::relay::Refusal;
use crate::relay::forward::forward;
use crate::state::AppState;

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Off => ApiError::PathUnavailable(
            "this directory does not relay sessions (--relay off); the message can wait in the \
             mailbox"
                .into(),
        ),
        Refusal::Busy => ApiError::PathUnavailable(
            "the directory's relay is carrying as many sessions as it may (for everyone, or for \
             one of you); try again later"
                .into(),
        ),
        Refusal::UnknownTicket => {
            ApiError::NotFound("no such relay ticket for you (expired or used)".into())
        }
    }
}

/// `POST /relay/{username}`: a ticket to meet `username` on the relay, offered to them at
/// once. 201 with [`RelayTicket`]; 404 when `username` has no signaling connection open.
#[utoipa::path(post, path = "/relay/{key}", tag = "reach", security(("bearer" = [])),
    params(("key" = String, Path, description = "The user to meet")),
    responses(
        (status = 201, description = "A ticket, also offered to the other user", body = p2p_chat_protocol::api::signal::RelayTicket),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "The user has no signaling connection", body = p2p_chat_protocol::api::ErrorBody),
        (status = 503, description = "The relay is off or full", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Rate limit; see Retry-After", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn offer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let target = path_username(&raw)?;
    if target == auth.username {
        return Err(ApiError::InvalidRequest(
            "a relay ticket is for meeting another user".into(),
        ));
    }
    // A disabled (or deleted) account is met by nobody, even while its socket lingers.
    if state.store().client(&target).await?.is_none() || !state.hub().is_connected(&target).await {
        return Err(ApiError::NotFound(format!(
            "{target} has no client connected to the directory right now"
        )));
    }
    let ticket = state
        .relay()
        .issue(&auth.username, &target)
        .map_err(refused)?;
    state.hub().send_to(
        &target,
        &ServerSignal::RelayOffer {
            ticket: ticket.clone(),
            from: auth.username.clone(),
        },
    );
    tracing::debug!(from = %auth.username, to = %target, "relay ticket issued");
    Ok((StatusCode::CREATED, Json(RelayTicket { ticket })))
}

/// Passes a request for a ticket that replica `replica` issued on to it (see
/// [`crate::relay::forward`]).
async fn pass_on(state: &AppState, replica: &str, request: Request) -> Result<Response, ApiError> {
    let url = match state.hub().cluster() {
        Some(cluster) => cluster.url_of(replica).await?,
        None => None,
    };
    let url = url.ok_or_else(|| {
        ApiError::PathUnavailable(
            "the directory process that issued this relay ticket is gone or cannot be reached \
             by the others (see --replica-url); ask for a new ticket"
                .into(),
        )
    })?;
    forward(&url, request).await
}

/// `DELETE /relay/{ticket}`: one of the ticket's users declines it; 204, or 404 when no
/// waiting ticket is theirs.
#[utoipa::path(delete, path = "/relay/{key}", tag = "reach", security(("bearer" = [])),
    params(("key" = String, Path, description = "The ticket")),
    responses(
        (status = 204, description = "Declined; a side waiting on it is closed"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "No waiting ticket of the caller's", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn decline(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(ticket): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    if let Some(replica) = state.relay().foreign(&ticket) {
        return pass_on(&state, replica, request).await;
    }
    state
        .relay()
        .decline(&ticket, &auth.username)
        .map_err(refused)?;
    tracing::debug!(username = %auth.username, "relay ticket declined");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /relay/{ticket}` with `Upgrade: p2p-chat-relay`: 101 (with the session's byte cap in
/// [`RELAY_MAX_BYTES_HEADER`]), then the connection is one side of the relayed session.
#[utoipa::path(get, path = "/relay/{key}", tag = "reach", security(("bearer" = [])),
    params(("key" = String, Path, description = "The ticket"),
           ("Upgrade" = String, Header, description = "p2p-chat-relay")),
    responses(
        (status = 101, description = "The connection is one side of the relayed session"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "No such ticket for the caller", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn join(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(ticket): ApiPath<String>,
    mut request: Request,
) -> Result<Response, ApiError> {
    if let Some(replica) = state.relay().foreign(&ticket) {
        return pass_on(&state, replica, request).await;
    }
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok());
    if !upgrade.is_some_and(|v| v.eq_ignore_ascii_case(RELAY_UPGRADE)) {
        return Err(ApiError::InvalidRequest(format!(
            "a relay connection needs the header Upgrade: {RELAY_UPGRADE}"
        )));
    }
    state
        .relay()
        .check(&ticket, &auth.username)
        .map_err(refused)?;
    let max_bytes = state.relay().limits().max_bytes;
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let username = auth.username;
        let parked = state
            .relay()
            .join(&ticket, &username, TokioIo::new(upgraded))
            .await;
        if let Some(left) = parked {
            tokio::time::sleep(left).await;
            state.relay().expire(&ticket);
        }
    });
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static(RELAY_UPGRADE));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(RELAY_MAX_BYTES_HEADER, HeaderValue::from(max_bytes));
    Ok(response)
}
