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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use chrono::Utc;
use governor::DefaultKeyedRateLimiter;
use p2p_chat_protocol::api::signal::{SIGNAL_PING_SECS, ServerSignal};
use tokio::sync::mpsc;

use crate::state::AppState;

mod cluster;
mod punch;

pub use cluster::{ALIVE_EVERY, CHANNEL, Cluster, Event, Held, REPLICA_TIMEOUT, Recorded};
pub use punch::{PunchEnd, PunchRefusal, punch_delays};

/// One queued push: shared by every connection a broadcast goes to, so a queue slot is a
/// pointer (idle connections stay small) and a broadcast copies no strings.
pub type Push = Arc<ServerSignal>;

/// Pushes queued for one connection before later ones are dropped: 64.
const QUEUE: usize = 64;

/// Pings unanswered before a connection is dropped: 3.
const MISSED_PINGS: u32 = 3;

/// Longest wait for a client to take one message: 10 s. A client that stops reading is
/// dropped rather than holding its task and connection for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is connected, by username; each connection has its own queue of pushes.
pub struct Hub {
    inner: Mutex<HubInner>,
    punches: DefaultKeyedRateLimiter<String>,
    cluster: Option<Arc<Cluster>>,
}

impl Default for Hub {
    /// The hub of a directory that runs alone.
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            punches: punch::budget(),
            cluster: None,
        }
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct HubInner {
    next: u64,
    connections: HashMap<String, Vec<Connection>>,
}

/// One signaling connection.
#[derive(Debug)]
struct Connection {
    id: u64,
    tx: mpsc::Sender<Push>,
    /// The `IP:PORT` it comes from, when the directory sees the port.
    observed: Option<SocketAddr>,
    /// The last measured round trip (ping to pong).
    rtt: Option<Duration>,
    /// A short command's connection (see [`Hub::join`]).
    brief: bool,
}

