//! One conversation: its lines, unread count, outbox and the state of its peer link.

use std::collections::HashSet;

use p2p_chat_protocol::MessageId;

use crate::net::{PeerKey, SessionId};

/// Process-unique number of a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(pub u64);

/// How to reach a chat's peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialTarget {
    /// Look the username up in the directory, then dial the address it returns.
    Username(String),
    /// Dial `host:port` directly.
    Addr(String),
}

impl std::fmt::Display for DialTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Username(name) => f.write_str(name),
            Self::Addr(addr) => f.write_str(addr),
        }
    }
}

/// State of the connection behind a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// No session and none being set up.
    Idle,
    /// Dialling (or looking up) the peer.
    Dialing,
    /// A session is open.
    Connected {
        /// The session.
        session: SessionId,
        /// Whether we dialled it (used to break ties between simultaneous dials).
        outgoing: bool,
    },
    /// The link broke; attempt number `attempt` is scheduled.
    Reconnecting {
        /// 1-based attempt counter.
        attempt: u32,
    },
    /// Connecting failed; the user can retry by sending or with `/connect`.
    Failed {
        /// What went wrong, with the next step.
        reason: String,
    },
}

/// What we know about the key of a chat's peer (shown with the link state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// No session has proven a key yet.
    Unknown,
    /// First contact: the key was pinned just now.
    New,
    /// The pinned key, not verified by the user.
    Pinned,
    /// The pinned key, verified by comparing safety numbers.
    Verified,
    /// A peer reached by address proved a key we never saw; nothing is sent until the user
    /// accepts it (`/accept`).
    Unapproved {
        /// The key the peer proved.
        key: PeerKey,
    },
    /// The peer (or the directory) offered another key than the pinned one; refused until the
    /// user accepts the new key (`/accept`).
    Changed {
        /// The key we remember.
        pinned: PeerKey,
        /// The key now offered.
        offered: PeerKey,
    },
}

/// Delivery state of one of our own messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Not yet acknowledged by the peer; resent after a reconnect.
    Pending,
    /// The peer acknowledged it.
    Delivered,
}

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
    Peer,
    /// A notice from the program (connection state, errors).
    Info,
    /// An error notice that needs the user's attention.
    Error,
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
}

/// One conversation.
#[derive(Clone, Debug)]
pub struct Chat {
    /// Its id.
    pub id: ChatId,
    /// The peer's name (username, or the address until the peer introduced itself).
    pub name: String,
    /// How to (re)dial the peer; `None` for a peer that dialled us from an unknown address.
    pub target: Option<DialTarget>,
    /// The conversation, oldest first.
    pub lines: Vec<ChatLine>,
    /// Messages received while the chat was not shown.
    pub unread: usize,
    /// The connection.
    pub link: Link,
    /// What we know about the peer's key.
    pub security: Security,
    /// How many messages are hidden below the view (0 follows new messages).
    pub scroll: usize,
    /// Ids of messages received, to drop resent duplicates.
    seen: HashSet<MessageId>,
}

impl Chat {
    /// A new, empty chat.
    pub fn new(id: ChatId, name: String, target: Option<DialTarget>) -> Self {
        Self {
            id,
            name,
            target,
            lines: Vec::new(),
            unread: 0,
            link: Link::Idle,
            security: Security::Unknown,
            scroll: 0,
            seen: HashSet::new(),
        }
    }

    /// The open session, if any.
    pub fn session(&self) -> Option<SessionId> {
        match self.link {
            Link::Connected { session, .. } => Some(session),
            _ => None,
        }
    }

    /// Appends a notice.
    pub fn notice(&mut self, at_ms: u64, kind: LineKind, text: impl Into<String>) {
        self.lines.push(ChatLine {
            at_ms,
            kind,
            text: text.into(),
        });
    }

    /// Records a received message; returns `false` for a duplicate (same id seen before).
    pub fn receive(&mut self, id: MessageId, sent_at_ms: u64, text: String) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.lines.push(ChatLine {
            at_ms: sent_at_ms,
            kind: LineKind::Peer,
            text,
        });
        true
    }

    /// Marks our message `id` delivered; returns whether it was pending.
    pub fn delivered(&mut self, id: MessageId) -> bool {
        self.lines
            .iter_mut()
            .rev()
            .any(|line| match &mut line.kind {
                LineKind::Own { id: own, delivery }
                    if *own == id && *delivery == Delivery::Pending =>
                {
                    *delivery = Delivery::Delivered;
                    true
                }
                _ => false,
            })
    }

    /// Our messages not yet acknowledged, oldest first: `(id, sent_at_ms, text)`.
    pub fn outbox(&self) -> Vec<(MessageId, u64, String)> {
        self.lines
            .iter()
            .filter_map(|line| match line.kind {
                LineKind::Own {
                    id,
                    delivery: Delivery::Pending,
                } => Some((id, line.at_ms, line.text.clone())),
                _ => None,
            })
            .collect()
    }
}
