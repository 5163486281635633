//! `App::update` for the local store: conversations and the outbox at start, pages of
//! history, and store failures.

use super::{App, ChatId, DialTarget, Effect, Level, PageRequest};
use crate::store::{Conversation, PAGE_SIZE, Stored};

impl App {
    /// The chat with `peer`, created (without dialling) if there is none.
    pub(super) fn chat_for(&mut self, peer: &str) -> ChatId {
        if let Some(chat) = self.chats.iter().find(|c| c.name == peer) {
            return chat.id;
        }
        // Without a directory there is no way to find the peer again: it has to dial us.
        let target = self
            .me
            .directory
            .is_some()
            .then(|| DialTarget::Username(peer.to_owned()));
        self.new_chat(peer.to_owned(), target)
    }

    /// Restores the stored conversations and resends what is still undelivered: every chat
    /// with queued messages dials its peer.
    pub(super) fn on_store_loaded(
        &mut self,
        conversations: Vec<Conversation>,
        outbox: Vec<Stored>,
    ) -> Vec<Effect> {
        let mut latest = None;
        for conversation in conversations {
            let unread = usize::try_from(conversation.unread).unwrap_or(usize::MAX);
            if crate::store::is_group_conversation(&conversation.peer) {
                // Its chat comes with the group (`Action::Groups`), which knows its name.
                self.group_unread.insert(conversation.peer, unread);
                continue;
            }
            let id = self.chat_for(&conversation.peer);
            latest = latest.or(Some(id));
            if let Some(chat) = self.chat_mut(id) {
                chat.unread = unread;
            }
        }
        // Open where the user left off: the most recent conversation.
        if let (None, Some(id)) = (self.current, latest) {
            self.show(id);
        }
        let mut waiting = Vec::new();
        for message in outbox {
            let id = self.chat_for(&message.peer);
            if let Some(chat) = self.chat_mut(id) {
                chat.restore_pending(message);
            }
            if !waiting.contains(&id) {
                waiting.push(id);
            }
        }
        self.redial_all(waiting)
    }

    /// Dials every contact the directory shows online whose chat has messages, files or group
    /// frames waiting and no link being set up (a presence change is the quickest sign a peer is
    /// back).
    pub(super) fn resend_to_online_contacts(&mut self) -> Vec<Effect> {
        let waiting: Vec<ChatId> = self
            .chats
            .iter()
            .filter(|c| {
                !c.outbox().is_empty()
                    || self.transfer_waits(&c.name)
                    || self.members_waiting.contains(&c.name)
            })
            .filter(|c| {
                self.contacts
                    .iter()
                    .any(|r| r.online && r.username == c.name)
            })
            .map(|c| c.id)
            .collect();
        self.redial_all(waiting)
    }

    /// Merges a page of history into its chat.
    pub(super) fn on_history_loaded(
        &mut self,
        id: ChatId,
        request: PageRequest,
        page: Vec<Stored>,
    ) -> Vec<Effect> {
        let current = self.current == Some(id);
        let Some(chat) = self.chat_mut(id) else {
            return Vec::new();
        };
        chat.merge_page(request, page, PAGE_SIZE as usize);
        match chat.newest_seq {
            Some(seq) if current && request == PageRequest::Newest => {
                vec![Effect::MarkRead {
                    peer: chat.store_key(),
                    seq,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Shows a store failure where the user looks.
    pub(super) fn on_store_failed(&mut self, error: String) -> Vec<Effect> {
        self.tell(
            Level::Error,
            format!(
                "{error} — the message was not saved and not sent; check the disk and try again"
            ),
        );
        Vec::new()
    }
}
