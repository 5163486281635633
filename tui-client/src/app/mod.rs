//! Client state and the one function that changes it.
//!
//! Terminal input, session events and directory results all arrive as an [`Action`];
//! [`App::update`] applies it and returns the [`Effect`]s (dial, send, HTTP) for the runtime to
//! carry out. Rendering (`crate::ui`) only reads an `App`.

mod action;
mod attention;
pub mod chat;
pub mod command;
pub mod complete;
mod effect;
mod entries;
pub mod files;
mod groups;
mod history;
mod info;
pub mod input;
mod keyboard;
pub mod keys;
mod mail;
mod peers;
mod reconnect;
pub mod reply;
pub mod search;
mod trust;
mod typing;
mod update;
mod upgrade;
mod window;

#[cfg(test)]
mod tests;

use p2p_chat_protocol::api::ClientRecord;

use crate::net::{PeerKey, SessionId};
use crate::pins::Pins;
pub use crate::store::PageRequest;
pub use action::Action;
pub use chat::{Chat, ChatId, ChatLine, Delivery, DialTarget, LineKind, Link, Security};
pub use effect::{Effect, GroupEffect, MailEffect};
use input::InputLine;
pub use window::MAX_LOADED_LINES;

/// Reconnect attempts after a link breaks before the chat is marked failed.
pub const MAX_RECONNECT_ATTEMPTS: u32 = 5;

/// Who and where we are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    /// Our username (or `--name`).
    pub name: String,
    /// The address our listener is bound to.
    pub listen: String,
    /// The directory URL, if one is configured.
    pub directory: Option<String>,
    /// Our identity public key.
    pub key: PeerKey,
}

/// What we last heard from the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryState {
    /// No directory configured (for example `connect --ip`).
    Disabled,
    /// Not heard from yet.
    Connecting,
    /// The last request succeeded.
    Online,
    /// The last request failed: how, and the error's message.
    Failed(crate::directory::Trouble, String),
}

/// Which pane receives keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The contact list on the left.
    Contacts,
    /// The input line at the bottom.
    Input,
}

/// Severity of a status-bar notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Something failed.
    Error,
}

/// Presence of a contact, from the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Heartbeat within the directory's presence window.
    Online,
    /// No recent heartbeat.
    Offline,
    /// Not in the directory (a peer reached by address).
    Unknown,
    /// A group chat (its members each have their own presence: `/members`).
    Group,
}

/// One row of the contact list (derived from contacts and chats, never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Peer name.
    pub name: String,
    /// Presence.
    pub presence: Presence,
    /// Unread messages in its chat.
    pub unread: usize,
    /// Its chat, if open.
    pub chat: Option<ChatId>,
    /// The directory's last heartbeat from it, unix ms; `None` when unknown.
    pub last_seen_ms: Option<u64>,
}

/// Where we can be reached besides our listening address (`/info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reach {
    /// `HOST:PORT` the directory sees our signaling connection come from.
    pub observed: Option<String>,
    /// The public `HOST:PORT` our router forwards to us (a port mapping).
    pub mapped: Option<(String, &'static str)>,
}

/// How long an informational status-bar notice stays: 10 s.
pub const INFO_NOTICE_MS: u64 = 10_000;

