//! Group chats in the window: one chat per group we are a member of, posts with their sender,
//! the group commands, and what members' frames bring. The rules (who may do what, the
//! order of changes) are the engine's (`crate::groups`); the window only asks and shows.

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::group::GroupId;
use p2p_chat_protocol::group::rules::Group;

use super::effect::GroupEffect;
use super::{App, ChatId, Effect, Level, LineKind};
use crate::groups::GroupNews;

mod commands;

impl App {
    /// How a conversation of the store (its `peer` key) is named on screen: a group's by
    /// its chat (`#team`), anyone else's by the peer's name.
    pub fn conversation_name(&self, key: &str) -> String {
        self.chats
            .iter()
            .find(|c| c.group.is_some() && c.store_key() == key)
            .map_or_else(|| key.to_owned(), |c| c.name.clone())
    }

    /// The chat of group `id`, made (named after group `name`) if there is none yet.
    pub(super) fn group_chat(&mut self, id: GroupId, name: &str) -> ChatId {
        if let Some(chat) = self.chats.iter().find(|c| c.group == Some(id)) {
            return chat.id;
        }
        let chat = self.new_chat(chat_name(name), None);
        let unread = self
            .group_unread
            .remove(&crate::store::conversation_key(id))
            .unwrap_or(0);
        if let Some(c) = self.chat_mut(chat) {
            c.group = Some(id);
            c.unread = unread;
        }
        chat
    }

    /// The engine's groups (at start, after every change): each gets its chat, named as the
    /// group is now. A chat whose group is gone (we left, or were removed) stays, with its
    /// history, and says so.
    pub(super) fn on_groups(&mut self, groups: Vec<Group>) -> Vec<Effect> {
        let now = self.now();
        for group in &groups {
            let chat = self.group_chat(group.id, &group.name);
            // Two of our groups may share a name (another member's group): the end of the id
            // (its random part; the start is a time) tells their chats apart.
            let shared = groups
                .iter()
                .any(|g| g.id != group.id && g.name == group.name);
            let name = if shared {
                let id = group.id.to_string();
                format!("{} ({})", chat_name(&group.name), &id[id.len() - 8..])
            } else {
                chat_name(&group.name)
            };
            if let Some(chat) = self.chat_mut(chat) {
                chat.name = name;
            }
        }
        for chat in &mut self.chats {
            let Some(id) = chat.group else { continue };
            let was = self.groups.iter().any(|g| g.id == id);
            if was && !groups.iter().any(|g| g.id == id) {
                chat.notice(
                    now,
                    LineKind::Info,
                    "you are no longer a member of this group",
                );
            }
        }
        self.groups = groups;
        self.warn_of_key_mismatches();
        Vec::new()
    }

    /// Warns, in the group's chat and in the member's own chat, about every member whose key
    /// in a group differs from the one we hold for that name (our pin, else the directory's):
    /// its posts are refused unless its sessions prove the group's key. Each mismatch is
    /// told once per run.
    pub(super) fn warn_of_key_mismatches(&mut self) {
        let now = self.now();
        let mut found = Vec::new();
        for group in &self.groups {
            for (name, standing) in &group.members {
                let Some(ours) = self.known_key(name) else {
                    continue;
                };
                if ours != standing.key && self.key_warnings.insert((group.id, standing.key)) {
                    found.push((group.id, group.name.clone(), name.clone()));
                }
            }
        }
        for (id, group, name) in found {
            let text = format!(
                "{group} holds another key for {name} than the one you have (compare with \
                 /verify in {name}'s chat): {name}'s posts there are refused until the keys \
                 agree — an admin removes {name} and adds them again, or you /accept a new key \
                 of {name}'s"
            );
            if let Some(chat) = self.chats.iter_mut().find(|c| c.group == Some(id)) {
                chat.notice(now, LineKind::Error, text.clone());
            }
            let chat = self.chat_for(&name);
            if let Some(chat) = self.chat_mut(chat) {
                chat.notice(now, LineKind::Error, text);
            }
        }
    }

    /// We created `group`: its chat opens, ready for the first post.
    pub(super) fn on_group_created(&mut self, group: GroupId, name: &str) -> Vec<Effect> {
        // Its notice ("you created …") is in the store: showing the chat loads it.
        let chat = self.group_chat(group, name);
        self.show(chat);
        self.focus = super::Focus::Input;
        Vec::new()
    }

