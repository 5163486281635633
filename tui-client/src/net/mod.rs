//! Peer networking: session actors and the listener.
//!
//! Each TCP connection to a peer is owned by exactly one session task (see [`session`]), which
//! holds the `Framed<TcpStream, PeerCodec>` and is the only code that reads or writes it. Others
//! talk to it through a cloneable [`SessionHandle`], and it reports what happens as
//! [`NetEvent`]s on one channel. The [`listener`] accepts peers and spawns sessions for them.

pub mod files;
mod handle;
pub mod handshake;
pub mod listener;
mod open;
pub mod port;
pub mod reversal;
pub mod session;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use p2p_chat_protocol::{MessageId, RefuseReason};
use tokio::sync::mpsc;

pub use handle::MAX_UNACKED_INBOUND;
pub use listener::serve;
pub use open::{
    accept_relayed, adopt_punched, answer_punched, dial, initiate_punched, open_outgoing,
};
pub use session::SessionHandle;

/// A byte stream a session runs over: a TCP connection to the peer, or the directory's relay
/// (an upgraded HTTP connection). The session's frames are Noise-encrypted end to end either
/// way.
pub trait PeerIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static> PeerIo for T {}

/// A boxed [`PeerIo`].
pub type PeerStream = Box<dyn PeerIo>;

/// How long a TCP connect to a peer may take: 5 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the `Hello` → `Welcome`/`Refuse` exchange may take after connect: 10 s.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between keepalive pings on a session: 15 s; the first goes out as soon as the
/// session opens, so its round trip is known at once.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);
/// A session with no frame at all from the peer for this long is dead: 45 s (three pings).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// Most sessions one client serves at once; further peers are refused as busy.
pub const MAX_SESSIONS: usize = 256;
/// Capacity of the event channel from sessions to their owner, in events.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Most session events taken in one batch: 256, one session's receive window
/// ([`MAX_UNACKED_INBOUND`]), so a burst is stored in one transaction.
pub const EVENT_BATCH: usize = 256;

/// `first` and the events already waiting on `rx`, at most [`EVENT_BATCH`]. A batch ends at a
/// session's `Opened`, so its owner admits (binds) the session before handling its first
/// messages, which come in a later batch; within a batch a session's data precedes its
/// `Closed`. Never waits.
pub fn batch(first: NetEvent, rx: &mut mpsc::Receiver<NetEvent>) -> Vec<NetEvent> {
    let mut batch = vec![first];
    while batch.len() < EVENT_BATCH
        && !batch
            .last()
            .is_some_and(|e| matches!(e.event, SessionEvent::Opened { .. }))
        && let Ok(event) = rx.try_recv()
    {
        batch.push(event);
    }
    batch
}

/// Process-unique number of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl SessionId {
    /// A fresh id, never reused within this process.
    pub fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A peer's static public key, proven in the Noise handshake (32 bytes, X25519).
pub type PeerKey = crate::identity::PublicKey;

/// Who we are to peers: our identity key and what we say in `Hello` or `Welcome`.
#[derive(Clone, Debug)]
pub struct LocalPeer {
    /// Our username (or the name given with `--name`).
    pub username: String,
    /// The port our listener accepts peers on, if we listen.
    pub listen_port: Option<u16>,
    /// The address our listener is bound to ([`port::listen`]), if we listen: the signaling
    /// connection and hole punches leave from its port ([`port::connect_from`]).
    pub local_addr: Option<SocketAddr>,
    /// Our long-term key pair, the Noise static key.
    pub identity: crate::identity::Identity,
}

/// Which side opened the TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We dialled the peer; `request` is the number the caller passed to [`dial`], so it can
    /// match the session to what asked for it.
    Outgoing {
        /// Caller-chosen tag of the dial.
        request: u64,
    },
    /// The peer dialled our listener.
    Incoming,
}

