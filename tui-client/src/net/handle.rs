//! The cloneable handle to a session actor, and the commands it sends the actor.

use p2p_chat_protocol::MessageId;
use tokio::sync::mpsc;

use super::SessionId;

/// Commands a capacity this large can queue before `send_chat` waits: 64.
pub(super) const COMMAND_CHANNEL_CAPACITY: usize = 64;

pub(super) enum Command {
    Chat {
        id: MessageId,
        sent_at_ms: u64,
        text: String,
    },
    Receipt {
        id: MessageId,
    },
    Read {
        id: MessageId,
    },
    Close,
}

/// Cloneable handle to a running session; dropping every handle closes the session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub(super) id: SessionId,
    pub(super) commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Chat { id, .. } => write!(f, "Chat({id})"),
            Self::Receipt { id } => write!(f, "Receipt({id})"),
            Self::Read { id } => write!(f, "Read({id})"),
            Self::Close => f.write_str("Close"),
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

    /// Queues a chat message for sending; the peer's receipt arrives later as
    /// [`SessionEvent::Delivered`].
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended.
    pub async fn send_chat(
        &self,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
    ) -> Result<(), SessionGone> {
        self.commands
            .send(Command::Chat {
                id,
                sent_at_ms,
                text,
            })
            .await
            .map_err(|_| SessionGone)
    }

    /// Tells the peer that its message `id` is stored: sends the delivery receipt. Call it only
    /// once the message is safe (written to the local store, or printed), and for resent
    /// duplicates too, so the sender stops resending.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended (the sender will resend; the id dedupes it).
    pub async fn acknowledge(&self, id: MessageId) -> Result<(), SessionGone> {
        self.commands
            .send(Command::Receipt { id })
            .await
            .map_err(|_| SessionGone)
    }

    /// Sends a read receipt for the peer's message `id`: the user has had it on screen. Only
    /// for users who turned read receipts on.
    ///
    /// # Errors
    /// [`SessionGone`] if the session has ended (the receipt is not resent).
    pub async fn send_read(&self, id: MessageId) -> Result<(), SessionGone> {
        self.commands
            .send(Command::Read { id })
            .await
            .map_err(|_| SessionGone)
    }

    /// Asks the session to say goodbye and close; returns at once.
    pub fn close(&self) {
        // A full queue means the actor is busy; it will also end when all handles are gone.
        let _ = self.commands.try_send(Command::Close);
    }
}
