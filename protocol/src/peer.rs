//! Messages exchanged between two peers over one TCP session.
//!
//! A session starts with a handshake: the side that dialled sends [`PeerMessage::Hello`], the
//! side that accepted answers [`PeerMessage::Welcome`] or [`PeerMessage::Refuse`] and closes.
//! After a welcome either side may send chat messages, receipts, pings and a goodbye.
//! `docs/protocol.md` has the full table and the versioning rules.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::group::{Change, GroupId, Seen};
use crate::transfer::{CancelReason, Sha256};
#[cfg(doc)]
use crate::transfer::{MAX_CHUNK_BYTES, MAX_FILE_BYTES, MAX_FILE_NAME_BYTES};
use std::time::{SystemTime, UNIX_EPOCH};

/// The peer protocol version this build speaks; sent in `Hello` and `Welcome`.
///
/// Bump it whenever a change to [`PeerMessage`] or the session format is not backwards
/// compatible (see the versioning rules in `docs/protocol.md`). Version 1 sent frames in the
/// clear; version 2 runs a Noise handshake first and encrypts every frame.
pub const PROTOCOL_VERSION: u16 = 2;

/// Longest chat text accepted, in bytes of UTF-8: 16 KiB.
///
/// A quarter of [`crate::MAX_FRAME_BYTES`], so a message always fits a frame with room for the
/// envelope and future encryption overhead.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Longest free-text reason in `Refuse` and `Goodbye`, in bytes.
pub const MAX_REASON_BYTES: usize = 512;

/// A globally unique, time-ordered message id: a UUIDv7 (RFC 9562, section 5.7).
///
/// Resends carry the same id, so a receiver can drop duplicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub uuid::Uuid);

impl MessageId {
    /// A fresh id from the current time and random bits.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The current time in unix milliseconds (0 if the clock is before 1970).
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Why the accepting peer turned a `Hello` down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefuseReason {
    /// The dialler speaks a protocol version the acceptor does not.
    VersionMismatch {
        /// The version the acceptor speaks.
        supported: u16,
    },
    /// The acceptor has no room for another session right now; try again later.
    Busy,
    /// The `Hello` was malformed (for example an invalid username).
    BadHello,
    /// The acceptor already has a session with this peer.
    Duplicate,
}

impl fmt::Display for RefuseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VersionMismatch { supported } => {
                write!(
                    f,
                    "protocol version mismatch (the peer speaks version {supported})"
                )
            }
            Self::Busy => f.write_str("the peer is busy"),
            Self::BadHello => f.write_str("the peer rejected our hello"),
            Self::Duplicate => f.write_str("already connected to this peer"),
        }
    }
}