/// The peer at the other end of an open session, as it introduced itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePeer {
    /// Name from the peer's `Hello`/`Welcome`.
    pub username: String,
    /// Socket address of the TCP connection.
    pub addr: SocketAddr,
    /// Port the peer says it listens on (from `Hello`); `None` for the accepting side.
    pub listen_port: Option<u16>,
    /// The static key the peer proved in the handshake.
    pub key: PeerKey,
    /// How the session's bytes travel.
    pub path: SessionPath,
}

/// How a session's bytes travel: the path the chat window and `send --json` show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionPath {
    /// A TCP connection between the two peers.
    #[default]
    Direct,
    /// Through the directory's relay (which copies the encrypted session, nothing more).
    Relayed {
        /// The most bytes the relay carries in this session, both directions together (the
        /// directory's `p2p-chat-relay-max-bytes` answer); `None` when the directory does not
        /// say.
        max_bytes: Option<u64>,
    },
    /// A TCP connection that a hole punch opened: both sides dialled at a moment the
    /// directory chose, through routers that would not let a plain dial in.
    Punched,
}

impl SessionPath {
    /// The word for it: `direct`, `relayed` or `punched`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Relayed { .. } => "relayed",
            Self::Punched => "punched",
        }
    }

    /// Whether the session goes through the directory's relay.
    pub fn is_relayed(self) -> bool {
        matches!(self, Self::Relayed { .. })
    }

    /// For a relayed session, what a user moving a file is told in advance: the relay's cap
    /// per session (when the directory says it) and that the transfer goes on over a new
    /// session when the relay ends one. `None` for the other paths.
    pub fn relay_cap_note(self) -> Option<String> {
        let Self::Relayed { max_bytes } = self else {
            return None;
        };
        let cap = max_bytes.map_or_else(
            || "may cap how much one session carries".to_owned(),
            |bytes| {
                format!(
                    "carries at most {} per session (both directions together)",
                    crate::transfer::human_bytes(bytes)
                )
            },
        );
        Some(format!(
            "the directory's relay {cap}; when it ends the session, the transfer goes on over \
             a new one"
        ))
    }
}

/// Why a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// We closed it ([`SessionHandle::close`]).
    Local,
    /// The peer said goodbye.
    PeerLeft {
        /// The reason the peer gave.
        reason: String,
    },
    /// The TCP connection broke or was closed without a goodbye.
    ConnectionLost {
        /// What the OS or codec reported.
        detail: String,
    },
    /// No frame arrived for [`IDLE_TIMEOUT`].
    TimedOut,
    /// The peer broke the protocol (bad frame, oversize frame, unexpected message).
    ProtocolError {
        /// What was wrong.
        detail: String,
    },
}

impl CloseReason {
    /// Whether reconnecting could help (the link broke rather than being closed on purpose).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, Self::ConnectionLost { .. } | Self::TimedOut)
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("closed"),
            Self::PeerLeft { reason } if reason.is_empty() => f.write_str("the peer left"),
            Self::PeerLeft { reason } => write!(f, "the peer left: {reason}"),
            Self::ConnectionLost { detail } => write!(f, "connection lost: {detail}"),
            Self::TimedOut => write!(
                f,
                "no answer from the peer for {} s",
                IDLE_TIMEOUT.as_secs()
            ),
            Self::ProtocolError { detail } => write!(f, "protocol error: {detail}"),
        }
    }
}

