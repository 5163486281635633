//! The session actor: the one task that owns a peer's TCP connection.
//!
//! [`dial`] and [`accept`] run the handshake; afterwards [`run`] loops over incoming frames,
//! commands from the [`SessionHandle`], a keepalive timer and an idle deadline, until the
//! session ends. Every end is reported once as [`SessionEvent::Closed`].

use futures::{SinkExt, StreamExt};
use p2p_chat_protocol::peer::{MAX_REASON_BYTES, MAX_TEXT_BYTES};
use p2p_chat_protocol::{FrameError, PeerMessage};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, sleep_until, timeout};

use super::handle::{
    COMMAND_CHANNEL_CAPACITY, CONTROL_CHANNEL_CAPACITY, Command, Control, MAX_UNACKED_INBOUND,
};
pub use super::handle::{SessionGone, SessionHandle};
use super::handshake::{self, HandshakeError, SecureFramed};
use super::{
    CONNECT_TIMEOUT, CloseReason, DialError, Direction, EventSender, HANDSHAKE_TIMEOUT,
    IDLE_TIMEOUT, LocalPeer, NetEvent, PING_INTERVAL, PeerKey, RemotePeer, SessionEvent, SessionId,
};
use super::{PeerStream, SessionPath};
use std::net::SocketAddr;

type PeerFramed = SecureFramed;

/// Connects to `addr` (`host:port`), runs the handshake and starts the session actor.
///
/// With `expected`, the Noise IK pattern proves that the peer holds that key; without it, XX
/// learns the peer's key (reported in [`RemotePeer::key`] for the caller to check or pin).
/// The [`SessionEvent::Opened`] event (with `Direction::Outgoing { request }`) is sent on
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
    let (framed, key, username) = match outcome {
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
    Ok(start(framed, peer, Direction::Outgoing { request }, events, None).await)
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
    open_incoming(outcome, SessionPath::Direct, remote_addr, events, permit).await;
}

/// Runs the answering side's handshake over `stream` (the directory's relay, seen at
/// `remote_addr`) within [`ACCEPT_HANDSHAKE_TIMEOUT`](super::listener::ACCEPT_HANDSHAKE_TIMEOUT),
/// then the session, as for a peer that connected to our listener.
pub async fn accept_relayed(
    stream: PeerStream,
    remote_addr: SocketAddr,
    me: LocalPeer,
    events: EventSender,
) {
    let deadline = super::listener::ACCEPT_HANDSHAKE_TIMEOUT;
    let outcome = timeout(deadline, handshake::respond(stream, &me, false)).await;
    open_incoming(outcome, SessionPath::Relayed, remote_addr, events, None).await;
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
    } = accepted;
    let peer = RemotePeer {
        username,
        addr: remote_addr,
        listen_port,
        key,
        path,
    };
    start(framed, peer, Direction::Incoming, events, permit).await;
}