impl Hub {
    /// The hub of one replica of `cluster`.
    pub fn clustered(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster: Some(cluster),
            ..Self::default()
        }
    }

    /// The cluster this hub's replica belongs to, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection of `username` coming from `observed` (when the directory sees
    /// its port); returns its id, its queue, and whether it is the user's only running client
    /// now on any replica (the user just came online).
    ///
    /// A `brief` connection belongs to a short command (`send`) that only needs to ask for hole
    /// punches from its port: it is no running client (no presence, no pushes) and never the
    /// target of a punch or a relay offer.
    pub async fn join(
        &self,
        username: &str,
        observed: Option<SocketAddr>,
        brief: bool,
    ) -> (u64, mpsc::Receiver<Push>, bool) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (id, first_here) = {
            let mut inner = self.lock();
            let id = inner.next;
            inner.next += 1;
            let list = inner.connections.entry(username.to_owned()).or_default();
            list.push(Connection {
                id,
                tx,
                observed,
                rtt: None,
                brief,
            });
            (id, !brief && list.iter().filter(|c| !c.brief).count() == 1)
        };
        let first = match &self.cluster {
            Some(cluster) => cluster
                .opened(username, id, observed, brief)
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(%err, "cannot record a signaling connection for other replicas");
                    first_here
                }),
            None => first_here,
        };
        (id, rx, first)
    }

    /// Records the round trip just measured on connection `id` of `username`.
    pub async fn measured(&self, username: &str, id: u64, rtt: Duration) {
        {
            let mut inner = self.lock();
            let found = inner
                .connections
                .get_mut(username)
                .and_then(|list| list.iter_mut().find(|c| c.id == id));
            if let Some(connection) = found {
                connection.rtt = Some(rtt);
            }
        }
        if let Some(cluster) = &self.cluster
            && let Err(err) = cluster.measured(id, rtt).await
        {
            tracing::warn!(%err, "cannot record a round trip for other replicas");
        }
    }

    /// Forgets connection `id` of `username`; true when it was the user's last running
    /// client (not [brief](Hub::join)) on any replica.
    pub async fn leave(&self, username: &str, id: u64) -> bool {
        let last_here = {
            let mut inner = self.lock();
            let Some(list) = inner.connections.get_mut(username) else {
                return false;
            };
            let Some(at) = list.iter().position(|c| c.id == id) else {
                return false;
            };
            let gone = list.remove(at);
            let last = !gone.brief && list.iter().all(|c| c.brief);
            if list.is_empty() {
                inner.connections.remove(username);
            }
            last
        };
        match &self.cluster {
            Some(cluster) => cluster.closed(username, id).await.unwrap_or_else(|err| {
                tracing::warn!(%err, "cannot forget a signaling connection for other replicas");
                last_here
            }),
            None => last_here,
        }
    }

    /// Closes every signaling connection of `username` on every replica (a logout, a password
    /// change or a deleted account: the token they were opened with may no longer be valid).
    /// Clients that still hold a valid token reconnect.
    pub fn disconnect(&self, username: &str) {
        self.disconnect_here(username);
        self.publish(|| Event::Disconnect {
            username: username.to_owned(),
        });
    }

    fn disconnect_here(&self, username: &str) {
        // Dropping the senders ends each connection's loop.
        self.lock().connections.remove(username);
    }

    /// Whether `username` has a running client connected (a signaling connection that is not
    /// [brief](Hub::join)) to this replica or another.
    pub async fn is_connected(&self, username: &str) -> bool {
        let here = self
            .lock()
            .connections
            .get(username)
            .is_some_and(|list| list.iter().any(|c| !c.brief));
        match &self.cluster {
            Some(cluster) if !here => cluster
                .connections(username)
                .await
                .is_ok_and(|list| list.iter().any(|c| !c.brief)),
            _ => here,
        }
    }

    /// Number of open signaling connections of this replica.
    pub fn connections(&self) -> usize {
        self.lock().connections.values().map(Vec::len).sum()
    }

    /// Queues `signal` for every running client of `username`, on every replica.
    pub fn send_to(&self, username: &str, signal: &ServerSignal) {
        self.send_here(username, Arc::new(signal.clone()));
        self.publish(|| Event::ToUser {
            username: username.to_owned(),
            signal: signal.clone(),
        });
    }

    fn send_here(&self, username: &str, signal: Push) {
        let inner = self.lock();
        let running = inner.connections.get(username).into_iter().flatten();
        for connection in running.filter(|c| !c.brief) {
            let _ = connection.tx.try_send(Arc::clone(&signal));
        }
    }

    /// Queues `signal` for every running client but those of `except`, on every replica.
    pub fn broadcast(&self, signal: &ServerSignal, except: &str) {
        self.broadcast_here(Arc::new(signal.clone()), except);
        self.publish(|| Event::Broadcast {
            except: except.to_owned(),
            signal: signal.clone(),
        });
    }

    fn broadcast_here(&self, signal: Push, except: &str) {
        let inner = self.lock();
        for (name, list) in &inner.connections {
            if name == except {
                continue;
            }
            for connection in list.iter().filter(|c| !c.brief) {
                let _ = connection.tx.try_send(Arc::clone(&signal));
            }
        }
    }

    /// Queues `signal` for connection `id` of this replica; false when it is gone or its
    /// queue is full.
    fn send_to_connection_here(&self, id: u64, signal: Push) -> bool {
        let inner = self.lock();
        let mut all = inner.connections.values().flatten();
        all.find(|c| c.id == id)
            .is_some_and(|c| c.tx.try_send(signal).is_ok())
    }

    /// Tells everyone connected to any replica that `username` came online or went offline.
    pub fn presence(&self, username: &str, online: bool) {
        let signal = ServerSignal::Presence {
            username: username.to_owned(),
            online,
        };
        self.broadcast(&signal, username);
    }

    /// Hands `event` to the other replicas, when there are any.
    fn publish(&self, event: impl FnOnce() -> Event) {
        if let Some(cluster) = &self.cluster {
            cluster.publish(event());
        }
    }

    /// Applies an event another replica published to this replica's connections.
    pub fn apply(&self, event: Event) {
        match event {
            Event::ToUser { username, signal } => self.send_here(&username, Arc::new(signal)),
            Event::ToConnection {
                replica,
                id,
                signal,
            } => {
                if self
                    .cluster
                    .as_ref()
                    .is_some_and(|c| c.replica() == replica)
                {
                    self.send_to_connection_here(id, Arc::new(signal));
                }
            }
            Event::Broadcast { except, signal } => self.broadcast_here(Arc::new(signal), &except),
            Event::Disconnect { username } => self.disconnect_here(&username),
        }
    }

    /// This replica's connections, to record them again.
    pub fn snapshot(&self) -> Vec<Held> {
        let inner = self.lock();
        inner
            .connections
            .iter()
            .flat_map(|(name, list)| {
                list.iter().map(move |c| Held {
                    username: name.clone(),
                    id: c.id,
                    addr: c.observed,
                    brief: c.brief,
                })
            })
            .collect()
    }
}

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
        async move {
            if let Err(err) = store
                .touch(&username, Utc::now(), host.as_deref(), true)
                .await
            {
                tracing::warn!(%err, %username, "cannot record a signaling heartbeat");
            }
        }
    };
    // A brief connection is no running client: no heartbeat, no presence.
    if !brief {
        alive(&state, &username, observed_host.clone()).await;
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
                    if !brief {
                        alive(&state, &username, None).await;
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

    #[tokio::test]
    async fn the_hub_reports_first_and_last_connections_and_routes_pushes() {
        let hub = Hub::default();
        let (a1, mut rx_a1, first) = hub.join("alice", None, false).await;
        assert!(first);
        let (_a2, mut rx_a2, first) = hub.join("alice", None, false).await;
        assert!(!first, "a second window of alice");
        let (b, mut rx_b, _) = hub.join("bob", None, false).await;
        assert_eq!(hub.connections(), 3);
        hub.send_to("alice", &ServerSignal::Mail);
        assert_eq!(*rx_a1.try_recv().unwrap(), ServerSignal::Mail);
        assert_eq!(*rx_a2.try_recv().unwrap(), ServerSignal::Mail);
        assert!(rx_b.try_recv().is_err());
        hub.presence("bob", false);
        assert!(matches!(
            *rx_a1.try_recv().unwrap(),
            ServerSignal::Presence { online: false, .. }
        ));
        assert!(rx_b.try_recv().is_err(), "not told about itself");
        assert!(
            !hub.leave("alice", a1).await,
            "alice still has a connection"
        );
        assert!(hub.is_connected("alice").await);
        assert!(hub.leave("bob", b).await);
        assert!(!hub.is_connected("bob").await);
    }
}
