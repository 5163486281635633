//! Groups: conversations with several members, carried pairwise.
//!
//! A group is a log of [`Change`]s (who created it, who was added, removed, left, renamed it,
//! was made an admin). Every member keeps the log and computes the group from it with
//! [`rules::fold`], a pure function of the *set* of changes: members that hold the same
//! changes agree on the member list, whatever order the changes arrived in. Posts and
//! changes travel over each pair of members' own sessions (or sealed through the mailbox), so
//! the directory learns nothing about a group; the rules for who sends what to whom are in
//! [`rules`]. `docs/protocol.md` ("Groups") describes the messages and the rules, and
//! `docs/decisions/0004-groups-as-pairwise-change-logs.md` why they are so.

use serde::{Deserialize, Serialize};

pub mod rules;

/// Most members of a group: 50. Every post is sent to each member separately (pairwise
/// fan-out over end-to-end encrypted sessions), so its cost grows with the member count.
pub const MAX_GROUP_MEMBERS: usize = 50;

/// Longest group name, in bytes of UTF-8: 64.
pub const MAX_GROUP_NAME_BYTES: usize = 64;

/// Most changes in a group's log: 256 (and beyond them one `Leave` per member, so a full log
/// keeps nobody in: `rules::Log::has_room`). The whole log travels to each new member in one
/// message, which must fit a frame and a sealed mail (64 KiB); a group that needs more
/// changes is created anew.
pub const MAX_GROUP_CHANGES: usize = 256;

/// A group's id: a UUIDv7 its creator picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub uuid::Uuid);

impl GroupId {
    /// A fresh id from the current time and random bits.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl Default for GroupId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A member as the group knows it: the username and the identity key (X25519, 32 bytes) the
/// member's sessions must prove.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    /// Directory username.
    pub username: String,
    /// Static Noise key.
    pub key: [u8; 32],
}

/// How far one member got in each author's changes: `(author, seq)` pairs, sorted by author,
/// one per author, `seq` the highest applied (an author's changes are numbered 1, 2, … and
/// applied in that order). A version vector.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen(pub Vec<(String, u32)>);

impl Seen {
    /// The highest change of `author` applied (0 for none).
    pub fn of(&self, author: &str) -> u32 {
        self.0
            .binary_search_by(|(a, _)| a.as_str().cmp(author))
            .map_or(0, |i| self.0[i].1)
    }

    /// Records that `author`'s change `seq` is applied (keeps the higher number).
    pub fn record(&mut self, author: &str, seq: u32) {
        match self.0.binary_search_by(|(a, _)| a.as_str().cmp(author)) {
            Ok(i) => self.0[i].1 = self.0[i].1.max(seq),
            Err(i) => self.0.insert(i, (author.to_owned(), seq)),
        }
    }

    /// Whether every change `other` counts is counted here too.
    pub fn covers(&self, other: &Seen) -> bool {
        other.0.iter().all(|(author, seq)| self.of(author) >= *seq)
    }
}

/// One change to a group, made by `author`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Who made it: a member's username.
    pub author: String,
    /// The author's count of its own changes to this group: 1, 2, …
    pub seq: u32,
    /// A Lamport clock (Lamport 1978): one more than the highest of the changes the author
    /// had applied. Changes are applied in `(lamport, author, seq)` order.
    pub lamport: u64,
    /// The changes the author had applied when it made this one.
    pub seen: Seen,
    /// When the author's user made it, in unix milliseconds (shown, never used to order).
    pub at_ms: u64,
    /// What it does.
    pub op: GroupOp,
}

impl Change {
    /// The change as stored and sent: postcard, as inside a [`crate::PeerMessage`].
    ///
    /// # Errors
    /// [`crate::FrameError::Malformed`] if postcard cannot serialize it.
    pub fn to_bytes(&self) -> Result<Vec<u8>, crate::FrameError> {
        Ok(postcard::to_stdvec(self)?)
    }

    /// Reads a change written by [`Change::to_bytes`].
    ///
    /// # Errors
    /// [`crate::FrameError::Malformed`] for bytes that are not a change. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::FrameError> {
        Ok(postcard::from_bytes(bytes)?)
    }
}

/// What a [`Change`] does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOp {
    /// The group begins: its name and first members besides the author, who is its creator
    /// and first admin. Only as the author's change 1, and only once.
    Create {
        /// The name, at most [`MAX_GROUP_NAME_BYTES`].
        name: String,
        /// The invited members.
        members: Vec<Member>,
    },
    /// An admin adds a member.
    Add {
        /// Who.
        member: Member,
    },
    /// An admin removes a member (never the creator).
    Remove {
        /// Whose username.
        username: String,
    },
    /// The author leaves.
    Leave,
    /// An admin renames the group.
    Rename {
        /// The new name, at most [`MAX_GROUP_NAME_BYTES`].
        name: String,
    },
    /// The creator makes a member an admin.
    MakeAdmin {
        /// Whose username.
        username: String,
    },
}

/// What is wrong with a group name, if anything: empty, longer than
/// [`MAX_GROUP_NAME_BYTES`], or holding control characters.
pub fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some("the group name is empty".into())
    } else if name.len() > MAX_GROUP_NAME_BYTES {
        Some(format!(
            "the group name is {} bytes; the limit is {MAX_GROUP_NAME_BYTES}",
            name.len()
        ))
    } else if name.chars().any(char::is_control) {
        Some("the group name holds control characters".into())
    } else {
        None
    }
}
