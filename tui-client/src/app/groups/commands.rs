//! The group commands of the window (`/group new`, `/invite`, `/remove`, `/leave`,
//! `/rename`, `/admin`, `/members`) and `/info` in a group chat.

use p2p_chat_protocol::group::rules::Group;
use p2p_chat_protocol::group::{GroupOp, Member};

use super::super::command::GroupCommand;
use super::super::effect::GroupEffect;
use super::super::{App, ChatId, Effect, Level, LineKind};
use super::left;
use crate::trust::Listed;

impl App {
    /// Carries out a group command.
    pub(in crate::app) fn group_command(&mut self, command: GroupCommand) -> Vec<Effect> {
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
    pub(super) fn shown_group(&self) -> Option<Group> {
        let id = self.current.and_then(|c| self.chat(c))?.group?;
        self.groups.iter().find(|g| g.id == id).cloned()
    }

    /// The key we hold for `name`: its pin, else the one the directory lists (the key a first
    /// contact would be pinned with).
    pub(super) fn known_key(&self, name: &str) -> Option<crate::net::PeerKey> {
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
    pub(in crate::app) fn group_info(&mut self, id: ChatId) {
        let now = self.now();
        let Some(chat) = self.chat_mut(id) else {
            return;
        };
        let own = |l: &&super::super::ChatLine| matches!(l.kind, LineKind::Own { .. });
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

/// How far a post got with one member, in words.
fn state(delivery: super::super::Delivery) -> &'static str {
    match delivery {
        super::super::Delivery::Delivered => "has it",
        super::super::Delivery::Sent => "sent, no receipt yet",
        super::super::Delivery::Queued => "waits to be sent",
        super::super::Delivery::Failed => "failed",
    }
}

fn admin(admin: bool) -> &'static str {
    if admin { ", admin" } else { "" }
}
