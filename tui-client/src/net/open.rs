//! Opening sessions: dialling a peer ([`dial`]), accepting one our listener took
//! ([`accept`]), running either side's handshake over a stream the directory's relay gave
//! ([`open_outgoing`], [`accept_relayed`]), or over a connection a hole punch opened
//! ([`answer_punched`], [`initiate_punched`]). Each ends in [`super::session::start`].

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::timeout;

use super::handshake::{self, HandshakeError};
use super::session::{SessionHandle, clip, start};
use super::{
    CONNECT_TIMEOUT, DialError, Direction, EventSender, HANDSHAKE_TIMEOUT, LocalPeer, PeerKey,
    PeerStream, RemotePeer, SessionPath,
};

/// Connects to `addr` (`host:port`), runs the handshake and starts the session actor.
///
/// With `expected`, the Noise IK pattern proves that the peer holds that key; without it, XX
/// learns the peer's key (reported in [`RemotePeer::key`] for the caller to check or pin).
/// The [`super::SessionEvent::Opened`] event (with `Direction::Outgoing { request }`) is sent on
/// `events` before any other event of the session, and the same handle is returned.
///
/// # Errors
/// A [`DialError`] naming what failed: resolving, connecting ([`CONNECT_TIMEOUT`]), the
/// handshake ([`HANDSHAKE_TIMEOUT`]) or a refusal by the peer.
pub async fn dial(
    addr: &str,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let stream = connect(addr).await?;
    let remote_addr = stream.peer_addr().map_err(|e| DialError::Unreachable {
        addr: addr.to_owned(),
        detail: e.to_string(),
    })?;
    no_delay(&stream);
    open_outgoing(
        Box::new(stream),
        SessionPath::Direct,
        addr,
        remote_addr,
        me,
        expected,
        request,
        events,
    )
    .await
}

/// Runs the dialling side's handshake over `stream` (a TCP connection to `addr`, or the
/// directory's relay, seen at `remote_addr`, as `path` says) within [`HANDSHAKE_TIMEOUT`],
/// then starts the session as [`dial`] does.
///
/// # Errors
/// The handshake's [`DialError`]s, naming `addr`.
#[allow(clippy::too_many_arguments)]
pub async fn open_outgoing(
    stream: PeerStream,
    path: SessionPath,
    addr: &str,
    remote_addr: SocketAddr,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let outcome = timeout(HANDSHAKE_TIMEOUT, handshake::initiate(stream, me, expected)).await;
    let addr = addr.to_owned();
    let handshake::Initiated {
        framed,
        key,
        username,
        features,
    } = match outcome {
        Err(_) => return Err(DialError::HandshakeTimeout { addr }),
        Ok(Ok(done)) => done,
        Ok(Err(HandshakeError::Refused { reason, message })) => {
            return Err(DialError::Refused {
                addr,
                reason,
                message: clip(message),
            });
        }
        Ok(Err(HandshakeError::Closed | HandshakeError::Noise(_))) if expected.is_some() => {
            let detail = "the peer could not prove it holds the key we expected — its key may have changed, or someone else is answering at this address".to_owned();
            return Err(DialError::Handshake { addr, detail });
        }
        Ok(Err(e @ HandshakeError::Noise(_))) => {
            return Err(DialError::Handshake {
                addr,
                detail: e.to_string(),
            });
        }
        Ok(Err(e)) => {
            return Err(DialError::Protocol {
                addr,
                detail: e.to_string(),
            });
        }
    };
    let peer = RemotePeer {
        username: clip(username),
        addr: remote_addr,
        listen_port: None,
        key,
        path,
    };
    let outgoing = Direction::Outgoing { request };
    Ok(start(framed, peer, outgoing, events, None, features).await)
}

async fn connect(addr: &str) -> Result<TcpStream, DialError> {
    let resolved = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| DialError::Resolve {
            addr: addr.to_owned(),
            detail: e.to_string(),
        })?;
    let mut last = "the name resolved to no address".to_owned();
    for candidate in resolved {
        match timeout(CONNECT_TIMEOUT, TcpStream::connect(candidate)).await {
            Ok(Ok(stream)) => {
                no_delay(&stream);
                return Ok(stream);
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }
    }
    Err(DialError::Unreachable {
        addr: addr.to_owned(),
        detail: last,
    })
}

