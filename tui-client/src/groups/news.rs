//! What the group engine tells its owner: why an action failed, what a member's frame
//! brought, a change of ours done, and what to answer a frame with.

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::group::GroupId;
use p2p_chat_protocol::group::rules::GroupError;

use crate::store::StoreError;

/// Why a group action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    /// The store failed; nothing of the action was kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rules refuse it (not an admin, no such member, a full group, …).
    #[error(transparent)]
    Rules(#[from] GroupError),
    /// No group has this name or id (among those we are a member of).
    #[error("no group called {0} — /group new NAME MEMBERS… creates one")]
    Unknown(String),
    /// More than one of our groups has this name (another member's group can share a name
    /// with one of ours): the ids tell them apart.
    #[error("{name} names {} groups — use one of their ids: {}", ids.len(), ids.join(", "))]
    Ambiguous {
        /// The name.
        name: String,
        /// The ids of the groups with it.
        ids: Vec<String>,
    },
    /// We are in a group with this name already; two would look alike everywhere.
    #[error("you are in a group called {0} already — choose another name")]
    NameTaken(String),
    /// The text is empty or too long.
    #[error("{0}")]
    Text(String),
}

/// What a member's frame told us, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupNews {
    /// A post to show.
    Post {
        /// The group.
        group: GroupId,
        /// Its name now.
        name: String,
        /// Who wrote it.
        sender: String,
        /// Its id.
        id: MessageId,
        /// When it was written, unix ms.
        sent_at_ms: u64,
        /// The text.
        text: String,
        /// Its place in the store's history.
        seq: i64,
    },
    /// The group changed: `words` say how ("alice added dave").
    Changed {
        /// The group.
        group: GroupId,
        /// Its name now.
        name: String,
        /// What happened, in words.
        words: String,
        /// The notice's place in the store's history of the group (`None` when not stored).
        seq: Option<i64>,
    },
}

/// A change of ours, done ([`super::Groups::change`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// The change in words ("you added dave").
    pub words: String,
    /// Its notice's place in the store's history of the group.
    pub seq: Option<i64>,
}

/// What the owner does with a member's frame after [`super::Groups::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored (or held already): acknowledge `id`; `news` is what to show.
    Ack {
        /// The frame's id, for the receipt.
        id: MessageId,
        /// What changed for the user (empty for a resend).
        news: Vec<GroupNews>,
    },
    /// Not yet (an earlier change or the invitation is missing): no receipt, so the member
    /// sends it again later.
    Hold,
    /// Refused for good: acknowledge `id` anyway so it is not resent; `reason` says why.
    Refuse {
        /// The frame's id.
        id: MessageId,
        /// Why, in words.
        reason: String,
    },
}