/// One frame's worth of peer protocol.
///
/// Variants are encoded by their index, so new variants are only ever appended (see
/// `docs/protocol.md`). Every variant has named fields so it can grow within a version bump.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// First frame from the dialling side.
    Hello {
        /// [`PROTOCOL_VERSION`] of the dialler.
        protocol_version: u16,
        /// How the dialler introduces itself (its directory username, or a chosen name).
        username: String,
        /// Free-form software name and version, e.g. `p2p-chat/0.1.0`; for diagnostics only.
        client: String,
        /// TCP port on which the dialler accepts peers, so the acceptor can dial back later.
        listen_port: Option<u16>,
    },
    /// The acceptor's positive answer to `Hello`; the session is open.
    Welcome {
        /// [`PROTOCOL_VERSION`] of the acceptor.
        protocol_version: u16,
        /// How the acceptor introduces itself.
        username: String,
    },
    /// The acceptor's negative answer to `Hello`; it closes the connection after sending it.
    Refuse {
        /// Machine-readable cause.
        reason: RefuseReason,
        /// Human-readable detail, at most [`MAX_REASON_BYTES`].
        message: String,
    },
    /// A chat message.
    Chat {
        /// Unique id; resends reuse it.
        id: MessageId,
        /// When the sender's user pressed enter, in unix milliseconds.
        sent_at_ms: u64,
        /// UTF-8 text, at most [`MAX_TEXT_BYTES`].
        text: String,
    },
    /// The receiver got the chat message with this id and will show it.
    Receipt {
        /// Id of the acknowledged `Chat`.
        id: MessageId,
    },
    /// Keepalive request; the other side answers with a `Pong` carrying the same nonce.
    Ping {
        /// Opaque value echoed by `Pong`.
        nonce: u64,
    },
    /// Keepalive answer.
    Pong {
        /// The nonce of the `Ping` being answered.
        nonce: u64,
    },
    /// The sender is closing the session on purpose; no reconnect is needed.
    Goodbye {
        /// Human-readable reason, at most [`MAX_REASON_BYTES`].
        reason: String,
    },
    /// Read receipt: the sender's user has had the chat with this message on screen, so it
    /// and the messages before it count as read. Sent only by users who turned read receipts
    /// on; appended after version 2 shipped (see `docs/protocol.md`).
    Read {
        /// Id of the newest `Chat` shown to the user.
        id: MessageId,
    },
    /// The sender's user is typing a message in this chat: show it for [`TYPING_SHOW_MS`]
    /// unless another `Typing` or a message comes. Sent at most every [`TYPING_INTERVAL_MS`]
    /// while typing, by users who did not turn it off, and only to peers whose
    /// [`crate::noise::Features`] list it (index 9, added with features).
    Typing {},
    /// A chat message that answers the message `reply_to`; everything else as [`Self::Chat`]
    /// (acknowledged with a `Receipt`, resent with the same id). Its `text` begins with a
    /// one-line quote of the original (`> NAME: first words`), so that the same text sent as a
    /// `Chat` — to a peer whose features do not list `Reply`, or through the mailbox — still
    /// reads as a reply (index 10, added with features).
    Reply {
        /// Unique id; resends reuse it.
        id: MessageId,
        /// When the sender's user pressed enter, in unix milliseconds.
        sent_at_ms: u64,
        /// UTF-8 text with the quote first, at most [`MAX_TEXT_BYTES`].
        text: String,
        /// Id of the message answered (either side's).
        reply_to: MessageId,
    },
    /// The sender offers a file (index 11, added with features; see [`crate::transfer`]).
    /// Offered again on every new session until the receiver accepts, declines or it ends.
    FileOffer {
        /// The transfer's id (UUIDv7); every later message of the transfer names it.
        id: MessageId,
        /// When the sender's user offered it, in unix milliseconds.
        sent_at_ms: u64,
        /// The file's name without any directory, at most [`MAX_FILE_NAME_BYTES`] bytes.
        name: String,
        /// Its length in bytes, at most [`MAX_FILE_BYTES`].
        size: u64,
        /// SHA-256 of the whole file.
        sha256: Sha256,
    },
    /// The receiver takes the offer `id`, starting at byte `offset` (the bytes it already
    /// has, 0 for a new transfer), and lets the sender send bytes below `credit_until`
    /// (index 12).
    FileAccept {
        /// The offer's id.
        id: MessageId,
        /// Where the sender should start, in bytes from the file's start.
        offset: u64,
        /// SHA-256 of the receiver's first `offset` bytes; the sender starts at 0 when its own
        /// differ.
        prefix_sha256: Sha256,
        /// The sender may send bytes whose offset is below this.
        credit_until: u64,
    },
    /// The receiver lets the sender send bytes below `until` (index 13); sent as it writes.
    FileCredit {
        /// The transfer's id.
        id: MessageId,
        /// New end of the credit, in bytes from the file's start; never decreases.
        until: u64,
    },
    /// File bytes `offset .. offset + data.len()` (index 14); at most [`MAX_CHUNK_BYTES`],
    /// in order, never past the credit.
    FileChunk {
        /// The transfer's id.
        id: MessageId,
        /// Position of `data` in the file, in bytes.
        offset: u64,
        /// The bytes (postcard: a length and the bytes, not a list of numbers).
        data: bytes::Bytes,
    },
    /// The receiver has every byte and their SHA-256 matches the offer's (index 15): the
    /// transfer is complete.
    FileDone {
        /// The transfer's id.
        id: MessageId,
    },
    /// Either side ends the transfer `id` (index 16); the other stops sending for it.
    FileCancel {
        /// The transfer's id.
        id: MessageId,
        /// Why.
        reason: CancelReason,
    },
    /// A change to `group` (index 17, added with groups; see [`crate::group`]), from its
    /// author, or from the member who added the receiver. Acknowledged with a `Receipt` for
    /// `id` once stored, resent with the same `id` until then.
    GroupChange {
        /// The group.
        group: GroupId,
        /// This delivery's id (UUIDv7), for the receipt.
        id: MessageId,
        /// The change.
        change: Change,
    },
    /// The whole log of `group`, to a member just added (index 18), from the member who added
    /// it; acknowledged like a change.
    GroupInvite {
        /// The group.
        group: GroupId,
        /// This delivery's id (UUIDv7), for the receipt.
        id: MessageId,
        /// Every change the adder holds, its `Add` of the receiver among them; at most
        /// [`crate::group::MAX_GROUP_CHANGES`].
        changes: Vec<Change>,
    },
    /// A message to `group` (index 19), sent to each member separately; acknowledged with a
    /// `Receipt` per member.
    GroupPost {
        /// The group.
        group: GroupId,
        /// Unique id, the same for every member; resends reuse it.
        id: MessageId,
        /// When the sender's user pressed enter, in unix milliseconds.
        sent_at_ms: u64,
        /// UTF-8 text, at most [`MAX_TEXT_BYTES`].
        text: String,
        /// The message answered, if any (either side's).
        reply_to: Option<MessageId>,
        /// The group's changes the sender had applied, so a receiver that lacks some (a
        /// new member's `Add`) waits for them instead of refusing the post.
        seen: Seen,
    },
}

