//! Group chats in the window: one chat per group we are a member of, posts with their sender,
//! the group commands, and what members' frames bring. The rules (who may do what, the
//! order of changes) are the engine's (`crate::groups`); the window only asks and shows.

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::group::rules::Group;
use p2p_chat_protocol::group::{GroupId, GroupOp, Member};

use super::command::GroupCommand;
use super::effect::GroupEffect;
use super::{App, ChatId, Effect, Level, LineKind};
use crate::groups::GroupNews;
use crate::trust::Listed;

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

    /// Carries out a group command.
    pub(super) fn group_command(&mut self, command: GroupCommand) -> Vec<Effect> {
        if let GroupCommand::New { name, members } = command {
            return match members
                .iter()
                .map(|m| self.member(m))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(members) => vec![Effect::Group(GroupEffect::Create { name, members })],
                Err(error) => {
                    self.tell(Level::Error, error);
                    Vec::new()
                }
            };
        }
        let Some(group) = self.shown_group() else {
            let text = match self.current_chat() {
                Some(chat) if chat.group.is_some() => left(&chat.name),
                _ => {
                    "that works in a group chat — open one first (/group new NAME USERS makes one)"
                        .to_owned()
                }
            };
            self.tell(Level::Error, text);
            return Vec::new();
        };
        let op = match command {
            GroupCommand::New { .. } => return Vec::new(),
            GroupCommand::Members => {
                self.show_members(&group);
                return Vec::new();
            }
            GroupCommand::Invite(user) => match self.member(&user) {
                Ok(member) => GroupOp::Add { member },
                Err(error) => {
                    self.tell(Level::Error, error);
                    return Vec::new();
                }
            },
            GroupCommand::Remove(username) => GroupOp::Remove { username },
            // The creator alone makes admins: its leaving is asked twice.
            GroupCommand::Leave
                if group.creator == self.me.name && self.leaving != Some(group.id) =>
            {
                self.leaving = Some(group.id);
                self.tell(
                    Level::Error,
                    format!(
                        "you created {}: once you leave, nobody can make admins — /leave again to leave",
                        group.name
                    ),
                );
                return Vec::new();
            }
            GroupCommand::Leave => GroupOp::Leave,
            GroupCommand::Rename(name) => GroupOp::Rename { name },
            GroupCommand::Admin(username) => GroupOp::MakeAdmin { username },
        };
        vec![Effect::Group(GroupEffect::Change {
            group: group.id,
            op,
        })]
    }

    /// The group of the shown chat, while we are a member.
    fn shown_group(&self) -> Option<Group> {
        let id = self.current.and_then(|c| self.chat(c))?.group?;
        self.groups.iter().find(|g| g.id == id).cloned()
    }

    /// The key we hold for `name`: its pin, else the one the directory lists (the key a first
    /// contact would be pinned with).
    fn known_key(&self, name: &str) -> Option<crate::net::PeerKey> {
        match (self.expected_key(name), self.listed(name)) {
            (Some(key), _) | (None, Listed::Key(key)) => Some(key),
            (None, _) => None,
        }
    }

    /// `username` as a member: the key a session with it must prove is its pinned key, or,
    /// for someone we never met, the key the directory lists (the key a first contact would
    /// be pinned with, as `p2p-chat group` takes it).
    ///
    /// # Errors
    /// A message for the user when neither is known.
    fn member(&self, username: &str) -> Result<Member, String> {
        if username == self.me.name {
            return Err("you are in every group you make — name the others".to_owned());
        }
        let key = match (self.known_key(username), self.listed(username)) {
            (Some(key), _) => key,
            (None, Listed::Unknown) => {
                return Err(format!(
                    "{username}'s key is not known yet — wait for the contact list, then try again"
                ));
            }
            (None, Listed::Nothing | Listed::Key(_)) if self.me.directory.is_some() => {
                return Err(format!(
                    "the directory lists nobody called {username} — check the name"
                ));
            }
            (None, Listed::Nothing | Listed::Key(_)) => {
                return Err(format!(
                    "{username} was never met, so its key is unknown — /connect {username} first"
                ));
            }
        };
        Ok(Member {
            username: username.to_owned(),
            key,
        })
    }

    /// `/info` in group chat `id`: who has our highlighted post (a search hit, the one a
    /// reply answers), or else our newest one.
    pub(super) fn group_info(&mut self, id: ChatId) {
        let now = self.now();
        let Some(chat) = self.chat_mut(id) else {
            return;
        };
        let own = |l: &&super::ChatLine| matches!(l.kind, LineKind::Own { .. });
        let post = chat
            .highlight
            .and_then(|h| chat.lines.iter().filter(own).find(|l| l.id() == Some(h)))
            .or_else(|| chat.lines.iter().rev().find(own));
        let text = match post.and_then(|l| Some((l, chat.group_receipts.get(&l.id()?)?))) {
            Some((line, receipts)) => {
                let each: Vec<String> = receipts
                    .iter()
                    .map(|(member, delivery)| format!("{member} {}", state(*delivery)))
                    .collect();
                let mut quoted: String = line.text.chars().take(40).collect();
                if quoted.len() < line.text.len() {
                    quoted.push('…');
                }
                format!("your post \"{quoted}\": {}", each.join(", "))
            }
            None => "no post of yours here to tell about yet".to_owned(),
        };
        chat.notice(now, LineKind::Info, text);
    }

    /// Writes the members of `group` into its chat: each with whether an admin, its key
    /// state (verified, pinned, or only the directory's) and its presence.
    fn show_members(&mut self, group: &Group) {
        let now = self.now();
        let mut lines = vec![format!(
            "{} members of {} (created by {}):",
            group.members.len(),
            group.name,
            group.creator
        )];
        for (name, standing) in &group.members {
            if *name == self.me.name {
                lines.push(format!("{name} (you){}", admin(standing.admin)));
                continue;
            }
            let key = match self.pins.get(name) {
                Some(pin) if pin.key != standing.key => "key differs from the pinned one!",
                Some(pin) if pin.verified => "key verified",
                Some(_) => "key pinned",
                None => "never met: the directory's key",
            };
            let presence = match self.contacts.iter().find(|r| r.username == *name) {
                Some(record) if record.online => "online",
                Some(_) => "offline",
                None => "presence unknown",
            };
            lines.push(format!(
                "{name}{} — {key}, {presence}",
                admin(standing.admin)
            ));
        }
        let id = self.current;
        if let Some(chat) = id.and_then(|c| self.chat_mut(c)) {
            for line in lines {
                chat.notice(now, LineKind::Info, line);
            }
        }
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

/// How far a post got with one member, in words.
fn state(delivery: super::Delivery) -> &'static str {
    match delivery {
        super::Delivery::Delivered => "has it",
        super::Delivery::Sent => "sent, no receipt yet",
        super::Delivery::Queued => "waits to be sent",
        super::Delivery::Failed => "failed",
    }
}

fn admin(admin: bool) -> &'static str {
    if admin { ", admin" } else { "" }
}
