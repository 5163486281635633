//! The [`Hub`]: who is connected to this process for signaling, with a queue of pushes per
//! connection; in a [`Cluster`] of replicas, also who is connected to the others (see the
//! parent module).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::DefaultKeyedRateLimiter;
use p2p_chat_protocol::api::signal::ServerSignal;
use tokio::sync::mpsc;

use super::cluster::{Cluster, Event, Held};
use super::{Push, punch};

/// Pushes queued for one connection before later ones are dropped: 64.
const QUEUE: usize = 64;

/// Who is connected, by username; each connection has its own queue of pushes.
pub struct Hub {
    pub(super) inner: Mutex<HubInner>,
    pub(super) punches: DefaultKeyedRateLimiter<String>,
    pub(super) cluster: Option<Arc<Cluster>>,
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
pub(super) struct HubInner {
    pub(super) next: u64,
    pub(super) connections: HashMap<String, Vec<Connection>>,
}

/// One signaling connection.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) id: u64,
    pub(super) tx: mpsc::Sender<Push>,
    /// The `IP:PORT` it comes from, when the directory sees the port.
    pub(super) observed: Option<SocketAddr>,
    /// The last measured round trip (ping to pong).
    pub(super) rtt: Option<Duration>,
    /// A short command's connection (see [`Hub::join`]).
    pub(super) brief: bool,
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
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
    pub(super) fn send_to_connection_here(&self, id: u64, signal: Push) -> bool {
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
