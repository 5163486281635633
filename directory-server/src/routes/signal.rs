//! `GET /signal`: the WebSocket a running client keeps open (see [`crate::signal`]),
//! `POST /punch/{username}`, which arranges a hole punch over two such connections, and
//! `POST /reachability`, which tells a client whether the directory can dial it.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use p2p_chat_protocol::api::signal::{
    MAX_SIGNAL_BYTES, PunchPlan, Reachability, ReachabilityRequest,
};

use super::clients::path_username;
use crate::auth::Authenticated;
use crate::client_ip::{ClientAddr, ClientEndpoint};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::signal::PunchRefusal;
use crate::state::AppState;
use serde::Deserialize;

/// Read buffer of one signaling connection: 1 KiB. A client sends only pongs and small
/// requests, and thousands of idle connections must stay cheap (`benches/signaling_memory.rs`
/// measures them); a larger message grows the buffer as needed, up to [`MAX_SIGNAL_BYTES`].
const READ_BUFFER: usize = 1024;

/// Bytes of outgoing frames collected before they are written: none, so each push is written
/// at once and no buffer is kept between pushes.
const WRITE_BUFFER: usize = 0;

/// The query of `GET /signal`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SignalQuery {
    /// `true` for a short command's connection (see [`crate::signal::Hub::join`]).
    #[serde(default)]
    brief: bool,
}

/// Opens the signaling connection of the token's owner. The observed address is the TCP
/// peer's `IP:PORT`; behind a trusted proxy, the client `IP:PORT` the proxy reported, or only
/// its IP when the proxy wrote no port ([`crate::client_ip::resolve_endpoint`]).
#[utoipa::path(get, path = "/signal", tag = "reach", security(("bearer" = [])),
    params(("brief" = Option<bool>, Query, description = "true for a short command's connection"),
           ("Upgrade" = String, Header, description = "websocket")),
    responses(
        (status = 101, description = "A WebSocket of JSON signals (docs/api.md, GET /signal)"),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn open(
    State(state): State<AppState>,
    ClientEndpoint(client): ClientEndpoint,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<SignalQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let observed = client.map(|(ip, port)| match port {
        Some(port) => SocketAddr::new(ip, port).to_string(),
        None => ip.to_string(),
    });
    let username = auth.username;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_SIGNAL_BYTES)
        .max_frame_size(MAX_SIGNAL_BYTES)
        .on_upgrade(move |socket| {
            crate::signal::serve(socket, state, username, observed, query.brief)
        })
}

