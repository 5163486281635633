//! The vocabulary of the one-way data flow: [`Action`]s in (terminal, sessions, directory,
//! store); [`super::Effect`]s go out (`effect.rs`).

use crossterm::event::{KeyEvent, MouseEvent};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::{ChatId, PageRequest};
use crate::net::{CloseReason, Direction, PeerKey, RemotePeer, SessionId};
use crate::pins::Pins;

/// Something that happened, for [`super::App::update`].
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
        /// The peer the session was bound to (its chat, should the session no longer be the
        /// chat's current one: a receipt on a session replaced by a newer one still counts).
        peer: String,
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
    /// The peer's user on `session` is typing.
    Typing {
        /// The session.
        session: SessionId,
    },
    /// A wake-up asked for with [`super::Effect::Wake`]: the time moved on.
    Tick,
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
    /// The groups we are a member of, as their logs make them: at start and after every
    /// change (ours or a member's).
    Groups(Vec<p2p_chat_protocol::group::rules::Group>),
    /// A member's post or change, stored (see [`crate::groups::GroupNews`]).
    GroupNews(crate::groups::GroupNews),
    /// We created `group` (called `name`): its chat opens.
    GroupCreated {
        /// The group.
        group: p2p_chat_protocol::group::GroupId,
        /// Its name.
        name: String,
    },
    /// Our post `id` to `group` is stored with a frame for every member: on its way.
    GroupPosted {
        /// The group.
        group: p2p_chat_protocol::group::GroupId,
        /// The post.
        id: MessageId,
    },
    /// Group frames wait for these members (sorted): the window dials those it has no
    /// session with, now and whenever the directory shows them online.
    GroupMembersWaiting(Vec<String>),
    /// How far our group post `id` got with each member it went to (sorted by member).
    GroupReceipts {
        /// The post.
        id: MessageId,
        /// `(member, delivery)` for each.
        receipts: Vec<(String, crate::store::Delivery)>,
    },
    /// One of our group actions was refused or could not be stored; `group` names its chat.
    GroupFailed {
        /// The group's chat to tell, if any (else the status bar).
        group: Option<p2p_chat_protocol::group::GroupId>,
        /// The post that was not stored, if it was one: its line is marked failed.
        post: Option<MessageId>,
        /// What went wrong, with the next step.
        error: String,
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
    /// A setting changed in the window could not be written to the config file.
    SettingNotSaved(String),
    /// The editor (`/edit`, Ctrl+X Ctrl+E) closed: the message written, or why there is none.
    Composed(Result<String, String>),
    /// The local store's hits for a `/search`, newest first.
    SearchResults {
        /// What was searched for.
        query: String,
        /// The messages found.
        hits: Vec<crate::store::Stored>,
    },
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
    /// A directory request failed: how, and the error's message.
    DirectoryFailed(crate::directory::Trouble, String),
    /// What the transfer engine reported.
    File(super::files::FileAction),
}

impl From<crate::delivery::outbound::PumpReport> for Action {
    fn from(report: crate::delivery::outbound::PumpReport) -> Self {
        use crate::delivery::outbound::PumpReport;
        match report {
            PumpReport::Sent(batch) => Self::Sent(batch),
            PumpReport::StoreFailed(error) => Self::StoreFailed(error),
            PumpReport::GroupReceipts { id, receipts } => Self::GroupReceipts { id, receipts },
        }
    }
}
