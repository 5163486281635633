//! TCP hole punching timed by the directory: both peers dial each other from the port of their
//! signaling connection at a moment the directory chose, so that each one's SYN leaves through
//! its own router before the other's arrives there, and each router takes the other's SYN for
//! the answer to its own (a TCP simultaneous open, RFC 9293 §3.5). Routers that keep one public
//! port per local port (endpoint-independent mapping, RFC 4787 §4.1) let it through; routers
//! that pick a new port per destination ("hard" NATs) do not, and the relay carries those
//! sessions.
//!
//! [`dial`] is the requester's side (`POST /punch/{peer}`), [`answer`] the side the directory
//! asked (`ServerSignal::Punch`). The asked side runs the Noise handshake as the initiator, so
//! when its SYN reaches the requester's listener instead (the requester has a public address:
//! "connection reversal"), the listener answers it like any other peer and hands the session
//! to the waiting punch ([`net::reversal`]): on both sides, the requester dialled.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::net::{self, DialError, EventSender, LocalPeer, PeerKey, SessionHandle, port};
use crate::presence::Account;

/// Time between two attempts when an attempt was refused (a router or host answered our SYN
/// with a reset, because the other side's SYN had not gone out yet): 200 ms.
pub const PUNCH_ROUND: Duration = Duration::from_millis(200);

/// How long one punch keeps trying: 5 s. A SYN that a router dropped keeps waiting (the
/// kernel sends it again after 1 s and 3 s), since the other side's SYN may still open the way.
pub const PUNCH_WINDOW: Duration = Duration::from_secs(5);

/// How much later than the directory's moment the requester dials: 30 ms, so that the asked
/// side, told at the same moment, is ready to hand a dial that reaches its listener to its
/// punch ([`net::reversal::await_dial`]) rather than answer it as a stranger's.
pub const REQUESTER_LAG: Duration = Duration::from_millis(30);

/// Longest wait before dialling that a directory may ask for: 2 s (half the round trip to
/// the slower side; more means a directory too slow to time anything).
pub const MAX_PUNCH_DELAY: Duration = Duration::from_secs(2);

/// Punches asked of us answered at once: 4; more meanwhile are ignored (anyone logged in to
/// the directory can ask, and each costs a connection attempt).
pub const MAX_ANSWERS: usize = 4;

/// Dials `remote` from `local` after `delay`, again each [`PUNCH_ROUND`] after an attempt is
/// refused, until one connects or [`PUNCH_WINDOW`] has passed. With `accept_too` (we have no
/// listener on `local`'s port, as in `send`), a listener is opened on the port for the
/// duration and a connection from `remote` is taken as well: whichever opens first.
///
/// # Errors
/// The last attempt's [`io::Error`], or `TimedOut`.
pub async fn simultaneous_open(
    local: SocketAddr,
    remote: SocketAddr,
    delay: Duration,
    accept_too: bool,
) -> io::Result<TcpStream> {
    let start = Instant::now() + delay.min(MAX_PUNCH_DELAY);
    let deadline = start + PUNCH_WINDOW;
    let listener = if accept_too {
        Some(port::listen_shared(local)?)
    } else {
        None
    };
    let dials = async {
        let mut attempt = start;
        let mut last = io::Error::from(io::ErrorKind::TimedOut);
        loop {
            sleep_until(attempt).await;
            match timeout_at(deadline, port::connect_from(local, remote)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => last = e,
                Err(_) => return Err(last),
            }
            attempt = (attempt + PUNCH_ROUND).max(Instant::now());
            if attempt >= deadline {
                return Err(last);
            }
        }
    };
    let accepted = async {
        let Some(listener) = &listener else {
            return std::future::pending().await;
        };
        match accept_from(listener, remote).await {
            Ok(stream) => Ok(stream),
            // Out of descriptors, say: the dials may still open a connection.
            Err(e) => {
                tracing::debug!(error = %e, "cannot accept during a hole punch");
                std::future::pending().await
            }
        }
    };
    let timed_out = || io::Error::from(io::ErrorKind::TimedOut);
    tokio::select! {
        dialled = dials => dialled,
        accepted = timeout_at(deadline, accepted) => accepted.unwrap_or_else(|_| Err(timed_out())),
    }
}

/// The first connection on `listener` from `remote` (the address and port the directory saw
/// the peer's signaling connection come from, which its dial leaves from); others are closed.
async fn accept_from(listener: &TcpListener, remote: SocketAddr) -> io::Result<TcpStream> {
    loop {
        let (stream, from) = listener.accept().await?;
        let canonical = |a: SocketAddr| (a.ip().to_canonical(), a.port());
        if canonical(from) == canonical(remote) {
            return Ok(stream);
        }
    }
}