/// Serves one accepted connection: runs the responder's handshake within
/// [`ACCEPT_HANDSHAKE_TIMEOUT`](super::listener::ACCEPT_HANDSHAKE_TIMEOUT), then the session.
/// Without a session `permit` (the listener is full) the peer is refused as busy.
/// `slot` is the connection's place in the listener's handshake budget, given back as soon as
/// the handshake ends, whatever its outcome; when newer connections evict it, the connection
/// is closed.
///
/// Failed handshakes are logged and end only this connection; they produce no event.
pub(super) async fn accept(
    stream: TcpStream,
    me: LocalPeer,
    events: EventSender,
    permit: Option<OwnedSemaphorePermit>,
    mut slot: super::listener::HandshakeSlot,
) {
    let Ok(remote_addr) = stream.peer_addr() else {
        return;
    };
    no_delay(&stream);
    let busy = permit.is_none();
    let deadline = super::listener::ACCEPT_HANDSHAKE_TIMEOUT;
    let outcome = tokio::select! {
        outcome = timeout(deadline, handshake::respond(Box::new(stream), &me, busy)) => outcome,
        () = slot.evicted() => {
            tracing::info!(%remote_addr, "handshake cut short: newer connections needed the room");
            return;
        }
    };
    drop(slot);
    // A peer we asked to punch may have reached our listener: the punch takes it.
    let outcome = match outcome {
        Ok(Ok(accepted)) => match super::reversal::deliver(&me, (accepted, remote_addr)) {
            None => return,
            Some((accepted, _)) => Ok(Ok(accepted)),
        },
        other => other,
    };
    open_incoming(outcome, SessionPath::Direct, remote_addr, events, permit).await;
}

/// Runs the answering side's handshake over `stream` (the directory's relay, seen at
/// `remote_addr`) within [`ACCEPT_HANDSHAKE_TIMEOUT`](super::listener::ACCEPT_HANDSHAKE_TIMEOUT),
/// then the session, as for a peer that connected to our listener: within the same budget
/// of sessions ([`super::listener::incoming_permit`]), refused as busy beyond it.
pub async fn accept_relayed(
    stream: PeerStream,
    remote_addr: SocketAddr,
    max_bytes: Option<u64>,
    me: LocalPeer,
    events: EventSender,
) {
    let permit = super::listener::incoming_permit();
    let busy = permit.is_none();
    let deadline = super::listener::ACCEPT_HANDSHAKE_TIMEOUT;
    let outcome = timeout(deadline, handshake::respond(stream, &me, busy)).await;
    let path = SessionPath::Relayed { max_bytes };
    open_incoming(outcome, path, remote_addr, events, permit).await;
}

/// The requester's side of a hole punch over `stream` (a TCP connection to `peer`, who was
/// asked to punch): the peer runs the dialling side's handshake (the roles of
/// `p2p_chat_protocol::api::signal::PunchPlan`), we answer it within
/// [`ACCEPT_HANDSHAKE_TIMEOUT`](super::listener::ACCEPT_HANDSHAKE_TIMEOUT), check that it is
/// `peer` holding `expected` (when known), and start the session as our dial
/// (`Direction::Outgoing { request }`, path [`SessionPath::Punched`]).
///
/// # Errors
/// [`DialError::HandshakeTimeout`], [`DialError::Handshake`] (a failed handshake, or someone
/// other than `peer` answered), naming `addr`.
#[allow(clippy::too_many_arguments)]
pub async fn answer_punched(
    stream: TcpStream,
    addr: &str,
    peer: &str,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let addr = addr.to_owned();
    let remote_addr = stream.peer_addr().map_err(|e| DialError::Unreachable {
        addr: addr.clone(),
        detail: e.to_string(),
    })?;
    no_delay(&stream);
    let deadline = super::listener::ACCEPT_HANDSHAKE_TIMEOUT;
    let accepted = match timeout(deadline, handshake::respond(Box::new(stream), me, false)).await {
        Err(_) => return Err(DialError::HandshakeTimeout { addr }),
        Ok(Err(e)) => {
            return Err(DialError::Handshake {
                addr,
                detail: e.to_string(),
            });
        }
        Ok(Ok(accepted)) => accepted,
    };
    adopt_punched(
        (accepted, remote_addr),
        &addr,
        peer,
        expected,
        request,
        events,
    )
    .await
}