/// The whole client state.
#[derive(Debug)]
pub struct App {
    /// Who we are.
    pub me: Me,
    /// Directory health.
    pub directory: DirectoryState,
    /// Directory records of everyone but us, sorted by username.
    pub contacts: Vec<ClientRecord>,
    /// Open chats, in the order they were opened.
    pub chats: Vec<Chat>,
    /// The chat shown on the right.
    pub current: Option<ChatId>,
    /// Highlighted row of the contact list.
    pub cursor: usize,
    /// Which pane gets keys.
    pub focus: Focus,
    /// Contact filter text; `Some` while a filter is set.
    pub filter: Option<String>,
    /// Whether keys currently go to the filter.
    pub filtering: bool,
    /// The input line.
    pub input: InputLine,
    /// Whether the help overlay is shown.
    pub show_help: bool,
    /// Rows the help overlay is scrolled down (when it does not fit the terminal).
    pub help_scroll: u16,
    /// The first key of a two-key sequence (`Ctrl+X` of `Ctrl+X Ctrl+E`), once pressed.
    pub pending_key: Option<keys::KeyPress>,
    /// The Tab completion in progress, if the last key was Tab.
    pub completion: Option<complete::Completion>,
    /// The `/search` in progress: its hits are listed and keys move between them.
    pub search: Option<search::Search>,
    /// The reply being written (`/reply`): the next message sent answers it.
    pub replying: Option<reply::Replying>,
    /// File transfers of this run, oldest first.
    pub files: Vec<files::FileView>,
    /// When progress of moving transfers is next asked for, unix ms.
    file_poll_at_ms: Option<u64>,
    /// A chat whose peer's key changed: its blocking warning is shown.
    pub key_warning: Option<ChatId>,
    /// Pinned peer keys.
    pub pins: Pins,
    /// The groups we are a member of, as the group engine last reported them.
    pub groups: Vec<p2p_chat_protocol::group::rules::Group>,
    /// Unread counts of group conversations read at start, until their group's chat is made
    /// (by [`crate::store::conversation_key`]).
    pub group_unread: std::collections::HashMap<String, usize>,
    /// Group keys of members already warned about as differing from ours: `(group, key)`.
    pub key_warnings: std::collections::HashSet<(p2p_chat_protocol::group::GroupId, [u8; 32])>,
    /// The group whose creator (us) asked to leave once: a second `/leave` leaves.
    pub leaving: Option<p2p_chat_protocol::group::GroupId>,
    /// Members that group frames wait for (see [`Action::GroupMembersWaiting`]).
    pub members_waiting: Vec<String>,
    /// Latest status-bar notice.
    pub notice: Option<(Level, String)>,
    /// Terminal size, columns x rows.
    pub viewport: (u16, u16),
    /// Offset of local time from UTC at a unix-ms time, in seconds, for timestamps and date
    /// separators: [`crate::clock::local_utc_offset_secs`] in the chat window (each date gets
    /// its own offset, so a daylight-saving change is shown right); UTC by default.
    pub utc_offset: fn(i64) -> i32,
    /// Set when the program should exit.
    pub quit: bool,
    /// The clock's time when the current action arrived, unix ms; rendering computes "last
    /// seen 5 min ago" from it.
    pub now_ms: u64,
    /// Whether a message in a chat that is not shown rings the terminal bell.
    pub bell: bool,
    /// The user's settings for the window (read receipts, mutes, timestamps, colours);
    /// `/receipts` and `/mute` change them and ask for them to be saved.
    pub settings: crate::config::WindowSettings,
    /// Where we can be reached, as far as we know (shown by `/info`).
    pub reach: Reach,
    /// When the status-bar notice goes by itself, unix ms (see `App::tell`).
    notice_expires_ms: Option<u64>,
    /// When the bell last rang, unix ms.
    last_bell_ms: Option<u64>,
    /// When each address last got an impostor notice, unix ms (rate limit).
    impostor_notices: std::collections::HashMap<std::net::IpAddr, u64>,
    clock: fn() -> u64,
    next_chat: u64,
    /// Effects produced by helpers (showing a chat loads its history); drained by `update`.
    emitted: Vec<Effect>,
}

