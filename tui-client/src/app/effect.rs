//! What the client state asks of the runtime: [`Effect`]s out (for the runner to carry out),
//! and the mailbox worker's jobs ([`MailEffect`]); results come back as [`super::Action`]s.

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::{ChatId, DialTarget, PageRequest};
use crate::net::{PeerKey, SessionId};
use crate::pins::Pin;

/// Work for the runtime; results come back as [`super::Action`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Look up (if needed) and dial a peer for a chat.
    Dial {
        /// The chat; becomes `request` of the session's `Direction::Outgoing`.
        chat: ChatId,
        /// Whom to dial.
        target: DialTarget,
        /// The key the peer must prove (its pin), if we know one.
        expected: Option<PeerKey>,
    },
    /// Write one of our messages to the local store as queued; the runner carries out no
    /// `Send` of it unless this succeeded.
    Queue {
        /// The conversation.
        peer: String,
        /// Message id.
        id: MessageId,
        /// Send time, unix ms.
        sent_at_ms: u64,
        /// Text.
        text: String,
        /// The message it answers, for a reply.
        reply_to: Option<MessageId>,
    },
    /// Send the peer's outbox on this session: every unacknowledged message once, in the
    /// order written, then each message queued later (`delivery::outbound::Pump`).
    Flush {
        /// The session, already bound to the peer's conversation.
        session: SessionId,
    },
    /// Say goodbye and close a session.
    CloseSession {
        /// The session.
        session: SessionId,
    },
    /// Store the messages of `session` under the conversation `peer`.
    Bind {
        /// The session.
        session: SessionId,
        /// The conversation its messages belong to.
        peer: String,
    },
    /// Read a page of stored history for a chat.
    LoadHistory {
        /// The chat.
        chat: ChatId,
        /// The conversation.
        peer: String,
        /// Which page.
        request: PageRequest,
    },
    /// Move the read marker of `peer` to `seq`.
    MarkRead {
        /// The conversation.
        peer: String,
        /// The newest seen `seq`.
        seq: i64,
    },
    /// Work for the mailbox, carried out in order by one worker.
    Mail(MailEffect),
    /// A group action, carried out by the group engine (`crate::groups::Groups`): stored with
    /// the frames for every member, which each member's session then sends.
    Group(GroupEffect),
    /// Fetch the contact list from the directory.
    LoadContacts,
    /// Write a setting the user changed in the window into the config file.
    SaveSetting(crate::config::Change),
    /// Clear the terminal and draw the whole screen again (Ctrl+L).
    Redraw,
    /// Tell the peer on `session` our user is typing.
    SendTyping {
        /// The session.
        session: SessionId,
    },
    /// Send [`super::Action::Tick`] after `after_ms`, so what expires then (a typing
    /// indicator) leaves the screen.
    Wake {
        /// Delay in ms.
        after_ms: u64,
    },
    /// Tell the user of a message in a chat that is not shown: on the desktop or through the
    /// terminal (see [`crate::notify`]).
    Notify {
        /// Its title.
        title: String,
        /// Its text.
        body: String,
    },
    /// Search the local history; the hits come back as [`super::Action::SearchResults`].
    Search {
        /// What the user typed after `/search`.
        query: String,
    },
    /// Hand the terminal to `$VISUAL` / `$EDITOR` to write the message, starting from
    /// `draft`; the result comes back as [`super::Action::Composed`].
    Compose {
        /// The text to start from.
        draft: String,
    },
    /// Store the pin of `peer`.
    SavePin {
        /// The peer.
        peer: String,
        /// Its pin.
        pin: Pin,
    },
    /// Record our messages `ids` to `peer` as failed, with the reason.
    MarkFailed {
        /// The conversation.
        peer: String,
        /// The messages.
        ids: Vec<MessageId>,
        /// Why, for the user.
        reason: String,
    },
    /// Cache the directory's contact list for the next start.
    CacheContacts(Vec<ClientRecord>),
    /// Send [`super::Action::ReconnectDue`] after the backoff delay for `attempt`.
    ScheduleReconnect {
        /// The chat.
        chat: ChatId,
        /// 1-based attempt number.
        attempt: u32,
    },
    /// Try to open a direct session for a chat whose session runs through the relay (direct
    /// dials and hole punching only; see `relay::Ways::DirectOnly`). A session that opens
    /// replaces the relayed one; a failure reports nothing.
    Upgrade {
        /// The chat; becomes `request` of the session's `Direction::Outgoing`.
        chat: ChatId,
        /// Whom to dial.
        target: DialTarget,
        /// The key the peer must prove (its pin), if we know one.
        expected: Option<PeerKey>,
    },
    /// Report [`super::Action::UpgradeDue`] after `relay::upgrade_delay(attempt)`.
    ScheduleUpgrade {
        /// The chat.
        chat: ChatId,
        /// Its relayed session.
        session: SessionId,
        /// 1-based attempt number.
        attempt: u32,
    },
    /// Ring the terminal bell (a message arrived in a chat that is not shown).
    Bell,
    /// Ask the transfer engine for something.
    File(super::files::FileEffect),
    /// Send a read receipt for the peer's message `id` on a session.
    SendRead {
        /// The session.
        session: SessionId,
        /// The peer's message.
        id: MessageId,
    },
    /// Leave the program.
    Quit,
}

