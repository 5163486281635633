//! Connections a hole punch waits for that reach our listener instead of crossing our own
//! SYN. The listener hands them to the punch, so that each side plays the role the punch gave
//! it (the asked side starts the handshake, the requester answers), and both agree that the
//! requester dialled:
//!
//! - the asked side dials the requester, whose listener takes the connection (the requester
//!   has a public address: connection reversal). The listener runs the handshake as for
//!   anyone, then hands the session to the requester's punch ([`await_peer`]) instead of
//!   reporting a new incoming session;
//! - the requester's dial reaches the asked side's listener (its router lets it in): the
//!   listener hands the bare connection, before reading a byte, to the asked side's punch
//!   ([`await_dial`]), which starts the handshake on it. The asked side may learn of the
//!   punch after that dial arrived (its signaling push was slower than the requester's
//!   answer): a connection that sends nothing stays claimable for [`LATE_PUNCH`]
//!   (`unless_punched_late`), since a peer that dials for its own reasons speaks first.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::handshake::Accepted;
use super::{LocalPeer, PeerKey};

/// What the listener hands the requester's punch: the answered handshake and the peer's
/// address.
pub type Reversed = (Accepted, SocketAddr);

/// By key, each wait's id and the way to hand it what it waits for.
type Table<K, V> = HashMap<K, (u64, oneshot::Sender<V>)>;

/// Waits of one kind.
struct Waits<K, V>(LazyLock<Mutex<Table<K, V>>>);

impl<K: Eq + Hash + Clone, V> Waits<K, V> {
    const fn new() -> Self {
        Self(LazyLock::new(Mutex::default))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table<K, V>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait(&'static self, key: K) -> Awaited<K, V> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(key.clone(), (id, tx));
        Awaited {
            waits: self,
            key,
            id,
            rx,
        }
    }

    /// Hands `value` to the wait for `key`; gives it back when nobody waits.
    fn deliver(&self, key: &K, value: V) -> Option<V> {
        match self.lock().remove(key) {
            Some((_, tx)) => tx.send(value).err(),
            None => Some(value),
        }
    }
}

/// One wait; forgotten once dropped. A later wait for the same key replaces it.
pub struct Awaited<K: Eq + Hash + 'static, V: 'static> {
    waits: &'static Waits<K, V>,
    key: K,
    id: u64,
    rx: oneshot::Receiver<V>,
}

impl<K: Eq + Hash + Clone, V> Awaited<K, V> {
    /// What the listener handed over; pending for ever until then (race it against the
    /// punch's own attempts).
    pub async fn arrived(&mut self) -> V {
        match (&mut self.rx).await {
            Ok(value) => value,
            Err(_) => std::future::pending().await,
        }
    }
}

impl<K: Eq + Hash + 'static, V: 'static> Drop for Awaited<K, V> {
    fn drop(&mut self) {
        // Only our own entry: a later wait for the same key may have replaced it.
        let mut waits = self.waits.0.lock().unwrap_or_else(|e| e.into_inner());
        if waits.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            waits.remove(&self.key);
        }
    }
}

/// Our identity key (one process may run several peers) and the peer's username.
type PeerKeyName = (PeerKey, String);
/// Our identity key and the address a dial comes from.
type PeerKeyAddr = (PeerKey, SocketAddr);

static PEERS: Waits<PeerKeyName, Reversed> = Waits::new();
static DIALS: Waits<PeerKeyAddr, TcpStream> = Waits::new();

/// Waits, as the requester of a punch, for `peer` (a case-folded username) to reach the
/// listener of `me`.
pub fn await_peer(me: &LocalPeer, peer: &str) -> Awaited<PeerKeyName, Reversed> {
    PEERS.wait((*me.identity.public(), peer.to_owned()))
}

/// Waits, as the asked side of a punch, for a dial from `from` (where the directory sees the
/// requester) to reach the listener of `me`.
pub fn await_dial(me: &LocalPeer, from: SocketAddr) -> Awaited<PeerKeyAddr, TcpStream> {
    DIALS.wait((*me.identity.public(), canonical(from)))
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// Hands `reversed` (a handshake our listener answered for `me`) to a punch waiting for its
/// peer; gives it back when nobody waits.
pub(super) fn deliver(me: &LocalPeer, reversed: Reversed) -> Option<Reversed> {
    let key = (*me.identity.public(), reversed.0.username.clone());
    PEERS.deliver(&key, reversed)
}

/// Hands `stream` (a connection our listener accepted for `me` from `from`) to a punch
/// waiting for a dial from there; gives it back when nobody waits.
pub(super) fn deliver_dial(
    me: &LocalPeer,
    from: SocketAddr,
    stream: TcpStream,
) -> Option<TcpStream> {
    DIALS.deliver(&(*me.identity.public(), canonical(from)), stream)
}

/// How long a connection that has sent nothing may still be claimed by a punch that starts
/// waiting for it late: 1 s (the requester dials 30 ms after the directory's moment; a busy
/// asked side may hear of the punch later than that).
pub const LATE_PUNCH: Duration = Duration::from_secs(1);

/// How often a silent connection is offered again to late punches: every 50 ms.
const LATE_PUNCH_CHECK: Duration = Duration::from_millis(50);

/// For a connection our listener accepted from `from` that no punch waited for: returns it
/// for the listener's own handshake as soon as it sends a byte (a dialling peer speaks first)
/// or closes, or after [`LATE_PUNCH`] of silence; hands it to a punch of `me` that starts
/// waiting for `from` meanwhile, and then returns `None`.
pub(super) async fn unless_punched_late(
    me: &LocalPeer,
    from: SocketAddr,
    mut stream: TcpStream,
) -> Option<TcpStream> {
    let until = Instant::now() + LATE_PUNCH;
    let mut first = [0u8; 1];
    while Instant::now() < until {
        tokio::select! {
            _ = stream.peek(&mut first) => return Some(stream),
            () = tokio::time::sleep(LATE_PUNCH_CHECK) => {}
        }
        // `None`: a punch took it.
        stream = deliver_dial(me, from, stream)?;
    }
    Some(stream)
}