impl App {
    /// A fresh state; `clock` returns the current unix time in ms (tests pass a fixed one).
    pub fn new(me: Me, clock: fn() -> u64) -> Self {
        let directory = if me.directory.is_some() {
            DirectoryState::Connecting
        } else {
            DirectoryState::Disabled
        };
        Self {
            me,
            directory,
            contacts: Vec::new(),
            chats: Vec::new(),
            current: None,
            cursor: 0,
            focus: Focus::Contacts,
            filter: None,
            filtering: false,
            input: InputLine::default(),
            show_help: false,
            help_scroll: 0,
            pending_key: None,
            completion: None,
            search: None,
            replying: None,
            files: Vec::new(),
            file_poll_at_ms: None,
            key_warning: None,
            pins: Pins::default(),
            groups: Vec::new(),
            group_unread: std::collections::HashMap::new(),
            key_warnings: std::collections::HashSet::new(),
            leaving: None,
            members_waiting: Vec::new(),
            notice: None,
            viewport: (80, 24),
            utc_offset: |_| 0,
            quit: false,
            now_ms: clock(),
            bell: true,
            settings: crate::config::WindowSettings::default(),
            reach: Reach::default(),
            notice_expires_ms: None,
            last_bell_ms: None,
            impostor_notices: std::collections::HashMap::new(),
            clock,
            next_chat: 1,
            emitted: Vec::new(),
        }
    }

    /// The chat shown on the right, if any.
    pub fn current_chat(&self) -> Option<&Chat> {
        self.current.and_then(|id| self.chat(id))
    }

    /// The chat with this id.
    pub fn chat(&self, id: ChatId) -> Option<&Chat> {
        self.chats.iter().find(|c| c.id == id)
    }

    fn chat_mut(&mut self, id: ChatId) -> Option<&mut Chat> {
        self.chats.iter_mut().find(|c| c.id == id)
    }

    fn chat_by_session(&mut self, session: SessionId) -> Option<&mut Chat> {
        self.chats.iter_mut().find(|c| c.session() == Some(session))
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }

    /// Sets the status-bar notice.
    /// Shows a notice in the status bar. An error stays until the user presses a key; an
    /// information goes by itself after [`INFO_NOTICE_MS`], so it never outlives the state
    /// it described ("bob connected" after bob left).
    fn tell(&mut self, level: Level, text: impl Into<String>) {
        self.notice_expires_ms = match level {
            Level::Info => Some(self.now().saturating_add(INFO_NOTICE_MS)),
            Level::Error => None,
        };
        self.notice = Some((level, text.into()));
    }

    fn new_chat(&mut self, name: String, target: Option<DialTarget>) -> ChatId {
        let id = ChatId(self.next_chat);
        self.next_chat += 1;
        self.chats.push(Chat::new(id, name, target));
        id
    }

    /// Queues an effect for the end of the current `update`.
    fn emit(&mut self, effect: Effect) {
        self.emitted.push(effect);
    }

    /// Shows a chat, clears its unread count, moves its read marker and loads its history.
    fn show(&mut self, id: ChatId) {
        // The chat being left has been seen: its "new messages" marker goes.
        if let Some(left) = self.current.filter(|c| *c != id)
            && let Some(chat) = self.chat_mut(left)
        {
            chat.first_unread = None;
            chat.highlight = None;
        }
        self.current = Some(id);
        let mut effects = Vec::new();
        if let Some(chat) = self.chat_mut(id) {
            if let Some(seq) = chat.newest_seq {
                effects.push(Effect::MarkRead {
                    peer: chat.store_key(),
                    seq,
                });
            }
            if !chat.history.requested {
                // Unread messages from before this run: the marker goes above them once the
                // newest page is in.
                chat.history.unread_at_open = std::mem::take(&mut chat.unread);
                chat.history.requested = true;
                chat.history.loading = true;
                effects.push(Effect::LoadHistory {
                    chat: id,
                    peer: chat.store_key(),
                    request: PageRequest::Newest,
                });
            }
        }
        if let Some(chat) = self.chat_mut(id) {
            chat.unread = 0;
        }
        self.emitted.extend(effects);
        if let Some(pos) = self.entries().iter().position(|e| e.chat == Some(id)) {
            self.cursor = pos;
        }
    }
}