/// What the group engine does for the window ([`Effect::Group`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEffect {
    /// Create group `name` with `members` (besides us).
    Create {
        /// Its name.
        name: String,
        /// The first members, with the keys their sessions must prove.
        members: Vec<p2p_chat_protocol::group::Member>,
    },
    /// Post `text` (shown already, under `id`) to `group`.
    Post {
        /// The group.
        group: p2p_chat_protocol::group::GroupId,
        /// The post's id, the one on screen.
        id: MessageId,
        /// The text.
        text: String,
        /// The message it answers.
        reply_to: Option<MessageId>,
    },
    /// Change `group` (add, remove, leave, rename).
    Change {
        /// The group.
        group: p2p_chat_protocol::group::GroupId,
        /// The change.
        op: p2p_chat_protocol::group::GroupOp,
    },
}

/// What the mailbox worker does, one after another in the order given, so mail is stored in
/// the order it was deposited (the sender's order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailEffect {
    /// Seal `peer`'s undelivered messages that are not in the mailbox yet (from the store's
    /// outbox, oldest first), then its waiting group frames, to its key and leave them in the
    /// directory's mailbox.
    Deposit {
        /// The recipient.
        peer: String,
        /// The key to seal to (its pin); the directory's key when `None`.
        key: Option<PeerKey>,
    },
    /// Fetch our mailbox; each mail comes back as [`super::Action::MailArrived`].
    Fetch,
    /// Store a mailed chat message, delete the mail, and send a sealed receipt back.
    Store {
        /// The mail to delete afterwards.
        mail: p2p_chat_protocol::api::MailId,
        /// The sender.
        peer: String,
        /// The sender's key, to seal the receipt to.
        key: PeerKey,
        /// Message id.
        id: MessageId,
        /// Sender's clock, unix ms.
        sent_at_ms: u64,
        /// Text.
        text: String,
    },
    /// Record a mailed receipt (our message delivered) and delete the mail.
    StoreReceipt {
        /// The mail to delete afterwards.
        mail: p2p_chat_protocol::api::MailId,
        /// The recipient who stored our message.
        peer: String,
        /// Our message id.
        id: MessageId,
    },
    /// A mailed group frame: the group engine judges it (the runner's, which alone holds
    /// it), then [`MailEffect::Acknowledge`] follows unless the frame must wait.
    Group {
        /// The mail.
        mail: p2p_chat_protocol::api::MailId,
        /// The sender, a member.
        peer: String,
        /// The sender's key (proven by the seal).
        key: PeerKey,
        /// The frame.
        frame: p2p_chat_protocol::PeerMessage,
    },
    /// A mailed frame was taken: delete the mail and send a sealed receipt back.
    Acknowledge {
        /// The mail.
        mail: p2p_chat_protocol::api::MailId,
        /// The sender.
        peer: String,
        /// The sender's key, to seal the receipt to.
        key: PeerKey,
        /// The frame's id, for the receipt.
        id: MessageId,
    },
    /// Delete a mail without using it (it failed the key check).
    Discard {
        /// The mail.
        mail: p2p_chat_protocol::api::MailId,
    },
}

impl MailEffect {
    /// What to do with an opened mail whose sender passed the trust check: store a chat
    /// message (then delete the mail and seal a receipt back), record a receipt, hand a
    /// group frame to the group engine, or delete anything else.
    pub fn for_trusted(
        mail: p2p_chat_protocol::api::MailId,
        sender: String,
        key: PeerKey,
        message: p2p_chat_protocol::PeerMessage,
    ) -> Self {
        use p2p_chat_protocol::PeerMessage;
        match message {
            PeerMessage::Chat {
                id,
                sent_at_ms,
                text,
            } => Self::Store {
                mail,
                peer: sender,
                key,
                id,
                sent_at_ms,
                text,
            },
            PeerMessage::Receipt { id } => Self::StoreReceipt {
                mail,
                peer: sender,
                id,
            },
            frame @ (PeerMessage::GroupChange { .. }
            | PeerMessage::GroupInvite { .. }
            | PeerMessage::GroupPost { .. }) => Self::Group {
                mail,
                peer: sender,
                key,
                frame,
            },
            _ => Self::Discard { mail },
        }
    }
}
