//! The signaling connections of running clients (`GET /signal`, a WebSocket): the [`Hub`]
//! that knows who is connected, and the connection task that pushes presence changes and
//! new-mail notices (see `p2p_chat_protocol::api::signal`).
//!
//! A signaling connection is a running client's sign of life: opening one makes its user
//! online (and tells everyone connected), the directory pings it every
//! [`SIGNAL_PING_SECS`] and refreshes the user's heartbeat on each answer, and when the user's
//! last connection closes it is signed off (and everyone told). Pushes are best effort: a
//! client too slow to take them misses some, and its periodic contact reload catches up.
//!
//! The hub holds this process's connections. With several directory processes (replicas)
//! sharing a PostgreSQL database, it is also a member of their [`Cluster`]: who is connected
//! where is recorded in the database, and pushes for connections held by other replicas
//! travel to them as [`Event`]s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use chrono::Utc;
use p2p_chat_protocol::api::signal::{SIGNAL_PING_SECS, ServerSignal};

use crate::state::AppState;

mod cluster;
mod hub;
mod punch;

pub use cluster::{ALIVE_EVERY, CHANNEL, Cluster, Event, Held, REPLICA_TIMEOUT, Recorded};
pub use hub::Hub;
pub use punch::{PunchEnd, PunchRefusal, punch_delays};

/// One queued push: shared by every connection a broadcast goes to, so a queue slot is a
/// pointer (idle connections stay small) and a broadcast copies no strings.
pub type Push = Arc<ServerSignal>;

/// Pings unanswered before a connection is dropped: 3.
const MISSED_PINGS: u32 = 3;

/// Longest wait for a client to take one message: 10 s. A client that stops reading is
/// dropped rather than holding its task and connection for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one authenticated signaling connection of `username`, seen coming from `observed`,
/// until it closes or stops answering pings; a `brief` one as [`Hub::join`] says.
pub async fn serve(
    mut socket: WebSocket,
    state: AppState,
    username: String,
    observed: Option<String>,
    brief: bool,
) {
    let hub = state.hub();
    // `IP:PORT` seen directly (or reported by a trusted proxy), or a bare IP.
    let with_port = observed
        .as_deref()
        .and_then(|addr| addr.parse::<SocketAddr>().ok());
    let (id, mut pushes, first) = hub.join(&username, with_port, brief).await;
    let observed_host = with_port.map(|a| a.ip().to_string()).or_else(|| {
        observed
            .as_deref()
            .and_then(|addr| addr.parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string())
    });
    let alive = |state: &AppState, username: &str, host: Option<String>| {
        let (store, username) = (state.store().clone(), username.to_owned());
        // False when the account is gone or the operator disabled it: the connection ends.
        async move {
            match store
                .touch(&username, Utc::now(), host.as_deref(), true)
                .await
            {
                Ok(known) => known,
                Err(err) => {
                    tracing::warn!(%err, %username, "cannot record a signaling heartbeat");
                    true
                }
            }
        }
    };
    // A brief connection is no running client: no heartbeat, no presence.
    if !brief {
        let _ = alive(&state, &username, observed_host.clone()).await;
    }
    if first {
        hub.presence(&username, true);
    }
    tracing::debug!(%username, "signaling connection opened");
    let welcome = ServerSignal::Welcome { observed };
    let mut open = send(&mut socket, &welcome).await;
    // The first tick is at once: the round trip is known before the first punch.
    let mut ticks = tokio::time::interval(Duration::from_secs(SIGNAL_PING_SECS));
    let mut missed = 0u32;
    // The payload and time of the last ping, to measure the round trip of its pong.
    let mut ping: (u64, Option<Instant>) = (0, None);
    while open {
        tokio::select! {
            push = pushes.recv() => match push {
                Some(signal) => open = send(&mut socket, &signal).await,
                None => break,
            },
            _ = ticks.tick() => {
                if missed >= MISSED_PINGS {
                    tracing::debug!(%username, "signaling connection stopped answering");
                    break;
                }
                missed += 1;
                ping = (ping.0 + 1, Some(Instant::now()));
                let payload = ping.0.to_be_bytes().to_vec();
                open = send_frame(&mut socket, Message::Ping(payload.into())).await;
            }
            frame = socket.recv() => match frame {
                Some(Ok(Message::Pong(payload))) => {
                    // Only the answer to our last ping measures anything; a client may also
                    // send pongs of its own as a heartbeat (RFC 6455 §5.5.3).
                    if *payload == ping.0.to_be_bytes()
                        && let Some(sent) = ping.1.take()
                    {
                        hub.measured(&username, id, sent.elapsed()).await;
                    }
                    missed = 0;
                    if !brief && !alive(&state, &username, None).await {
                        tracing::info!(%username, "signaling connection ended: account disabled or deleted");
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Clients send nothing else yet; anything is a sign of life.
                Some(Ok(_)) => missed = 0,
            },
        }
    }
    if hub.leave(&username, id).await {
        if let Err(err) = state.store().sign_off(&username).await {
            tracing::warn!(%err, %username, "cannot sign off a closed signaling connection");
        }
        if hub.is_connected(&username).await {
            // Reconnected meanwhile: still online, and the new connection said so.
            let _ = alive(&state, &username, None).await;
        } else {
            hub.presence(&username, false);
        }
    }
    tracing::debug!(%username, "signaling connection closed");
}

/// Sends one signal as a JSON text frame; false when the connection is gone or the client
/// does not take it within [`SEND_TIMEOUT`].
async fn send(socket: &mut WebSocket, signal: &ServerSignal) -> bool {
    match serde_json::to_string(signal) {
        Ok(text) => send_frame(socket, Message::Text(text.into())).await,
        Err(_) => true,
    }
}

/// Sends one frame within [`SEND_TIMEOUT`]; false when that failed.
async fn send_frame(socket: &mut WebSocket, frame: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(frame)).await,
        Ok(Ok(()))
    )
}