    /// A member's post or change, already stored.
    pub(super) fn on_group_news(&mut self, news: GroupNews) -> Vec<Effect> {
        match news {
            GroupNews::Post {
                group,
                name,
                sender,
                id,
                sent_at_ms,
                text,
                seq,
            } => {
                let chat = self.group_chat(group, &name);
                let current = self.current == Some(chat);
                let Some(c) = self.chat_mut(chat) else {
                    return Vec::new();
                };
                if !c.receive_post(sender, id, sent_at_ms, text, seq) {
                    return Vec::new();
                }
                if current {
                    vec![Effect::MarkRead {
                        peer: c.store_key(),
                        seq,
                    }]
                } else {
                    self.note_unread(chat, id)
                }
            }
            GroupNews::Changed {
                group,
                name,
                words,
                seq,
            } => {
                let now = self.now();
                let chat = self.group_chat(group, &name);
                let shown = self.current == Some(chat);
                if let Some(c) = self.chat_mut(chat) {
                    c.stored_notice(now, words, seq);
                    // News for the contact list and Alt+A (an invitation, say).
                    if !shown {
                        c.unread += 1;
                    }
                }
                // With no conversation on screen (none, or only the notices of a member's
                // session that came to carry the group's frames), the group is shown.
                if !shown && self.nothing_said_on_screen() {
                    self.show(chat);
                }
                Vec::new()
            }
        }
    }

    /// Group frames wait for `members`: each one without a session is dialled (when a
    /// directory can find it); the others' pumps are sending already.
    pub(super) fn on_members_waiting(&mut self, members: Vec<String>) -> Vec<Effect> {
        self.members_waiting = members;
        if self.me.directory.is_none() {
            return Vec::new();
        }
        let others: Vec<String> = (self.members_waiting.iter())
            .filter(|m| **m != self.me.name)
            .cloned()
            .collect();
        let chats: Vec<ChatId> = others.iter().map(|m| self.chat_for(m)).collect();
        self.redial_all(chats)
    }

    /// Whether the shown chat (if any) is a one-to-one chat with no message in it.
    fn nothing_said_on_screen(&self) -> bool {
        self.current_chat()
            .is_none_or(|c| c.group.is_none() && c.lines.iter().all(|l| l.id().is_none()))
    }

    /// A group action of ours that did not happen.
    pub(super) fn on_group_failed(
        &mut self,
        group: Option<GroupId>,
        post: Option<MessageId>,
        error: String,
    ) -> Vec<Effect> {
        let now = self.now();
        match group.and_then(|g| self.chats.iter_mut().find(|c| c.group == Some(g))) {
            Some(chat) => {
                if let Some(post) = post {
                    chat.set_delivery(post, super::Delivery::Failed);
                }
                chat.notice(now, LineKind::Error, error);
            }
            None => self.tell(Level::Error, error),
        }
        Vec::new()
    }

    /// Posts `text` to the shown group chat `chat` (of group `group`): on screen at once as
    /// waiting, stored and queued for every member by the engine.
    pub(super) fn post_to_group(
        &mut self,
        chat: ChatId,
        group: GroupId,
        text: String,
        reply_to: Option<MessageId>,
    ) -> Vec<Effect> {
        if !self.groups.iter().any(|g| g.id == group) {
            let name = self.chat(chat).map(|c| c.name.clone()).unwrap_or_default();
            // Kept in the input line: nothing typed is lost.
            self.input.input = tui_input::Input::new(text);
            self.tell(Level::Error, format!("{} — nothing was sent", left(&name)));
            return Vec::new();
        }
        let now = self.now();
        let id = MessageId::new();
        if let Some(c) = self.chat_mut(chat) {
            c.send(id, now, text.clone());
            c.scroll = 0;
            c.first_unread = None;
        }
        vec![Effect::Group(GroupEffect::Post {
            group,
            id,
            text,
            reply_to,
        })]
    }
}

/// A group chat's name: `#` and the group's name, as IRC names channels. No username starts
/// with `#`, so a group never takes a peer's chat.
fn chat_name(group: &str) -> String {
    format!("#{group}")
}

/// What the window says in the chat of a group we are no longer in.
fn left(chat: &str) -> String {
    format!("you are no longer a member of {chat} — /close removes its chat")
}