/// `POST /punch/{username}`: arranges a hole punch between the token's owner and `username`
/// (see [`crate::signal::Hub::punch`]). 200 with a [`PunchPlan`]; 404 when either side has
/// no signaling connection open; 503 when hole punching is off or the directory cannot see a
/// side's port; 429 over
/// the requester's budget of punches.
#[utoipa::path(post, path = "/punch/{key}", tag = "reach", security(("bearer" = [])),
    params(("key" = String, Path, description = "The user to punch through to")),
    responses(
        (status = 200, description = "Where and when to dial", body = p2p_chat_protocol::api::signal::PunchPlan),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 404, description = "A side has no signaling connection", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Over the budget of punches", body = p2p_chat_protocol::api::ErrorBody),
        (status = 503, description = "Hole punching is off, or a side's port is unknown", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn punch(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(raw): ApiPath<String>,
) -> Result<Json<PunchPlan>, ApiError> {
    let target = path_username(&raw)?;
    if target == auth.username {
        return Err(ApiError::InvalidRequest(
            "a hole punch is between two different users".into(),
        ));
    }
    if !state.settings().hole_punching {
        return Err(ApiError::PathUnavailable(
            "this directory does not arrange hole punches (--hole-punching off); the relay can \
             still connect you"
                .into(),
        ));
    }
    // A user who asked to be reached only through the relay never has its address handed out.
    for user in [&target, &auth.username] {
        // An account the operator disabled (or deleted) is nobody to punch through to.
        let Some(row) = state.store().client(user).await? else {
            return Err(ApiError::NotFound(format!(
                "no client is registered as {user:?}"
            )));
        };
        if row.relay_only {
            return Err(ApiError::PathUnavailable(format!(
                "{user} takes sessions only through the relay (--relay-only); the relay can \
                 connect you"
            )));
        }
    }
    let plan = state.hub().punch(&auth.username, &target).await.map_err(
        |refusal| match refusal {
            PunchRefusal::NotConnected => ApiError::NotFound(format!(
                "{target} or you have no client connected to the directory right now (a running \
                 chat window or listen keeps one)"
            )),
            PunchRefusal::NoPort => ApiError::PathUnavailable(
                "the directory cannot see the port of your client or theirs (a reverse proxy \
                 that does not report it: see docs/deploy.md); the relay can still connect you"
                    .into(),
            ),
            PunchRefusal::TooMany(wait) => ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            },
        },
    )?;
    tracing::debug!(from = %auth.username, to = %target, delay_ms = plan.delay_ms, "hole punch arranged");
    Ok(Json(plan))
}

/// How long the reachability check waits for the TCP connection to open: 3 s (a SYN that a
/// router drops would be sent again after 1 s; a router that answers, answers within a round
/// trip).
pub const REACHABILITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// `POST /reachability`: dials the address the request comes from (never any other), at the
/// asked port, and closes the connection at once; answers a [`Reachability`] with what the
/// directory offers too. Each check counts against the caller's budget of dials
/// ([`crate::signal::Hub::charge_dial`]): 429 with `Retry-After` over it; 400 for a bad body
/// or port 0; 503 when the directory cannot see the caller's address (behind a trusted proxy
/// that names no client it can read, say).
#[utoipa::path(post, path = "/reachability", tag = "reach", security(("bearer" = [])),
    request_body = p2p_chat_protocol::api::signal::ReachabilityRequest,
    responses(
        (status = 200, description = "Whether the directory could dial the caller", body = p2p_chat_protocol::api::signal::Reachability),
        (status = 400, description = "Bad body or port 0", body = p2p_chat_protocol::api::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = p2p_chat_protocol::api::ErrorBody),
        (status = 429, description = "Over the budget of dials", body = p2p_chat_protocol::api::ErrorBody),
        (status = 503, description = "The caller's address is unknown", body = p2p_chat_protocol::api::ErrorBody)))]
pub(super) async fn reachability(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    auth: Authenticated,
    body: Result<ApiJson<ReachabilityRequest>, ApiError>,
) -> Result<Json<Reachability>, ApiError> {
    let ApiJson(request) = body?;
    let port = p2p_chat_protocol::validate::port(request.port)?;
    let unseen = || {
        ApiError::PathUnavailable("the directory cannot see the address you connect from".into())
    };
    let ip = client.ok_or_else(unseen)?;
    // A request that resolves to a trusted proxy (it named no client we could read) would
    // have the directory dial the proxy's host, not the caller's.
    if crate::client_ip::is_trusted_proxy(ip, &state.settings().trusted_proxies) {
        return Err(unseen());
    }
    state
        .hub()
        .charge_dial(&auth.username)
        .map_err(|wait| ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        })?;
    let addr = SocketAddr::new(ip, port);
    let dialled = tokio::time::timeout(REACHABILITY_TIMEOUT, tokio::net::TcpStream::connect(addr));
    let (reachable, detail) = match dialled.await {
        Ok(Ok(_stream)) => (true, None),
        Ok(Err(e)) => (false, Some(e.to_string())),
        Err(_) => (
            false,
            Some(format!(
                "nothing answered within {} s",
                REACHABILITY_TIMEOUT.as_secs()
            )),
        ),
    };
    tracing::debug!(user = %auth.username, %addr, reachable, "reachability checked");
    Ok(Json(Reachability {
        addr: addr.to_string(),
        reachable,
        detail,
        relay: state.settings().relay.enabled,
        hole_punching: state.settings().hole_punching,
    }))
}