/// Variants of [`PeerMessage`] a peer understands when its handshake announced no
/// [`crate::noise::Features`] (the releases before them): `Hello` to `Read`, indices 0 to 8.
pub const LEGACY_KNOWN_MESSAGES: u16 = 9;

/// Variants of [`PeerMessage`] this build understands (indices 0 to 19, up to `GroupPost`).
pub const KNOWN_MESSAGES: u16 = 20;

/// Variants a peer must understand to take part in a file transfer: up to `FileCancel`.
pub const FILE_TRANSFER_MESSAGES: u16 = 17;

/// Variants a peer must understand to be a member of a group: up to `GroupPost`.
pub const GROUP_MESSAGES: u16 = 20;

/// Shortest gap between two `Typing` from one side, in ms: 3 s, so a fast typist sends one
/// every few seconds, not one per key.
pub const TYPING_INTERVAL_MS: u64 = 3_000;

/// How long a `Typing` is shown without a newer one, in ms: 6 s, two intervals, so one lost or
/// late `Typing` does not make the indicator flicker.
pub const TYPING_SHOW_MS: u64 = 6_000;

impl PeerMessage {
    /// A `Hello` for this build's [`PROTOCOL_VERSION`].
    pub fn hello(username: impl Into<String>, listen_port: Option<u16>) -> Self {
        Self::Hello {
            protocol_version: PROTOCOL_VERSION,
            username: username.into(),
            client: concat!("p2p-chat/", env!("CARGO_PKG_VERSION")).to_owned(),
            listen_port,
        }
    }

    /// A new chat message stamped with a fresh id and the current time.
    pub fn chat(text: impl Into<String>) -> Self {
        Self::Chat {
            id: MessageId::new(),
            sent_at_ms: now_unix_ms(),
            text: text.into(),
        }
    }

    /// Short name of the variant, for logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "hello",
            Self::Welcome { .. } => "welcome",
            Self::Refuse { .. } => "refuse",
            Self::Chat { .. } => "chat",
            Self::Receipt { .. } => "receipt",
            Self::Ping { .. } => "ping",
            Self::Pong { .. } => "pong",
            Self::Goodbye { .. } => "goodbye",
            Self::Read { .. } => "read",
            Self::Typing { .. } => "typing",
            Self::Reply { .. } => "reply",
            Self::FileOffer { .. } => "file offer",
            Self::FileAccept { .. } => "file accept",
            Self::FileCredit { .. } => "file credit",
            Self::FileChunk { .. } => "file chunk",
            Self::FileDone { .. } => "file done",
            Self::FileCancel { .. } => "file cancel",
            Self::GroupChange { .. } => "group change",
            Self::GroupInvite { .. } => "group invite",
            Self::GroupPost { .. } => "group post",
        }
    }

    /// The variant's index, which is also its tag on the wire: a peer that announced it
    /// understands `n` variants can decode exactly those with an index below `n`.
    pub fn index(&self) -> u16 {
        match self {
            Self::Hello { .. } => 0,
            Self::Welcome { .. } => 1,
            Self::Refuse { .. } => 2,
            Self::Chat { .. } => 3,
            Self::Receipt { .. } => 4,
            Self::Ping { .. } => 5,
            Self::Pong { .. } => 6,
            Self::Goodbye { .. } => 7,
            Self::Read { .. } => 8,
            Self::Typing { .. } => 9,
            Self::Reply { .. } => 10,
            Self::FileOffer { .. } => 11,
            Self::FileAccept { .. } => 12,
            Self::FileCredit { .. } => 13,
            Self::FileChunk { .. } => 14,
            Self::FileDone { .. } => 15,
            Self::FileCancel { .. } => 16,
            Self::GroupChange { .. } => 17,
            Self::GroupInvite { .. } => 18,
            Self::GroupPost { .. } => 19,
        }
    }
}
