//! The vocabulary of the one-way data flow: [`Action`]s in (terminal, sessions, directory,
//! store), [`Effect`]s out (for the runner to carry out).

use crossterm::event::{KeyEvent, MouseEvent};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::{ChatId, DialTarget, PageRequest};
use crate::net::{CloseReason, Direction, PeerKey, RemotePeer, SessionId};
use crate::pins::{Pin, Pins};

/// Something that happened, for [`App::update`].
#[derive(Debug)]
pub enum Action {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event (the wheel scrolls the chat).
    Mouse(MouseEvent),
    /// Text pasted into the terminal.
    Paste(String),
    /// The terminal was resized to `width` x `height` cells.
    Resize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
    /// A session finished its handshake.
    SessionOpened {
        /// The session.
        session: SessionId,
        /// Who is at the other end.
        peer: RemotePeer,
        /// Who dialled; `Outgoing { request }` carries the dialling chat's id.
        direction: Direction,
    },
    /// A chat message arrived on a session and was stored.
    MessageReceived {
        /// The session.
        session: SessionId,
        /// Its position in the local store.
        seq: i64,
        /// Message id.
        id: MessageId,
        /// Sender's clock, unix ms.
        sent_at_ms: u64,
        /// Text.
        text: String,
    },
    /// The peer acknowledged one of our messages.
    Delivered {
        /// The session.
        session: SessionId,
        /// Our message id.
        id: MessageId,
    },
    /// The peer's user has read our message `id` and those before it (a read receipt).
    Read {
        /// The session.
        session: SessionId,
        /// Our message id.
        id: MessageId,
    },
    /// A session's round trip was measured.
    RoundTrip {
        /// The session.
        session: SessionId,
        /// Ping to pong, in milliseconds.
        rtt_ms: u32,
    },
    /// A session ended.
    SessionClosed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// Dialling for a chat failed.
    DialFailed {
        /// The chat that asked.
        chat: ChatId,
        /// What went wrong, ready to show.
        error: String,
    },
    /// The directory offers another key for a chat's peer than the pinned one; nothing was
    /// dialled.
    KeyChanged {
        /// The chat.
        chat: ChatId,
        /// The key the directory offers.
        offered: PeerKey,
    },
    /// The directory no longer knows a chat's peer: what waits for it cannot be delivered.
    PeerGone {
        /// The chat.
        chat: ChatId,
        /// The directory's answer, for the user.
        reason: String,
    },
    /// A scheduled reconnect of a chat is due.
    ReconnectDue {
        /// The chat.
        chat: ChatId,
    },
    /// A scheduled try to move a chat's relayed session to a direct one is due.
    UpgradeDue {
        /// The chat.
        chat: ChatId,
        /// The relayed session it was scheduled for (a later session makes it stale).
        session: SessionId,
        /// 1-based attempt number.
        attempt: u32,
    },
    /// The local store's conversations and undelivered messages, read at start.
    StoreLoaded {
        /// Every stored conversation with its unread count.
        conversations: Vec<crate::store::Conversation>,
        /// Our messages not yet delivered, oldest first.
        outbox: Vec<crate::store::Stored>,
        /// The pinned keys.
        pins: Pins,
        /// The contact list cached at the last run.
        contacts: Vec<ClientRecord>,
    },
    /// A page of a chat's stored history.
    HistoryLoaded {
        /// The chat.
        chat: ChatId,
        /// Which page it is.
        request: PageRequest,
        /// The messages, oldest first.
        page: Vec<crate::store::Stored>,
    },
    /// The local store failed; the message says what could not be saved or read.
    StoreFailed(String),
    /// A session's outbox pump handed these messages to the session.
    Sent(crate::delivery::outbound::SentBatch),
    /// Our queued messages to `peer` were sealed and left in the directory's mailbox.
    Deposited {
        /// The recipient.
        peer: String,
        /// The messages now marked sent.
        ids: Vec<MessageId>,
    },
    /// Leaving messages in the mailbox failed.
    DepositFailed {
        /// The recipient.
        peer: String,
        /// What went wrong.
        error: String,
    },
    /// A sealed mail was fetched from our mailbox and opened.
    MailArrived {
        /// Its mailbox id, to delete it once handled.
        mail: p2p_chat_protocol::api::MailId,
        /// The username the sender claims.
        sender: String,
        /// The identity key the seal proves.
        key: PeerKey,
        /// A chat message or a receipt.
        message: p2p_chat_protocol::PeerMessage,
    },
    /// A chat message from the mailbox was stored (and its mail deleted).
    MailStored {
        /// The sender.
        peer: String,
        /// Its position in the local store.
        seq: i64,
        /// Message id.
        id: MessageId,
        /// Sender's clock, unix ms.
        sent_at_ms: u64,
        /// Text.
        text: String,
    },
    /// A receipt from the mailbox marked one of our messages delivered.
    DeliveredByMail {
        /// The recipient who stored it.
        peer: String,
        /// Our message id.
        id: MessageId,
    },
    /// The directory answered with the full contact list.
    ContactsLoaded(Vec<ClientRecord>),
    /// A directory request succeeded (for example a heartbeat).
    DirectoryOk,
    /// The directory pushed that a user came online or went offline (signaling).
    Presence {
        /// The user.
        username: String,
        /// Whether it is online now.
        online: bool,
    },
    /// The directory pushed that mail arrived for us (signaling): fetch it now.
    MailNotice,
    /// The signaling connection (re)opened: what it could not push meanwhile is fetched.
    SignalingOpened {
        /// `HOST:PORT` the directory sees it come from.
        observed: Option<String>,
    },
    /// Our router's port mapping changed: the public `HOST:PORT` it forwards to us and the
    /// protocol that made it ("PCP", "NAT-PMP", "UPnP-IGD"), or `None` when there is none (see
    /// [`crate::portmap`]).
    PortMapped(Option<(String, &'static str)>),
    /// A directory request failed.
    DirectoryFailed(String),
}

/// Work for the runtime; results come back as [`Action`]s.
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
    /// Fetch the contact list from the directory.
    LoadContacts,
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
    /// Send [`Action::ReconnectDue`] after the backoff delay for `attempt`.
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
    /// Report [`Action::UpgradeDue`] after `relay::upgrade_delay(attempt)`.
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

impl From<crate::delivery::outbound::PumpReport> for Action {
    fn from(report: crate::delivery::outbound::PumpReport) -> Self {
        use crate::delivery::outbound::PumpReport;
        match report {
            PumpReport::Sent(batch) => Self::Sent(batch),
            PumpReport::StoreFailed(error) => Self::StoreFailed(error),
        }
    }
}

/// What the mailbox worker does, one after another in the order given, so mail is stored in
/// the order it was deposited (the sender's order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailEffect {
    /// Seal `peer`'s undelivered messages that are not in the mailbox yet (from the store's
    /// outbox, oldest first) to its key and leave them in the directory's mailbox.
    Deposit {
        /// The recipient.
        peer: String,
        /// The key to seal to (its pin); the directory's key when `None`.
        key: Option<PeerKey>,
    },
    /// Fetch our mailbox; each mail comes back as [`Action::MailArrived`].
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
    /// Delete a mail without using it (it failed the key check).
    Discard {
        /// The mail.
        mail: p2p_chat_protocol::api::MailId,
    },
}

impl MailEffect {
    /// What to do with an opened mail whose sender passed the trust check: store a chat
    /// message (then delete the mail and seal a receipt back), record a receipt, or delete
    /// anything else.
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
            _ => Self::Discard { mail },
        }
    }
}
