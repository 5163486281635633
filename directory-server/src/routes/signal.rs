//! `GET /signal`: the WebSocket a running client keeps open (see [`crate::signal`]).

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use p2p_chat_protocol::api::signal::MAX_SIGNAL_BYTES;

use crate::auth::Authenticated;
use crate::client_ip::ClientAddr;
use crate::state::AppState;

/// Read buffer of one signaling connection: 4 KiB (its messages are small; thousands of
/// idle connections must stay cheap).
const READ_BUFFER: usize = 4 * 1024;

/// Opens the signaling connection of the token's owner. The observed address is the TCP
/// peer's `IP:PORT`; behind a trusted proxy, only the client IP the proxy reported.
pub(super) async fn open(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    auth: Authenticated,
    upgrade: WebSocketUpgrade,
) -> Response {
    let observed = match (client, peer) {
        (Some(ip), Some(Extension(ConnectInfo(peer)))) if ip == peer.ip() => Some(peer.to_string()),
        (Some(ip), _) => Some(ip.to_string()),
        (None, _) => None,
    };
    let username = auth.username;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(READ_BUFFER)
        .max_message_size(MAX_SIGNAL_BYTES)
        .max_frame_size(MAX_SIGNAL_BYTES)
        .on_upgrade(move |socket| crate::signal::serve(socket, state, username, observed))
}
