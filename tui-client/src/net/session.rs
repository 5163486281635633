//! The session actor: the one task that owns a peer's connection (TCP, or the directory's
//! relay).
//!
//! Once a handshake is done (see [`super::open`]), [`start`] announces the session and [`run`]
//! loops over incoming frames, commands from the [`SessionHandle`], a keepalive timer and an
//! idle deadline, until the session ends. Every end is reported once as
//! [`SessionEvent::Closed`].

use futures::{SinkExt, StreamExt};
use p2p_chat_protocol::noise::Features;
use p2p_chat_protocol::peer::{MAX_REASON_BYTES, MAX_TEXT_BYTES};
use p2p_chat_protocol::{FrameError, PeerMessage};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, sleep_until, timeout};

use super::files::{Chunk, FileCommand, Routes};
use super::handle::{
    BULK_CHANNEL_CAPACITY, COMMAND_CHANNEL_CAPACITY, CONTROL_CHANNEL_CAPACITY, Command, Control,
    FILE_CHANNEL_CAPACITY, MAX_UNACKED_INBOUND,
};
pub use super::handle::{SessionGone, SessionHandle};
use super::handshake::SecureFramed;
use super::{
    CloseReason, Direction, EventSender, IDLE_TIMEOUT, NetEvent, PING_INTERVAL, RemotePeer,
    SessionEvent, SessionId,
};

type PeerFramed = SecureFramed;

/// Announces the session and spawns its loop; the `Opened` event is queued before the loop can
/// emit anything else.
pub(super) async fn start(
    framed: PeerFramed,
    peer: RemotePeer,
    direction: Direction,
    events: EventSender,
    permit: Option<OwnedSemaphorePermit>,
    features: Features,
) -> SessionHandle {
    let (tx, rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (control_tx, control_rx) = mpsc::channel(CONTROL_CHANNEL_CAPACITY);
    let (files_tx, files_rx) = mpsc::channel(FILE_CHANNEL_CAPACITY);
    let (bulk_tx, bulk_rx) = mpsc::channel(BULK_CHANNEL_CAPACITY);
    let handle = SessionHandle {
        id: SessionId::next(),
        commands: tx,
        control: control_tx,
        files: files_tx,
        bulk: bulk_tx,
        features,
        peer_key: peer.key,
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
            let queues = Queues {
                commands: rx,
                control: control_rx,
                files: files_rx,
                bulk: bulk_rx,
            };
            let reason = run(framed, queues, session, &events, features).await;
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

/// The queues that lead into the actor (see [`SessionHandle`]).
struct Queues {
    commands: mpsc::Receiver<Command>,
    control: mpsc::Receiver<Control>,
    files: mpsc::Receiver<FileCommand>,
    bulk: mpsc::Receiver<(p2p_chat_protocol::MessageId, Chunk)>,
}

/// Chunks written to the socket in one go before the loop looks at everything else again:
/// 4 (252 KiB), one flush for all of them.
const CHUNKS_PER_FLUSH: usize = 4;

/// The session loop; returns why it ended.
///
/// Receipts (the control queue) go first, then transfer frames, then frames from the peer,
/// then our chat messages, and file chunks last. While [`MAX_UNACKED_INBOUND`] received
/// messages wait for their receipt the socket is not read, so a flood waits in TCP; the idle
/// deadline counts from the last frame or receipt.
async fn run(
    mut framed: PeerFramed,
    queues: Queues,
    session: SessionId,
    events: &EventSender,
    features: Features,
) -> CloseReason {
    let Queues {
        mut commands,
        mut control,
        mut files,
        mut bulk,
    } = queues;
    let mut routes = Routes::default();
    let mut ping = tokio::time::interval(PING_INTERVAL);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    // When our latest ping left, until its pong comes back.
    let mut ping_sent: Option<Instant> = None;
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
                    Control::Release => {
                        unacked = unacked.saturating_sub(1);
                        last_heard = Instant::now();
                        continue;
                    }
                    Control::Read { id } => PeerMessage::Read { id },
                    Control::Typing => PeerMessage::Typing {},
                };
                // What the peer cannot decode would end its session: never sent.
                if !features.understands(&frame) {
                    continue;
                }
                if let Err(reason) = send_frame(&mut framed, frame).await {
                    return reason;
                }
            }
            Some(command) = files.recv() => {
                let Some(frame) = routes.command(command) else { continue };
                if !features.understands(&frame) {
                    continue;
                }
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
                    PeerMessage::Chat { id, sent_at_ms, text } => match message(id, sent_at_ms, text, None) {
                        Ok(event) => {
                            // The receipt goes out when the owner acknowledges (after storing it).
                            unacked += 1;
                            event
                        }
                        Err(detail) => return protocol_error(&mut framed, detail).await,
                    },
                    PeerMessage::Reply { id, sent_at_ms, text, reply_to } => match message(id, sent_at_ms, text, Some(reply_to)) {
                        Ok(event) => {
                            unacked += 1;
                            event
                        }
                        Err(detail) => return protocol_error(&mut framed, detail).await,
                    },
                    PeerMessage::Receipt { id } => SessionEvent::Delivered { id },
                    PeerMessage::Read { id } => SessionEvent::Read { id },
                    PeerMessage::Typing {} => SessionEvent::Typing,
                    PeerMessage::Ping { nonce } => {
                        if let Err(reason) = send_frame(&mut framed, PeerMessage::Pong { nonce }).await {
                            return reason;
                        }
                        continue;
                    }
                    PeerMessage::Pong { nonce: answered } => match ping_sent.take() {
                        Some(sent) if answered == nonce => {
                            let rtt_ms = u32::try_from(sent.elapsed().as_millis()).unwrap_or(u32::MAX);
                            SessionEvent::RoundTrip { rtt_ms }
                        }
                        earlier => {
                            ping_sent = earlier;
                            continue;
                        }
                    },
                    PeerMessage::Goodbye { reason } => return CloseReason::PeerLeft { reason: clip(reason) },
                    file @ (PeerMessage::FileOffer { .. }
                    | PeerMessage::FileAccept { .. }
                    | PeerMessage::FileCredit { .. }
                    | PeerMessage::FileChunk { .. }
                    | PeerMessage::FileDone { .. }
                    | PeerMessage::FileCancel { .. }) => match routes.inbound(file) {
                        Some(event) => SessionEvent::File(event),
                        None => continue,
                    },
                    group @ (PeerMessage::GroupChange { .. } | PeerMessage::GroupInvite { .. } | PeerMessage::GroupPost { .. }) => {
                        // Acknowledged (or held) by the owner, like a chat message.
                        unacked += 1;
                        SessionEvent::Group(group)
                    }
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
                    // A peer that does not decode replies gets the same text (quote first) as a chat.
                    Some(Command::Chat { id, sent_at_ms, text, reply_to: Some(reply_to) })
                        if features.understands(&PeerMessage::Reply { id, sent_at_ms, text: String::new(), reply_to }) =>
                    {
                        PeerMessage::Reply { id, sent_at_ms, text, reply_to }
                    }
                    Some(Command::Chat { id, sent_at_ms, text, .. }) => PeerMessage::Chat { id, sent_at_ms, text },
                    Some(Command::Group(frame)) if features.understands(&frame) => frame,
                    Some(Command::Group(_)) => continue,
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
                ping_sent = Some(Instant::now());
            }
            () = sleep_until(last_heard + IDLE_TIMEOUT) => return CloseReason::TimedOut,
            Some((id, chunk)) = bulk.recv() => {
                if let Err(reason) = send_chunks(&mut framed, &routes, (id, chunk), &mut bulk).await {
                    return reason;
                }
            }
        }
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
    within_idle_timeout(framed.send(msg)).await
}

