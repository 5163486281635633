//! The cloneable handle to a session actor, and the commands it sends the actor.
//!
//! Two paths lead into the actor, so that receipts never wait behind chat messages:
//! - **commands** (chat messages, close): a bounded queue of [`COMMAND_CHANNEL_CAPACITY`];
//!   [`SessionHandle::send_chat`] waits for room, so only a task that owns nothing the event
//!   loop needs (an outbox pump, the one-shot `send`) may call it.
//! - **control** (delivery and read receipts): never waits. Its queue holds
//!   [`CONTROL_CHANNEL_CAPACITY`] entries, more than the receipts that can be owed at once:
//!   the actor stops reading frames while [`MAX_UNACKED_INBOUND`] received messages wait for
//!   their receipt, so a peer that floods us is held back by TCP, not by our memory.

use bytes::Bytes;
use p2p_chat_protocol::noise::Features;
use p2p_chat_protocol::{MessageId, PeerMessage};
use tokio::sync::{mpsc, watch};

use super::SessionId;
use super::files::{Chunk, FileCommand};

/// Chat messages queued towards the actor before `send_chat` waits: 64.
pub(super) const COMMAND_CHANNEL_CAPACITY: usize = 64;

/// Received messages a session hands to its owner before the owner has acknowledged them:
/// 256. At this many the actor stops reading the socket until receipts go out (receive
/// window; the sender's TCP window then fills and its writes wait).
pub const MAX_UNACKED_INBOUND: usize = 256;

/// Room in the control queue: every receipt that can be owed, plus as many read receipts
/// (these are best effort and dropped when there is no room).
pub(super) const CONTROL_CHANNEL_CAPACITY: usize = 2 * MAX_UNACKED_INBOUND;

pub(super) enum Command {
    Chat {
        id: MessageId,
        sent_at_ms: u64,
        text: String,
        reply_to: Option<MessageId>,
    },
    /// A group frame (`GroupChange`, `GroupInvite`, `GroupPost`), in order with the chat.
    Group(PeerMessage),
    Close,
}

pub(super) enum Control {
    Receipt {
        id: MessageId,
    },
    /// A received message the owner holds without a receipt (a group frame that must wait):
    /// it no longer counts against the session's receive window.
    Release,
    Read {
        id: MessageId,
    },
    Typing,
}

/// Room in the queue of file-transfer frames and routes (see [`SessionHandle::send_file_frame`]):
/// 256, far more than the transfers one peer has open at once.
pub(super) const FILE_CHANNEL_CAPACITY: usize = 256;

/// File chunks queued towards the actor: 4 (252 KiB), so a transfer's reader stays just ahead
/// of the socket and chat messages never queue behind more than that in the actor.
pub(super) const BULK_CHANNEL_CAPACITY: usize = 4;

/// Cloneable handle to a running session; dropping every handle closes the session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub(super) id: SessionId,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) control: mpsc::Sender<Control>,
    pub(super) files: mpsc::Sender<FileCommand>,
    pub(super) bulk: mpsc::Sender<(MessageId, Chunk)>,
    pub(super) features: Features,
    pub(super) peer_key: [u8; 32],
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chat { id, .. } => write!(f, "Chat({id})"),
            Self::Group(frame) => write!(f, "Group({})", frame.kind()),
            Self::Close => f.write_str("Close"),
        }
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Receipt { id } => write!(f, "Receipt({id})"),
            Self::Read { id } => write!(f, "Read({id})"),
            Self::Typing => f.write_str("Typing"),
            Self::Release => f.write_str("Release"),
        }
    }
}

/// The session has ended; nothing more can be sent on it.
#[derive(Debug, thiserror::Error)]
#[error("the session has ended")]
pub struct SessionGone;

impl SessionHandle {
    /// This session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Queues a chat message for sending, waiting while `COMMAND_CHANNEL_CAPACITY` messages
    /// are already queued (the peer reads slowly); the peer's receipt arrives later as
    /// [`SessionEvent::Delivered`](super::SessionEvent::Delivered).
    ///
    /// Never await this in a loop that also drains the session's events: hand it to a task
    /// of its own (see `delivery::outbound`).
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub async fn send_chat(
        &self,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
    ) -> Result<(), SessionGone> {
        self.send_message(id, sent_at_ms, text, None).await
    }

