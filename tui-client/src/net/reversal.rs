//! Connections we asked a peer to open to us. The side asked for a hole punch dials us; when
//! its SYN reaches our listener rather than crossing our own (we have a public address:
//! connection reversal), the listener runs the handshake as for anyone, and then hands the
//! session to the punch waiting for it ([`Awaited`]) instead of reporting a new incoming
//! session. So both sides agree on who dialled: the one that asked for the punch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex};

use tokio::sync::oneshot;

use super::handshake::Accepted;
use super::{LocalPeer, PeerKey};

/// What the listener hands over: the answered handshake and the peer's address.
pub type Reversed = (Accepted, SocketAddr);

/// Our identity key (one process may run several peers) and the peer's username.
type Key = (PeerKey, String);

/// Each wait's id and the way to hand it its connection.
type Waiting = HashMap<Key, (u64, oneshot::Sender<Reversed>)>;

static AWAITED: LazyLock<Mutex<Waiting>> = LazyLock::new(Mutex::default);

/// A connection `me` waits for from `peer`; no longer waited for once dropped.
pub struct Awaited {
    key: Key,
    id: u64,
    rx: oneshot::Receiver<Reversed>,
}

/// Waits for a connection from `peer` (a case-folded username) to the listener of `me`. A
/// later wait for the same pair replaces this one.
pub fn await_peer(me: &LocalPeer, peer: &str) -> Awaited {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = (*me.identity.public(), peer.to_owned());
    let (tx, rx) = oneshot::channel();
    let mut awaited = AWAITED.lock().unwrap_or_else(|e| e.into_inner());
    awaited.insert(key.clone(), (id, tx));
    Awaited { key, id, rx }
}

impl Awaited {
    /// The connection, once the listener took it; pending for ever otherwise (race it against
    /// the other attempts).
    pub async fn arrived(&mut self) -> Reversed {
        match (&mut self.rx).await {
            Ok(reversed) => reversed,
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        let mut awaited = AWAITED.lock().unwrap_or_else(|e| e.into_inner());
        if awaited.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            awaited.remove(&self.key);
        }
    }
}

/// Hands `reversed` (a handshake our listener answered for `me`) to a punch waiting for its
/// peer; gives it back when nobody waits.
pub(super) fn deliver(me: &LocalPeer, reversed: Reversed) -> Option<Reversed> {
    let key = (*me.identity.public(), reversed.0.username.clone());
    let waiting = AWAITED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key);
    match waiting {
        Some((_, tx)) => tx.send(reversed).err(),
        None => Some(reversed),
    }
}
