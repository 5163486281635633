//! The peer listener: accepts TCP connections and hands each to its own session task.
//!
//! Connections that have not finished the handshake are untrusted and cheap to open, so they
//! get their own budget, separate from established sessions (so they can never starve them):
//! at most [`MAX_HANDSHAKES`] at once, [`MAX_HANDSHAKES_PER_ADDR`] from one IP address, each
//! with [`ACCEPT_HANDSHAKE_TIMEOUT`]. When the budget is full, a new connection evicts the
//! oldest one still in its handshake (the defence against slow-handshake floods: a real peer
//! finishes in one round trip, so a flood would have to open [`MAX_HANDSHAKES`] connections
//! within that round trip to push it out, while stalled connections cannot hold the door).
//! A connection over its address's share is closed without reading a byte. Sessions peers
//! open with us are capped at [`MAX_SESSIONS`] for the whole process, however they arrive
//! (this listener, the relay, a hole punch: [`incoming_permit`]); a peer that completes the
//! handshake beyond that is refused as busy.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::{EventSender, LocalPeer, MAX_SESSIONS, open};

/// Pause after a failed `accept` (for example when out of file descriptors): 100 ms.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Connections in the handshake at once, from everyone: 64 (a quarter of [`MAX_SESSIONS`]:
/// real peers finish in one round trip, so few are ever in it together).
pub const MAX_HANDSHAKES: usize = 64;

/// Connections in the handshake at once from one IP address: 8 (a NAT may hide a few real
/// peers behind one address; more than this at once is a flood).
pub const MAX_HANDSHAKES_PER_ADDR: usize = 8;

/// How long an accepted connection may take to finish the handshake: 5 s (one round trip
/// and a Noise exchange take milliseconds; the dialling side allows itself
/// [`HANDSHAKE_TIMEOUT`](super::HANDSHAKE_TIMEOUT)).
pub const ACCEPT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Handshakes in progress per address; an entry lives while its count is above zero.
#[derive(Clone, Default)]
struct PerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One handshake slot of one address; gives it back when dropped.
struct AddrSlot {
    table: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    fn take(&self, ip: IpAddr) -> Option<AddrSlot> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = table.entry(ip).or_insert(0);
        if *count >= MAX_HANDSHAKES_PER_ADDR {
            return None;
        }
        *count += 1;
        Some(AddrSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut table = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = table.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                table.remove(&self.ip);
            }
        }
    }
}

/// The handshakes in progress, oldest first, each with the means to evict it.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<PendingInner>>);

#[derive(Default)]
struct PendingInner {
    next: u64,
    queue: VecDeque<(u64, oneshot::Sender<()>)>,
}

impl Pending {
    /// A place for one more handshake, evicting the oldest when [`MAX_HANDSHAKES`] are in
    /// progress.
    fn admit(&self, addr: AddrSlot) -> HandshakeSlot {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if inner.queue.len() >= MAX_HANDSHAKES
            && let Some((_, evict)) = inner.queue.pop_front()
        {
            let _ = evict.send(());
        }
        let (tx, rx) = oneshot::channel();
        let id = inner.next;
        inner.next += 1;
        inner.queue.push_back((id, tx));
        HandshakeSlot {
            pending: self.clone(),
            id,
            evict: rx,
            _addr: addr,
        }
    }
}

/// A connection's place among the handshakes in progress; given back when dropped (once the
/// handshake is over, whatever its outcome).
pub(super) struct HandshakeSlot {
    pending: Pending,
    id: u64,
    evict: oneshot::Receiver<()>,
    _addr: AddrSlot,
}

impl HandshakeSlot {
    /// Completes when newer connections pushed this one out of the handshake budget.
    pub(super) async fn evicted(&mut self) {
        // An error means the listener is gone: stop as well.
        let _ = (&mut self.evict).await;
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut inner = self.pending.0.lock().unwrap_or_else(|e| e.into_inner());
        inner.queue.retain(|(id, _)| *id != self.id);
    }
}

/// Places for the sessions peers open with us, in the whole process: [`MAX_SESSIONS`].
static INCOMING: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(MAX_SESSIONS)));

/// A place for one more session a peer opens with us (through our listener, the relay or a
/// hole punch), held for as long as the session runs; `None` when [`MAX_SESSIONS`] run
/// already (the peer is then refused as busy, or the punch not answered).
pub fn incoming_permit() -> Option<OwnedSemaphorePermit> {
    Arc::clone(&INCOMING).try_acquire_owned().ok()
}

/// Accepts peers on `listener` forever, within the budgets above. A misbehaving peer ends
/// only its own connection.
pub async fn serve(listener: TcpListener, me: LocalPeer, events: EventSender) {
    serve_dual(listener, None, me, events).await;
}

/// [`serve`] on `listener` and on `v6`, an IPv6 listener on the same port
/// ([`super::port::listen_v6_beside`]), within one set of budgets.
pub async fn serve_dual(
    listener: TcpListener,
    v6: Option<TcpListener>,
    me: LocalPeer,
    events: EventSender,
) {
    let pending = Pending::default();
    let per_addr = PerAddress::default();
    let accept_v6 = || async {
        match &v6 {
            Some(v6) => v6.accept().await,
            None => std::future::pending().await,
        }
    };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            accepted = accept_v6() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a peer failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        // A dial a hole punch of ours waits for: the punch starts the handshake on it.
        let Some(stream) = super::reversal::deliver_dial(&me, addr, stream) else {
            continue;
        };
        let Some(addr_slot) = per_addr.take(addr.ip()) else {
            // Closed without reading a byte: the flood costs us one accept.
            tracing::debug!(%addr, "too many handshakes from one address; connection dropped");
            continue;
        };
        let slot = pending.admit(addr_slot);
        let session_permit = incoming_permit();
        let (me, events) = (me.clone(), events.clone());
        tokio::spawn(async move {
            // A punch may still claim a silent connection (see `reversal`).
            if let Some(stream) = super::reversal::unless_punched_late(&me, addr, stream).await {
                open::accept(stream, me, events, session_permit, slot).await;
            }
        });
    }
}
