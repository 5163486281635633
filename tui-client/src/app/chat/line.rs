//! One line of a conversation: a message (ours, a peer's, a group member's), a notice, or a
//! file transfer's live line.

use p2p_chat_protocol::MessageId;

use super::Delivery;
use crate::store::Stored;

/// What a chat line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A message we sent.
    Own {
        /// Its id.
        id: MessageId,
        /// Where it stands.
        delivery: Delivery,
    },
    /// A message from the peer.
    Peer {
        /// Its id.
        id: MessageId,
    },
    /// A notice from the program (connection state, errors).
    Info,
    /// An error notice that needs the user's attention.
    Error,
    /// A file transfer's live line: its text is rewritten as bytes move (progress, rate,
    /// time left), then left with where the transfer stopped.
    Transfer {
        /// The transfer (its offer id).
        id: MessageId,
    },
}

/// One line of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    /// Unix milliseconds: send time for messages, local time for notices.
    pub at_ms: u64,
    /// Who wrote it.
    pub kind: LineKind,
    /// The text.
    pub text: String,
    /// Position in the local store, for messages read from it.
    pub seq: Option<i64>,
    /// The member who wrote a received group post (`None` elsewhere: the chat's peer or us).
    pub sender: Option<String>,
}

impl ChatLine {
    /// The message id, for messages (not notices).
    pub fn id(&self) -> Option<MessageId> {
        match self.kind {
            LineKind::Own { id, .. } | LineKind::Peer { id } => Some(id),
            LineKind::Info | LineKind::Error | LineKind::Transfer { .. } => None,
        }
    }

    pub(in crate::app) fn from_stored(m: Stored) -> Self {
        let kind = if m.notice {
            LineKind::Info
        } else if m.outgoing {
            LineKind::Own {
                id: m.id,
                delivery: m.delivery,
            }
        } else {
            LineKind::Peer { id: m.id }
        };
        ChatLine {
            at_ms: m.sent_at_ms,
            kind,
            text: m.text,
            seq: Some(m.seq),
            sender: m.sender,
        }
    }
}