/// Starts the session of a handshake answered for a hole punch — over the punched connection
/// ([`answer_punched`]), or by our listener when the peer's dial reached it
/// ([`super::reversal`]) — as our dial, once the peer proved to be `peer` holding `expected`.
///
/// # Errors
/// [`DialError::Handshake`] when someone other than `peer` answered.
pub async fn adopt_punched(
    (accepted, remote_addr): super::reversal::Reversed,
    addr: &str,
    peer: &str,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let addr = addr.to_owned();
    if accepted.username != peer || expected.is_some_and(|key| *key != accepted.key) {
        let detail =
            format!("the peer that answered the hole punch is not {peer} with the key we expected");
        return Err(DialError::Handshake { addr, detail });
    }
    let remote = RemotePeer {
        username: accepted.username,
        addr: remote_addr,
        listen_port: accepted.listen_port,
        key: accepted.key,
        path: SessionPath::Punched,
    };
    let direction = Direction::Outgoing { request };
    Ok(start(
        accepted.framed,
        remote,
        direction,
        events,
        None,
        accepted.features,
    )
    .await)
}

/// The asked side of a hole punch over `stream`: we run the dialling side's handshake (XX: we
/// learn the requester's key) within [`HANDSHAKE_TIMEOUT`], and the session is reported as
/// incoming, judged by the same trust rule as one our listener accepted, within the same
/// budget of sessions ([`super::listener::incoming_permit`]: beyond it the connection is
/// closed). A peer that is not `from` (the user who asked for the punch) is dropped. Failures
/// are logged.
pub async fn initiate_punched(stream: TcpStream, from: &str, me: LocalPeer, events: EventSender) {
    let Ok(remote_addr) = stream.peer_addr() else {
        return;
    };
    let Some(permit) = super::listener::incoming_permit() else {
        tracing::info!(%remote_addr, %from, "too many sessions: hole punch not answered");
        return;
    };
    no_delay(&stream);
    let outcome = timeout(
        HANDSHAKE_TIMEOUT,
        handshake::initiate(Box::new(stream), &me, None),
    )
    .await;
    let handshake::Initiated {
        framed,
        key,
        username,
        features,
    } = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(error)) => {
            tracing::info!(%remote_addr, %error, "handshake over a hole punch failed");
            return;
        }
        Err(_) => {
            tracing::info!(%remote_addr, "peer did not finish the handshake over a hole punch");
            return;
        }
    };
    if username != from {
        tracing::info!(%remote_addr, %from, "someone else answered a hole punch");
        return;
    }
    let peer = RemotePeer {
        username,
        addr: remote_addr,
        listen_port: None,
        key,
        path: SessionPath::Punched,
    };
    start(
        framed,
        peer,
        Direction::Incoming,
        events,
        Some(permit),
        features,
    )
    .await;
}

/// Starts the session of an answered handshake (`outcome`), or logs why there is none.
async fn open_incoming(
    outcome: Result<Result<handshake::Accepted, HandshakeError>, tokio::time::error::Elapsed>,
    path: SessionPath,
    remote_addr: SocketAddr,
    events: EventSender,
    permit: Option<OwnedSemaphorePermit>,
) {
    let accepted = match outcome {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(error)) => {
            tracing::info!(%remote_addr, %error, "handshake with a peer failed");
            return;
        }
        Err(_) => {
            tracing::info!(%remote_addr, "peer did not finish the handshake in time");
            return;
        }
    };
    let handshake::Accepted {
        framed,
        key,
        username,
        listen_port,
        features,
    } = accepted;
    let peer = RemotePeer {
        username,
        addr: remote_addr,
        listen_port,
        key,
        path,
    };
    start(framed, peer, Direction::Incoming, events, permit, features).await;
}

/// Turns off Nagle's algorithm: a chat message or receipt is one small frame that must not
/// wait for the previous one's ACK (RFC 896; tokio leaves it on). Best effort.
fn no_delay(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}