/// Runs a write, giving up after [`IDLE_TIMEOUT`]; its failure as the session's end.
async fn within_idle_timeout(
    write: impl std::future::Future<Output = Result<(), FrameError>>,
) -> Result<(), CloseReason> {
    match timeout(IDLE_TIMEOUT, write).await {
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

/// Writes `first` and up to [`CHUNKS_PER_FLUSH`] − 1 more chunks already queued, then
/// flushes once; chunks of transfers no longer routed are dropped. Gives up after
/// [`IDLE_TIMEOUT`] if the peer does not read.
async fn send_chunks(
    framed: &mut PeerFramed,
    routes: &Routes,
    first: (p2p_chat_protocol::MessageId, Chunk),
    bulk: &mut mpsc::Receiver<(p2p_chat_protocol::MessageId, Chunk)>,
) -> Result<(), CloseReason> {
    let write = async {
        let mut next = Some(first);
        let mut written = 0;
        while let Some((id, Chunk { offset, data })) = next.take() {
            if routes.sends(&id) {
                framed
                    .feed(PeerMessage::FileChunk { id, offset, data })
                    .await?;
            }
            written += 1;
            if written < CHUNKS_PER_FLUSH {
                next = bulk.try_recv().ok();
            }
        }
        SinkExt::<PeerMessage>::flush(framed).await
    };
    within_idle_timeout(write).await
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

/// A received chat message or reply as the event its owner stores and acknowledges.
///
/// # Errors
/// Its text is over `MAX_TEXT_BYTES` (a protocol error: the message says so).
fn message(
    id: p2p_chat_protocol::MessageId,
    sent_at_ms: u64,
    text: String,
    reply_to: Option<p2p_chat_protocol::MessageId>,
) -> Result<SessionEvent, String> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "message of {} bytes exceeds {MAX_TEXT_BYTES}",
            text.len()
        ));
    }
    Ok(SessionEvent::Message {
        id,
        sent_at_ms,
        text,
        reply_to,
    })
}
