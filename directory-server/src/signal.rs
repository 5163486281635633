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
//! The hub lives in this process: with several directory processes (replicas), a user
//! connected to one is pushed to only by that one — see issue 9 for sharing it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use chrono::Utc;
use p2p_chat_protocol::api::signal::{SIGNAL_PING_SECS, ServerSignal};
use tokio::sync::mpsc;

use crate::state::AppState;

/// Pushes queued for one connection before later ones are dropped: 64.
const QUEUE: usize = 64;

/// Pings unanswered before a connection is dropped: 3.
const MISSED_PINGS: u32 = 3;

/// Longest wait for a client to take one message: 10 s. A client that stops reading is
/// dropped rather than holding its task and connection for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is connected, by username; each connection has its own queue of pushes.
#[derive(Debug, Default)]
pub struct Hub {
    inner: Mutex<HubInner>,
}

#[derive(Debug, Default)]
struct HubInner {
    next: u64,
    connections: HashMap<String, Vec<(u64, mpsc::Sender<ServerSignal>)>>,
}

impl Hub {
    /// Registers a connection of `username`; returns its id, its queue, and whether it is the
    /// user's only connection (the user just came online).
    pub fn join(&self, username: &str) -> (u64, mpsc::Receiver<ServerSignal>, bool) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = inner.next;
        inner.next += 1;
        let list = inner.connections.entry(username.to_owned()).or_default();
        list.push((id, tx));
        let first = list.len() == 1;
        (id, rx, first)
    }

    /// Forgets connection `id` of `username`; true when it was the user's last one.
    pub fn leave(&self, username: &str, id: u64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = inner.connections.get_mut(username) else {
            return false;
        };
        list.retain(|(i, _)| *i != id);
        if list.is_empty() {
            inner.connections.remove(username);
            true
        } else {
            false
        }
    }

    /// Closes every signaling connection of `username` (a logout, a password change or a
    /// deleted account: the token they were opened with may no longer be valid). Clients that
    /// still hold a valid token reconnect.
    pub fn disconnect(&self, username: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // Dropping the senders ends each connection's loop.
        inner.connections.remove(username);
    }

    /// Whether `username` has a signaling connection open.
    pub fn is_connected(&self, username: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.connections.contains_key(username)
    }

    /// Number of open signaling connections.
    pub fn connections(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.connections.values().map(Vec::len).sum()
    }

    /// Queues `signal` for every connection of `username`.
    pub fn send_to(&self, username: &str, signal: &ServerSignal) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (_, tx) in inner.connections.get(username).into_iter().flatten() {
            let _ = tx.try_send(signal.clone());
        }
    }

    /// Queues `signal` for every connection but those of `except`.
    pub fn broadcast(&self, signal: &ServerSignal, except: &str) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (name, list) in &inner.connections {
            if name == except {
                continue;
            }
            for (_, tx) in list {
                let _ = tx.try_send(signal.clone());
            }
        }
    }

    /// Tells everyone connected that `username` came online or went offline.
    pub fn presence(&self, username: &str, online: bool) {
        let signal = ServerSignal::Presence {
            username: username.to_owned(),
            online,
        };
        self.broadcast(&signal, username);
    }
}

/// Serves one authenticated signaling connection of `username`, seen coming from `observed`,
/// until it closes or stops answering pings.
pub async fn serve(
    mut socket: WebSocket,
    state: AppState,
    username: String,
    observed: Option<String>,
) {
    let hub = state.hub();
    let (id, mut pushes, first) = hub.join(&username);
    // `IP:PORT` seen directly, or a bare IP a trusted proxy reported.
    let observed_host = observed.as_deref().and_then(|addr| {
        addr.parse::<std::net::SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| addr.parse::<std::net::IpAddr>())
            .ok()
            .map(|ip| ip.to_string())
    });
    let alive = |state: &AppState, username: &str, host: Option<String>| {
        let (store, username) = (state.store().clone(), username.to_owned());
        async move {
            if let Err(err) = store
                .touch(&username, Utc::now(), host.as_deref(), true)
                .await
            {
                tracing::warn!(%err, %username, "cannot record a signaling heartbeat");
            }
        }
    };
    alive(&state, &username, observed_host.clone()).await;
    if first {
        hub.presence(&username, true);
    }
    tracing::debug!(%username, "signaling connection opened");
    let welcome = ServerSignal::Welcome { observed };
    let mut open = send(&mut socket, &welcome).await;
    let mut ticks = tokio::time::interval(Duration::from_secs(SIGNAL_PING_SECS));
    ticks.tick().await;
    let mut missed = 0u32;
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
                open = send_frame(&mut socket, Message::Ping(Vec::new().into())).await;
            }
            frame = socket.recv() => match frame {
                Some(Ok(Message::Pong(_))) => {
                    missed = 0;
                    alive(&state, &username, None).await;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Clients send nothing else yet; anything is a sign of life.
                Some(Ok(_)) => missed = 0,
            },
        }
    }
    if hub.leave(&username, id) {
        if let Err(err) = state.store().sign_off(&username).await {
            tracing::warn!(%err, %username, "cannot sign off a closed signaling connection");
        }
        if hub.is_connected(&username) {
            // Reconnected meanwhile: still online, and the new connection said so.
            alive(&state, &username, None).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_reports_first_and_last_connections_and_routes_pushes() {
        let hub = Hub::default();
        let (a1, mut rx_a1, first) = hub.join("alice");
        assert!(first);
        let (_a2, mut rx_a2, first) = hub.join("alice");
        assert!(!first, "a second window of alice");
        let (b, mut rx_b, _) = hub.join("bob");
        assert_eq!(hub.connections(), 3);
        hub.send_to("alice", &ServerSignal::Mail);
        assert_eq!(rx_a1.try_recv().unwrap(), ServerSignal::Mail);
        assert_eq!(rx_a2.try_recv().unwrap(), ServerSignal::Mail);
        assert!(rx_b.try_recv().is_err());
        hub.presence("bob", false);
        assert!(matches!(
            rx_a1.try_recv().unwrap(),
            ServerSignal::Presence { online: false, .. }
        ));
        assert!(rx_b.try_recv().is_err(), "not told about itself");
        assert!(!hub.leave("alice", a1), "alice still has a connection");
        assert!(hub.is_connected("alice"));
        assert!(hub.leave("bob", b));
        assert!(!hub.is_connected("bob"));
    }
}
