//! One conversation: its lines, unread count, outbox and the state of its peer link.

use std::cell::Cell;
use std::collections::HashSet;

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::group::GroupId;

use crate::net::{PeerKey, SessionId};
pub use crate::store::Delivery;
use crate::store::Stored;

mod line;
pub use line::{ChatLine, LineKind};

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
        /// How its bytes travel (shown in the title and the status bar).
        path: crate::net::SessionPath,
        /// The other end of its TCP connection: the peer, or the directory for a relayed one.
        remote: std::net::SocketAddr,
        /// The session's last measured round trip, in milliseconds, once known.
        rtt_ms: Option<u32>,
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

impl Link {
    /// Whether the link is `session`, open through the directory's relay.
    pub fn is_relayed(&self, session: SessionId) -> bool {
        matches!(self, Link::Connected { session: s, path: crate::net::SessionPath::Relayed { .. }, .. } if *s == session)
    }
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

/// How much of a chat's stored history is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The newest page was asked for.
    pub requested: bool,
    /// `seq` of the oldest loaded message; older pages are fetched "before" it.
    pub oldest_seq: Option<i64>,
    /// Nothing older is stored.
    pub complete: bool,
    /// A page is on its way.
    pub loading: bool,
    /// Unread messages stored before the chat was first shown; the "new messages" marker goes
    /// above the last this many received messages of the newest page.
    pub unread_at_open: usize,
    /// Newer lines were dropped to keep memory bounded; they come back as pages "after" the
    /// newest loaded one when the user scrolls down.
    pub newer_dropped: bool,
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
    /// The loaded part of the conversation, oldest first.
    pub lines: Vec<ChatLine>,
    /// Messages received while the chat was not shown.
    pub unread: usize,
    /// The group whose conversation this is; `None` for a chat with one peer. A group chat
    /// never dials: its posts go to each member's session (see `crate::groups`).
    pub group: Option<GroupId>,
    /// For our posts in a group chat: each member it went to and how far it got there
    /// (sorted by member), as the store last told.
    pub group_receipts: std::collections::HashMap<MessageId, Vec<(String, Delivery)>>,
    /// The connection.
    pub link: Link,
    /// What we know about the peer's key.
    pub security: Security,
    /// How many messages are hidden below the view (0 follows new messages).
    pub scroll: usize,
    /// The message a search jumped to, drawn highlighted until the user moves on.
    pub highlight: Option<MessageId>,
    /// Until when (unix ms) the peer counts as typing, from its last `Typing`.
    pub typing_until: Option<u64>,
    /// When we last told the peer our user is typing, unix ms.
    pub typing_sent_ms: Option<u64>,
    /// The largest useful [`scroll`](Self::scroll): the one that shows the first loaded
    /// message at the top of a full view. Measured by the last render, which alone knows how
    /// many rows each message wraps to; `usize::MAX` until the chat was drawn.
    pub scroll_top: Cell<usize>,
    /// Paging state of the stored history.
    pub history: History,
    /// `seq` of the newest stored message, for the read marker.
    pub newest_seq: Option<i64>,
    /// Ids of messages shown, to drop resent duplicates.
    pub(super) seen: HashSet<MessageId>,
    /// The first message that arrived while the chat was not shown; the "new messages"
    /// marker goes above it until the user sends or switches away.
    pub first_unread: Option<MessageId>,
    /// Our messages the peer has read (its read receipts; kept in memory only).
    pub read: HashSet<MessageId>,
    /// The peer's message our last read receipt named, so each is sent once.
    pub read_sent: Option<MessageId>,
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
            group: None,
            group_receipts: std::collections::HashMap::new(),
            link: Link::Idle,
            security: Security::Unknown,
            scroll: 0,
            highlight: None,
            typing_until: None,
            typing_sent_ms: None,
            scroll_top: Cell::new(usize::MAX),
            history: History::default(),
            newest_seq: None,
            seen: HashSet::new(),
            first_unread: None,
            read: HashSet::new(),
            read_sent: None,
        }
    }

    /// The conversation's key in the local store: the peer's name, or for a group
    /// [`crate::store::conversation_key`].
    pub fn store_key(&self) -> String {
        match self.group {
            Some(group) => crate::store::conversation_key(group),
            None => self.name.clone(),
        }
    }

    /// Records a received (and stored) group post by `sender`; `false` for a duplicate.
    pub fn receive_post(
        &mut self,
        sender: String,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
        seq: i64,
    ) -> bool {
        if !self.receive(id, sent_at_ms, text, Some(seq)) {
            return false;
        }
        if let Some(line) = self.lines.iter_mut().rev().find(|l| l.id() == Some(id)) {
            line.sender = Some(sender);
        }
        true
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
            seq: None,
            sender: None,
        });
    }

    /// Appends a group's notice kept in the store at `seq` (in the store's order, once), or a
    /// notice of this run only when `seq` is `None`.
    pub fn stored_notice(&mut self, at_ms: u64, text: String, seq: Option<i64>) {
        let Some(seq) = seq else {
            return self.notice(at_ms, LineKind::Info, text);
        };
        if self.lines.iter().any(|l| l.seq == Some(seq)) || self.history.newer_dropped {
            return;
        }
        let at = self
            .lines
            .iter()
            .position(|l| l.seq.is_some_and(|s| s > seq))
            .unwrap_or(self.lines.len());
        let line = ChatLine {
            at_ms,
            kind: LineKind::Info,
            text,
            seq: Some(seq),
            sender: None,
        };
        self.lines.insert(at, line);
        self.newest_seq = self.newest_seq.max(Some(seq));
    }

    /// Writes transfer `id`'s live line: a new one at `at_ms` when `fresh` (a start), else
    /// the newest one rewritten (nothing when the chat has none).
    pub fn transfer_line(&mut self, at_ms: u64, id: MessageId, text: String, fresh: bool) {
        let kind = LineKind::Transfer { id };
        if fresh {
            self.notice(at_ms, kind, text);
        } else if let Some(line) = self.lines.iter_mut().rev().find(|l| l.kind == kind) {
            line.text = text;
        }
    }

    /// Appends one of our messages (already written to the store as queued).
    pub fn send(&mut self, id: MessageId, at_ms: u64, text: String) {
        self.seen.insert(id);
        self.lines.push(ChatLine {
            at_ms,
            kind: LineKind::Own {
                id,
                delivery: Delivery::Queued,
            },
            text,
            seq: None,
            sender: None,
        });
    }

    /// Shows an undelivered message read from the store at start; it waits as queued.
    pub fn restore_pending(&mut self, message: Stored) {
        if self.seen.insert(message.id) {
            let mut line = ChatLine::from_stored(message);
            if let LineKind::Own { delivery, .. } = &mut line.kind {
                *delivery = Delivery::Queued;
            }
            self.lines.push(line);
        }
    }

    /// Records a received (and stored) message; returns `false` for a duplicate.
    pub fn receive(
        &mut self,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
        seq: Option<i64>,
    ) -> bool {
        if self.seen.contains(&id) {
            return false;
        }
        // The message they were typing is here.
        self.typing_until = None;
        // While newer lines are dropped from memory, this one is too: it is in the store and
        // comes back with the pages below.
        if !self.history.newer_dropped {
            self.seen.insert(id);
            let line = ChatLine {
                at_ms: sent_at_ms,
                kind: LineKind::Peer { id },
                text,
                seq,
                sender: None,
            };
            // Two paths (a session, the mailbox) store in the sender's order but report
            // separately: the store's order is the one shown.
            let at = match seq {
                Some(seq) => self
                    .lines
                    .iter()
                    .position(|l| l.seq.is_some_and(|s| s > seq))
                    .unwrap_or(self.lines.len()),
                None => self.lines.len(),
            };
            // Scrolled back, the view stays where it is: the new line joins those below it.
            if self.scroll > 0 && at >= self.lines.len().saturating_sub(self.scroll) {
                self.scroll += 1;
            }
            self.lines.insert(at, line);
        }
        if seq > self.newest_seq {
            self.newest_seq = seq;
        }
        true
    }

    /// Sets the delivery state of our message `id`; a delivered message stays delivered.
    pub fn set_delivery(&mut self, id: MessageId, state: Delivery) {
        for line in self.lines.iter_mut().rev() {
            if let LineKind::Own { id: own, delivery } = &mut line.kind
                && *own == id
            {
                if *delivery != Delivery::Delivered {
                    *delivery = state;
                }
                return;
            }
        }
    }

    /// Our messages not yet acknowledged, oldest first: `(id, sent_at_ms, text)`.
    pub fn outbox(&self) -> Vec<(MessageId, u64, String)> {
        self.lines
            .iter()
            .filter_map(|line| match line.kind {
                LineKind::Own {
                    id,
                    delivery: Delivery::Queued | Delivery::Sent,
                } => Some((id, line.at_ms, line.text.clone())),
                _ => None,
            })
            .collect()
    }
}