/// What a session reports to its owner.
#[derive(Debug)]
pub enum SessionEvent {
    /// The handshake succeeded; the handle sends on this session.
    Opened {
        /// Handle to the session's actor.
        handle: SessionHandle,
        /// Who is at the other end.
        peer: RemotePeer,
        /// Who dialled.
        direction: Direction,
    },
    /// A chat message arrived; the receipt goes back once the owner calls
    /// [`SessionHandle::acknowledge`].
    Message {
        /// The sender's message id.
        id: MessageId,
        /// Sender's clock at send time, unix milliseconds.
        sent_at_ms: u64,
        /// The text, at most `MAX_TEXT_BYTES`.
        text: String,
        /// For a reply: the message it answers.
        reply_to: Option<MessageId>,
    },
    /// The peer acknowledged one of our messages.
    Delivered {
        /// Id of our message.
        id: MessageId,
    },
    /// The peer's user has seen our message `id` and those before it (a read receipt, sent
    /// only by peers who turned them on).
    Read {
        /// Id of our message.
        id: MessageId,
    },
    /// The peer's user is typing (shown for `TYPING_SHOW_MS` unless renewed).
    Typing,
    /// The peer answered our keepalive: the round trip of the session, in milliseconds
    /// (measured at once when the session opens, then every [`PING_INTERVAL`]).
    RoundTrip {
        /// Ping to pong, in milliseconds.
        rtt_ms: u32,
    },
    /// A file transfer's offer, answer or end (chunks and credit go to the transfer's routes
    /// and never come here).
    File(files::FileEvent),
    /// A group frame (`GroupChange`, `GroupInvite` or `GroupPost`): the owner judges it with
    /// [`crate::groups::Groups::receive`] and acknowledges it unless it is held.
    Group(p2p_chat_protocol::PeerMessage),
    /// The session ended; no more events follow for it.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// One event from one session.
#[derive(Debug)]
pub struct NetEvent {
    /// Which session.
    pub session: SessionId,
    /// What happened.
    pub event: SessionEvent,
}

/// Where sessions send their events.
pub type EventSender = mpsc::Sender<NetEvent>;

/// Why dialling a peer failed.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The address could not be resolved.
    #[error("cannot resolve {addr}: {detail}")]
    Resolve {
        /// `host:port` as given.
        addr: String,
        /// Resolver error.
        detail: String,
    },
    /// Nobody accepted the TCP connection (peer offline, wrong port, firewall).
    #[error("cannot reach {addr}: {detail} — is the peer running and listening there?")]
    Unreachable {
        /// `host:port` as given.
        addr: String,
        /// OS error.
        detail: String,
    },
    /// The peer accepted the connection but did not complete the handshake in time.
    #[error("{addr} did not answer the handshake within {} s", HANDSHAKE_TIMEOUT.as_secs())]
    HandshakeTimeout {
        /// `host:port` as given.
        addr: String,
    },
    /// The peer refused us.
    #[error("{addr} refused the connection: {reason}{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    Refused {
        /// `host:port` as given.
        addr: String,
        /// The peer's reason.
        reason: RefuseReason,
        /// The peer's explanation.
        message: String,
    },
    /// The secure handshake failed. With a key we expected (from the directory or a pin) this
    /// means the peer does not hold that key: it changed, or someone else answers.
    #[error("{addr}: {detail}")]
    Handshake {
        /// `host:port` as given.
        addr: String,
        /// What failed, with the likely cause.
        detail: String,
    },
    /// The peer answered with something that is not the protocol.
    #[error("{addr} does not speak the p2p-chat protocol: {detail}")]
    Protocol {
        /// `host:port` as given.
        addr: String,
        /// What was wrong.
        detail: String,
    },
    /// Neither a direct connection nor the directory's relay reached the peer.
    #[error("{} The directory's relay did not help either: {relay}", sentence(&direct.to_string()))]
    NoPath {
        /// Why the direct connection failed.
        direct: Box<DialError>,
        /// Why the relay did not connect.
        relay: String,
    },
}

/// `text` as a sentence: with a full stop unless it ends in one, a question or an exclamation
/// mark.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '?', '!']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

impl DialError {
    /// Makes [`DialError::Unreachable`]s naming `addr` (an address, or a way such as "bob
    /// through the directory's relay") from each failure's detail.
    pub fn unreachable_at(addr: &str) -> impl Fn(String) -> DialError + '_ {
        move |detail| DialError::Unreachable {
            addr: addr.to_owned(),
            detail,
        }
    }
}