    /// [`SessionHandle::send_chat`] for a message that may answer `reply_to`: sent as a
    /// `Reply` to a peer that decodes it, else as a `Chat` with the same text.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub async fn send_message(
        &self,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
        reply_to: Option<MessageId>,
    ) -> Result<(), SessionGone> {
        self.commands
            .send(Command::Chat {
                id,
                sent_at_ms,
                text,
                reply_to,
            })
            .await
            .map_err(|_| SessionGone)
    }

    /// Tells the peer that its message `id` is stored: sends the delivery receipt. Call it
    /// once for every [`SessionEvent::Message`](super::SessionEvent::Message), once the
    /// message is safe (written to the local store), duplicates included, so the sender stops
    /// resending. Returns at once.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended (the sender will resend; the id dedupes it).
    pub fn acknowledge(&self, id: MessageId) -> Result<(), SessionGone> {
        // The actor reads no more messages than the queue has room for receipts, so the queue
        // is never full here unless the owner acknowledged a message twice.
        self.control
            .try_send(Control::Receipt { id })
            .map_err(|_| SessionGone)
    }

    /// Stops counting one received message that the owner holds without a receipt (the peer
    /// sends it again on a later session), so held messages never stop the session reading.
    /// Returns at once.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub fn release(&self) -> Result<(), SessionGone> {
        self.control
            .try_send(Control::Release)
            .map_err(|_| SessionGone)
    }

    /// Sends a read receipt for the peer's message `id`: the user has had it on screen. Only
    /// for users who turned read receipts on. Returns at once; best effort (a read receipt
    /// that finds no room is dropped, the next one covers it).
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended (the receipt is not resent).
    pub fn send_read(&self, id: MessageId) -> Result<(), SessionGone> {
        match self.control.try_send(Control::Read { id }) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SessionGone),
        }
    }

    /// Tells the peer our user is typing, if it understands that (see
    /// [`p2p_chat_protocol::noise::Features`]); best effort, as [`SessionHandle::send_read`].
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub fn send_typing(&self) -> Result<(), SessionGone> {
        match self.control.try_send(Control::Typing) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SessionGone),
        }
    }

    /// What the peer said it understands in the handshake.
    pub fn features(&self) -> Features {
        self.features
    }

    /// The static key the peer proved in the handshake.
    pub fn peer_key(&self) -> &[u8; 32] {
        &self.peer_key
    }

    /// Whether the peer can be a member of a group (its features count the group messages).
    pub fn takes_groups(&self) -> bool {
        self.features.known_messages >= p2p_chat_protocol::peer::GROUP_MESSAGES
    }

    /// Queues a group frame after the chat messages queued before it, waiting for room as
    /// [`SessionHandle::send_chat`] does (the same rule: only a task of its own may await
    /// it). A peer that does not take groups is sent nothing (check
    /// [`SessionHandle::takes_groups`] first).
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub async fn send_group_frame(&self, frame: PeerMessage) -> Result<(), SessionGone> {
        self.commands
            .send(Command::Group(frame))
            .await
            .map_err(|_| SessionGone)
    }

    /// Whether the peer takes part in file transfers (its features count the file messages).
    pub fn takes_files(&self) -> bool {
        self.features.known_messages >= p2p_chat_protocol::peer::FILE_TRANSFER_MESSAGES
    }

    /// Queues a file-transfer frame (`FileOffer`, `FileAccept`, `FileCredit`, `FileDone` or
    /// `FileCancel`); returns at once. Frames the peer cannot decode are dropped by the
    /// session (check [`SessionHandle::takes_files`] first).
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended or its file queue
    /// (`FILE_CHANNEL_CAPACITY`) is full.
    pub fn send_file_frame(&self, frame: PeerMessage) -> Result<(), SessionGone> {
        self.file_command(FileCommand::Frame(frame))
    }

    /// [`SessionHandle::send_file_frame`] from a thread that may block (a transfer's writer):
    /// waits for room instead of failing.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub fn send_file_frame_blocking(&self, frame: PeerMessage) -> Result<(), SessionGone> {
        self.files
            .blocking_send(FileCommand::Frame(frame))
            .map_err(|_| SessionGone)
    }

    /// Routes the peer's chunks of transfer `id` to `sink` from now on. Its capacity must
    /// hold a whole credit window ([`super::files::sink_capacity`]): a peer that sends
    /// beyond its credit fills it, and the session then drops the route and reports
    /// [`super::files::FileEvent::Overrun`].
    ///
    /// # Errors
    /// [`SessionGone`] as [`SessionHandle::send_file_frame`].
    pub fn receive_file(
        &self,
        id: MessageId,
        sink: mpsc::Sender<Chunk>,
    ) -> Result<(), SessionGone> {
        self.file_command(FileCommand::Receive { id, sink })
    }

    /// Routes the peer's credit for transfer `id` to `credit` (which only grows), and lets
    /// the session send chunks of `id` ([`SessionHandle::send_chunk`]).
    ///
    /// # Errors
    /// [`SessionGone`] as [`SessionHandle::send_file_frame`].
    pub fn send_file(&self, id: MessageId, credit: watch::Sender<u64>) -> Result<(), SessionGone> {
        self.file_command(FileCommand::Send { id, credit })
    }

    /// Stops routing anything of transfer `id`; chunks of it still queued are dropped.
    pub fn forget_file(&self, id: MessageId) {
        let _ = self.file_command(FileCommand::Forget { id });
    }

    /// Queues one chunk of transfer `id`, waiting while `BULK_CHANNEL_CAPACITY` chunks are
    /// queued. The session sends chunks after everything else it has to send, and only of
    /// transfers routed with [`SessionHandle::send_file`]. Only a transfer's own sending task
    /// may await this.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub async fn send_chunk(
        &self,
        id: MessageId,
        offset: u64,
        data: Bytes,
    ) -> Result<(), SessionGone> {
        self.bulk
            .send((id, Chunk { offset, data }))
            .await
            .map_err(|_| SessionGone)
    }

    fn file_command(&self, command: FileCommand) -> Result<(), SessionGone> {
        self.files.try_send(command).map_err(|_| SessionGone)
    }

    /// Asks the session to say goodbye and close; returns at once.
    pub fn close(&self) {
        // A full queue means the actor is busy; it will also end when all handles are gone.
        let _ = self.commands.try_send(Command::Close);
    }
}