/// The requester's side: asks the directory to time a punch with `peer`, dials, and answers
/// the handshake the peer starts (see the module's roles), starting the session as our dial
/// (`Direction::Outgoing { request }`). Needs our signaling connection open from
/// `me.local_addr`'s port.
///
/// # Errors
/// [`DialError::Unreachable`] naming the punch when the directory arranges none (no
/// signaling connection on either side, a directory that does not see ports, too many
/// punches) or no connection opens; the handshake's errors, and a peer other than `peer`
/// answering.
pub async fn dial(
    account: &Account,
    peer: &str,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let label = format!("{peer} by hole punching");
    let unreachable = DialError::unreachable_at(&label);
    let local = me
        .local_addr
        .ok_or_else(|| unreachable("no local port to punch from".into()))?;
    // Waiting before asking: the peer may dial our listener as soon as it is asked.
    let mut reversal = net::reversal::await_peer(me, peer);
    let plan = account
        .client
        .punch(peer, &account.token)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let remote: SocketAddr = plan
        .addr
        .parse()
        .map_err(|_| unreachable(format!("the directory gave no address: {:?}", plan.addr)))?;
    let delay = Duration::from_millis(plan.delay_ms) + REQUESTER_LAG;
    let accept_too = me.listen_port.is_none();
    let punched = async {
        let stream = simultaneous_open(local, remote, delay, accept_too)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        net::answer_punched(stream, &label, peer, me, expected, request, events.clone()).await
    };
    // The peer starts the handshake on the first connection it has: ours, or its own dial
    // that reached our listener (connection reversal). Both may open (on a LAN, say), so we
    // answer on whichever it chose.
    tokio::select! {
        opened = punched => opened,
        reversed = reversal.arrived() => {
            net::adopt_punched(reversed, &label, peer, expected, request, events).await
        }
    }
}

/// The asked side: `from` wants a punch; dial `addr` (where the directory sees `from`) after
/// `delay_ms` from our listener's port, and run the dialling side's handshake over the
/// connection; the session is reported on `events` as incoming, judged by the same trust
/// rule as one our listener accepted. At most [`MAX_ANSWERS`] at once; failures are logged.
pub async fn answer(from: String, addr: String, delay_ms: u64, me: LocalPeer, events: EventSender) {
    static ANSWERING: Semaphore = Semaphore::const_new(MAX_ANSWERS);
    let Ok(_answering) = ANSWERING.try_acquire() else {
        tracing::info!(%from, "ignoring a hole punch: too many being answered already");
        return;
    };
    let (Some(local), Ok(remote)) = (me.local_addr, addr.parse::<SocketAddr>()) else {
        tracing::debug!(%from, %addr, "cannot punch: no local port, or no address");
        return;
    };
    let delay = Duration::from_millis(delay_ms);
    // The requester's dial may reach our listener rather than cross ours.
    let mut reversal = net::reversal::await_dial(&me, remote);
    let opened = tokio::select! {
        opened = simultaneous_open(local, remote, delay, me.listen_port.is_none()) => opened,
        stream = reversal.arrived() => Ok(stream),
    };
    drop(reversal);
    match opened {
        Ok(stream) => net::initiate_punched(stream, &from, me, events).await,
        Err(e) => tracing::info!(%from, error = %e, "hole punch failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_sides_dialling_each_other_from_their_listening_ports_connect() {
        // On loopback nothing drops a SYN, so this is the plain case of a simultaneous open
        // or of one side's listener taking the other's dial; either way one connection.
        let a = port::listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let b_port = port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b_port.local_addr().unwrap());
        let (from_b, at_a) = tokio::join!(
            simultaneous_open(b_addr, a_addr, Duration::ZERO, true),
            a.accept()
        );
        let (_, seen) = at_a.unwrap();
        assert_eq!(seen, b_addr, "b dialled from its own port");
        assert_eq!(from_b.unwrap().local_addr().unwrap(), b_addr);
    }

    #[tokio::test]
    async fn a_punch_to_nobody_gives_up_after_its_rounds() {
        let ours = port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
        // A port nobody listens on: every round is refused at once.
        let nobody = port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
        tokio::time::pause();
        let outcome = simultaneous_open(
            ours.local_addr().unwrap(),
            nobody.local_addr().unwrap(),
            Duration::ZERO,
            false,
        )
        .await;
        assert_eq!(
            outcome.unwrap_err().kind(),
            io::ErrorKind::ConnectionRefused
        );
    }
}