/// Announces the session and spawns its loop; the `Opened` event is queued before the loop can
/// emit anything else.
async fn start(
    framed: PeerFramed,
    peer: RemotePeer,
    direction: Direction,
    events: EventSender,
    permit: Option<OwnedSemaphorePermit>,
) -> SessionHandle {
    let (tx, rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (control_tx, control_rx) = mpsc::channel(CONTROL_CHANNEL_CAPACITY);
    let handle = SessionHandle {
        id: SessionId::next(),
        commands: tx,
        control: control_tx,
    };
    let opened = SessionEvent::Opened {
        handle: handle.clone(),
        peer,
        direction,
    };
    let session = handle.id;
    if events
        .send(NetEvent {
            session,
            event: opened,
        })
        .await
        .is_ok()
    {
        tokio::spawn(async move {
            let reason = run(framed, (rx, control_rx), session, &events).await;
            let _ = events
                .send(NetEvent {
                    session,
                    event: SessionEvent::Closed { reason },
                })
                .await;
            drop(permit);
        });
    }
    handle
}

/// The session loop; returns why it ended.
///
/// Receipts (the control queue) go first, then frames from the peer, then our chat messages.
/// While [`MAX_UNACKED_INBOUND`] received messages wait for their receipt the socket is not
/// read, so a flood waits in TCP; the idle deadline counts from the last frame or receipt.
async fn run(
    mut framed: PeerFramed,
    (mut commands, mut control): (mpsc::Receiver<Command>, mpsc::Receiver<Control>),
    session: SessionId,
    events: &EventSender,
) -> CloseReason {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    let mut unacked = 0usize;
    loop {
        tokio::select! {
            biased;
            Some(control) = control.recv() => {
                let frame = match control {
                    Control::Receipt { id } => {
                        unacked = unacked.saturating_sub(1);
                        // Our own backlog, not the peer's silence, held the socket unread.
                        last_heard = Instant::now();
                        PeerMessage::Receipt { id }
                    }
                    Control::Read { id } => PeerMessage::Read { id },
                };
                if let Err(reason) = send_frame(&mut framed, frame).await {
                    return reason;
                }
            }
            frame = framed.next(), if unacked < MAX_UNACKED_INBOUND => {
                last_heard = Instant::now();
                let msg = match frame {
                    None => {
                        let detail = "the peer closed the connection".to_owned();
                        return CloseReason::ConnectionLost { detail };
                    }
                    Some(Err(FrameError::Io(e))) => {
                        return CloseReason::ConnectionLost { detail: e.to_string() };
                    }
                    Some(Err(e)) => return protocol_error(&mut framed, e.to_string()).await,
                    Some(Ok(msg)) => msg,
                };
                let event = match msg {
                    PeerMessage::Chat { id, sent_at_ms, text } => {
                        if text.len() > MAX_TEXT_BYTES {
                            let detail = format!("message of {} bytes exceeds {MAX_TEXT_BYTES}", text.len());
                            return protocol_error(&mut framed, detail).await;
                        }
                        // The receipt goes out when the owner acknowledges (after storing it).
                        unacked += 1;
                        SessionEvent::Message { id, sent_at_ms, text }
                    }
                    PeerMessage::Receipt { id } => SessionEvent::Delivered { id },
                    PeerMessage::Read { id } => SessionEvent::Read { id },
                    PeerMessage::Ping { nonce } => {
                        if let Err(reason) = send_frame(&mut framed, PeerMessage::Pong { nonce }).await {
                            return reason;
                        }
                        continue;
                    }
                    PeerMessage::Pong { .. } => continue,
                    PeerMessage::Goodbye { reason } => return CloseReason::PeerLeft { reason: clip(reason) },
                    other @ (PeerMessage::Hello { .. } | PeerMessage::Welcome { .. } | PeerMessage::Refuse { .. }) => {
                        let detail = format!("unexpected {} after the handshake", other.kind());
                        return protocol_error(&mut framed, detail).await;
                    }
                };
                // The owner drains events without ever waiting on this session, so this wait
                // ends; while it lasts, the socket is not read (backpressure through TCP).
                if events.send(NetEvent { session, event }).await.is_err() {
                    return CloseReason::Local;
                }
            }
            command = commands.recv() => {
                let frame = match command {
                    Some(Command::Chat { id, sent_at_ms, text }) => PeerMessage::Chat { id, sent_at_ms, text },
                    Some(Command::Close) | None => {
                        let _ = send_frame(&mut framed, PeerMessage::Goodbye { reason: String::new() }).await;
                        return CloseReason::Local;
                    }
                };
                if let Err(reason) = send_frame(&mut framed, frame).await {
                    return reason;
                }
            }
            _ = ping.tick() => {
                nonce = nonce.wrapping_add(1);
                if let Err(reason) = send_frame(&mut framed, PeerMessage::Ping { nonce }).await {
                    return reason;
                }
            }
            () = sleep_until(last_heard + IDLE_TIMEOUT) => return CloseReason::TimedOut,
        }
    }
}

/// Turns off Nagle's algorithm: a chat message or receipt is one small frame that must not
/// wait for the previous one's ACK (RFC 896; tokio leaves it on). Best effort.
fn no_delay(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}

/// Tells the peer what it did wrong (best effort) and ends the session.
async fn protocol_error(framed: &mut PeerFramed, detail: String) -> CloseReason {
    let _ = send_frame(
        framed,
        PeerMessage::Goodbye {
            reason: clip(detail.clone()),
        },
    )
    .await;
    CloseReason::ProtocolError { detail }
}

/// Writes one frame, giving up after [`IDLE_TIMEOUT`] if the peer does not read.
async fn send_frame(framed: &mut PeerFramed, msg: PeerMessage) -> Result<(), CloseReason> {
    match timeout(IDLE_TIMEOUT, framed.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(FrameError::Io(e))) => Err(CloseReason::ConnectionLost {
            detail: e.to_string(),
        }),
        Ok(Err(e)) => Err(CloseReason::ProtocolError {
            detail: e.to_string(),
        }),
        Err(_) => Err(CloseReason::TimedOut),
    }
}

/// Makes a peer-supplied reason safe to show: at most [`MAX_REASON_BYTES`] (cut on a
/// character boundary), control characters (terminal escape sequences) replaced by spaces.
pub(super) fn clip(text: String) -> String {
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
