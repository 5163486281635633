//! `App::update` for terminal input, commands and directory results.

use crossterm::event::MouseEventKind;
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;
use p2p_chat_protocol::peer::MAX_TEXT_BYTES;
use tui_input::{Input, InputRequest};

use super::command::{self, SlashCommand};
use super::{Action, App, Chat, ChatId, DirectoryState, Effect, Focus, Level, Link, MailEffect};

/// Messages the mouse wheel scrolls per notch.
const WHEEL_LINES: usize = 3;

impl App {
    /// Applies one action and returns the work it asks for. The only place state changes.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.now_ms = self.now();
        if self.notice_expires_ms.is_some_and(|at| self.now_ms >= at) {
            self.notice = None;
            self.notice_expires_ms = None;
        }
        let mut effects = self.dispatch(action);
        effects.append(&mut self.emitted);
        // Whatever put a new message from the peer on screen, a read receipt may be due.
        effects.extend(self.read_receipt());
        effects
    }

    fn dispatch(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(key) => self.on_key(key),
            Action::Mouse(mouse) => {
                match mouse.kind {
                    MouseEventKind::ScrollUp => self.scroll_by(WHEEL_LINES as isize),
                    MouseEventKind::ScrollDown => self.scroll_by(-(WHEEL_LINES as isize)),
                    _ => {}
                }
                Vec::new()
            }
            Action::Paste(text) => {
                self.focus = Focus::Input;
                self.completion = None;
                // A paste keeps its lines (whatever their line ends); other control
                // characters could move the cursor or recolour the screen: spaces.
                let text = text.replace("\r\n", "\n").replace('\r', "\n");
                for c in text.chars() {
                    let c = if c.is_control() && c != '\n' { ' ' } else { c };
                    self.input.edit(InputRequest::InsertChar(c));
                }
                self.typing_effect().into_iter().collect()
            }
            Action::Resize { width, height } => {
                self.viewport = (width, height);
                Vec::new()
            }
            Action::ContactsLoaded(mut records) => {
                records.retain(|r| r.username != self.me.name);
                records.sort_by(|a, b| a.username.cmp(&b.username));
                let before = std::mem::replace(&mut self.contacts, records);
                self.announce_online(&before);
                self.directory_answered();
                self.cursor = self.cursor.min(self.entries().len().saturating_sub(1));
                // The directory's keys are known now: group members never met are checked.
                self.warn_of_key_mismatches();
                // Every contact-list refresh (about every 20 s) also looks for mail, and the list
                // is kept for the next start.
                let mut effects = self.resend_to_online_contacts();
                effects.extend(self.upgrade_on_new_addresses(&before));
                effects.extend(self.refresh_from_store());
                effects.push(Effect::Mail(MailEffect::Fetch));
                effects.push(Effect::CacheContacts(self.contacts.clone()));
                effects
            }
            Action::DirectoryOk => {
                self.directory_answered();
                Vec::new()
            }
            Action::Presence { username, online } => self.on_presence(&username, online),
            Action::MailNotice => vec![Effect::Mail(MailEffect::Fetch)],
            Action::File(action) => self.on_file_action(action),
            // Presence and mail pushed while it was closed are missed: catch up (the contact
            // list's arrival fetches the mailbox too).
            Action::SignalingOpened { observed } => {
                self.reach.observed = observed;
                vec![Effect::LoadContacts]
            }
            Action::PortMapped(mapped) => {
                self.reach.mapped = mapped;
                Vec::new()
            }
            Action::DirectoryFailed(trouble, error) => {
                self.tell(Level::Error, error.clone());
                self.directory = DirectoryState::Failed(trouble, error);
                Vec::new()
            }
            Action::Groups(groups) => self.on_groups(groups),
            Action::GroupNews(news) => self.on_group_news(news),
            Action::GroupCreated { group, name } => self.on_group_created(group, &name),
            Action::GroupMembersWaiting(members) => self.on_members_waiting(members),
            Action::GroupReceipts { id, receipts } => {
                let own =
                    |c: &&mut Chat| c.group.is_some() && c.lines.iter().any(|l| l.id() == Some(id));
                if let Some(chat) = self.chats.iter_mut().find(own) {
                    chat.group_receipts.insert(id, receipts);
                }
                Vec::new()
            }
            Action::GroupPosted { group, id } => {
                if let Some(chat) = self.chats.iter_mut().find(|c| c.group == Some(group)) {
                    chat.set_delivery(id, super::Delivery::Sent);
                }
                Vec::new()
            }
            Action::GroupFailed { group, post, error } => self.on_group_failed(group, post, error),
            Action::StoreLoaded {
                conversations,
                outbox,
                pins,
                contacts,
            } => {
                self.pins = pins;
                // Until the directory answers, the contacts of the last run stand in, shown
                // as offline.
                if self.contacts.is_empty() {
                    self.contacts = contacts
                        .into_iter()
                        .map(|r| ClientRecord { online: false, ..r })
                        .collect();
                }
                self.on_store_loaded(conversations, outbox)
            }
            Action::HistoryLoaded {
                chat,
                request,
                page,
            } => self.on_history_loaded(chat, request, page),
            Action::StoreFailed(error) => self.on_store_failed(error),
            Action::Typing { session } => self.on_typing(session),
            Action::Tick => self.poll_files(),
            Action::SearchResults { query, hits } => {
                self.on_search_results(query, hits);
                Vec::new()
            }
            Action::Composed(Ok(text)) => {
                self.focus = Focus::Input;
                self.input.input = tui_input::Input::new(text.trim_end().to_owned());
                self.tell(Level::Info, "Enter sends it; Ctrl+U clears a line");
                Vec::new()
            }
            Action::Composed(Err(error)) => {
                self.tell(Level::Error, format!("{error} — the draft is kept"));
                Vec::new()
            }
            Action::SettingNotSaved(error) => {
                self.tell(
                    Level::Error,
                    format!("setting not saved, it lasts for this run only: {error}"),
                );
                Vec::new()
            }
            Action::Sent(batch) => {
                if let Some(chat) = self.chats.iter_mut().find(|c| c.name == batch.peer) {
                    for id in batch.ids {
                        chat.set_delivery(id, super::Delivery::Sent);
                    }
                }
                Vec::new()
            }
            action @ (Action::Deposited { .. }
            | Action::DepositFailed { .. }
            | Action::MailArrived { .. }
            | Action::MailStored { .. }
            | Action::DeliveredByMail { .. }) => self.on_mail_action(action),
            other => self.on_peer_action(other),
        }
    }

    pub(super) fn submit(&mut self) -> Vec<Effect> {
        let line = self.input.take();
        let text = line.trim_end();
        if text.trim().is_empty() {
            return Vec::new();
        }
        if text.starts_with('/') {
            return match command::parse(text) {
                Ok(cmd) => self.run_command(cmd),
                Err(message) => {
                    self.input.input = Input::new(line);
                    self.tell(Level::Error, message);
                    Vec::new()
                }
            };
        }
        // The peer clears "typing" when the message arrives: the next keys say it again.
        if let Some(chat) = self.current.and_then(|id| self.chat_mut(id)) {
            chat.typing_sent_ms = None;
        }
        self.send_text(line)
    }

    pub(crate) fn run_command(&mut self, cmd: SlashCommand) -> Vec<Effect> {
        match cmd {
            SlashCommand::Help => self.show_help = true,
            SlashCommand::Quit => return self.quit(),
            SlashCommand::Connect(target) => return self.open(target),
            SlashCommand::Contacts if self.me.directory.is_none() => {
                self.tell(
                    Level::Error,
                    "no directory configured — register with `p2p-chat register`",
                );
            }
            SlashCommand::Contacts => return vec![Effect::LoadContacts],
            SlashCommand::Close => return self.close_current(),
            SlashCommand::Accept => return self.accept_key(),
            SlashCommand::Verify { confirm } => return self.verify(confirm),
            SlashCommand::Receipts(on) => self.set_receipts(on),
            SlashCommand::Mute(name, muted) => self.set_muted(name, muted),
            SlashCommand::Search(query) => return self.start_search(query),
            SlashCommand::Reply(text) => return self.start_reply(text),
            SlashCommand::Edit => {
                return vec![Effect::Compose {
                    draft: String::new(),
                }];
            }
            SlashCommand::Info => self.info(),
            SlashCommand::SendFile(path) => return self.send_file(path),
            SlashCommand::File(answer) => return self.answer_file(answer),
            SlashCommand::Group(command) => return self.group_command(command),
        }
        Vec::new()
    }

    /// The directory answered: it is online again, and the error notice it left in the
    /// status bar, if still shown, goes.
    fn directory_answered(&mut self) {
        if let DirectoryState::Failed(_, error) = &self.directory
            && matches!(&self.notice, Some((Level::Error, text)) if text == error)
        {
            self.notice = None;
        }
        self.directory = DirectoryState::Online;
    }

    /// Removes chat `id`; when it was shown, the next one (or the contact list) is.
    pub(super) fn discard_chat(&mut self, id: ChatId) -> Option<Chat> {
        let pos = self.chats.iter().position(|c| c.id == id)?;
        let chat = self.chats.remove(pos);
        if self.current == Some(id) {
            self.current = self
                .chats
                .get(pos.min(self.chats.len().saturating_sub(1)))
                .map(|c| c.id);
            if let Some(next) = self.current {
                self.show(next);
            } else {
                self.focus = Focus::Contacts;
            }
        }
        Some(chat)
    }

    fn close_current(&mut self) -> Vec<Effect> {
        let Some(id) = self.current else {
            self.tell(Level::Info, "no chat is open");
            return Vec::new();
        };
        let Some(chat) = self.discard_chat(id) else {
            return Vec::new();
        };
        self.tell(Level::Info, format!("closed the chat with {}", chat.name));
        chat.session()
            .map(|session| Effect::CloseSession { session })
            .into_iter()
            .collect()
    }

    pub(super) fn send_text(&mut self, text: String) -> Vec<Effect> {
        let (text, reply_to) = self.take_reply(text);
        // The search hit has served (as the reply's target, or not at all).
        if let Some(chat) = self.current.and_then(|id| self.chat_mut(id)) {
            chat.highlight = None;
        }
        if text.len() > MAX_TEXT_BYTES {
            let message = format!(
                "message too long ({} bytes, at most {MAX_TEXT_BYTES}) — shorten it",
                text.len()
            );
            self.input.input = Input::new(text);
            self.tell(Level::Error, message);
            return Vec::new();
        }
        let now = self.now();
        let Some(chat) = self
            .current
            .and_then(|id| self.chats.iter_mut().find(|c| c.id == id))
        else {
            self.input.input = Input::new(text);
            self.tell(
                Level::Error,
                "no chat open — pick a contact and press Enter, or /connect NAME",
            );
            return Vec::new();
        };
        if let Some(group) = chat.group {
            let chat = chat.id;
            return self.post_to_group(chat, group, text, reply_to);
        }
        // Written to the outbox first; only then may it go out.
        let id = MessageId::new();
        let queue = Effect::Queue {
            peer: chat.name.clone(),
            id,
            sent_at_ms: now,
            text: text.clone(),
            reply_to,
        };
        chat.send(id, now, text);
        chat.scroll = 0;
        // Answering means the new messages have been read.
        chat.first_unread = None;
        let (chat_id, link) = (chat.id, chat.link.clone());
        let mut effects = vec![queue];
        if !self.may_send(chat_id) {
            self.tell(
                Level::Error,
                "the message waits: this peer's key needs /accept (see the chat)",
            );
            return effects;
        }
        match link {
            // The session's outbox pump sends it once the store has it (after `Queue`).
            Link::Connected { .. } | Link::Dialing | Link::Reconnecting { .. } => {}
            Link::Idle | Link::Failed { .. } => effects.extend(self.redial_if_idle(chat_id)),
        }
        effects
    }
}
