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

use p2p_chat_protocol::MessageId;
use tokio::sync::mpsc;

use super::SessionId;

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
    Close,
}

pub(super) enum Control {
    Receipt { id: MessageId },
    Read { id: MessageId },
    Typing,
}

/// Cloneable handle to a running session; dropping every handle closes the session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub(super) id: SessionId,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) control: mpsc::Sender<Control>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chat { id, .. } => write!(f, "Chat({id})"),
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

    /// Asks the session to say goodbye and close; returns at once.
    pub fn close(&self) {
        // A full queue means the actor is busy; it will also end when all handles are gone.
        let _ = self.commands.try_send(Command::Close);
    }
}
