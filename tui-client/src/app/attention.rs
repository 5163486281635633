//! Drawing the user's attention: unread markers, the terminal bell, "bob is online" notices,
//! jumping to the next unread chat, and read receipts (both ways).

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::{App, Chat, ChatId, Effect, Focus, Level, LineKind};
use crate::config::Change;

/// Shortest gap between two bells, in ms: a burst of messages (a mailbox fetch, a peer
/// resending its outbox) rings once instead of once per message.
pub const BELL_MIN_INTERVAL_MS: u64 = 1_000;

impl Chat {
    /// Our messages up to and including `id` count as read by the peer (a `Read` says the
    /// peer has had the chat on screen up to that message).
    pub fn mark_read_by_peer(&mut self, id: MessageId) {
        let upto = self
            .lines
            .iter()
            .position(|l| matches!(l.kind, LineKind::Own { id: own, .. } if own == id));
        let Some(upto) = upto else {
            // Not loaded (or not ours): remember it for when it is.
            self.read.insert(id);
            return;
        };
        let own = self.lines[..=upto].iter().filter_map(|l| match l.kind {
            LineKind::Own { id, .. } => Some(id),
            _ => None,
        });
        self.read.extend(own);
    }

    /// Id of the newest message from the peer that is loaded.
    fn newest_from_peer(&self) -> Option<MessageId> {
        self.lines.iter().rev().find_map(|l| match l.kind {
            LineKind::Peer { id } => Some(id),
            _ => None,
        })
    }
}

impl App {
    /// Counts a message that arrived in chat `id` while it was not shown: the unread badge,
    /// the "new messages" marker, the bell and the notification.
    pub(super) fn note_unread(&mut self, id: ChatId, message: MessageId) -> Vec<Effect> {
        let Some(chat) = self.chat_mut(id) else {
            return Vec::new();
        };
        chat.unread += 1;
        chat.first_unread.get_or_insert(message);
        let name = chat.name.clone();
        let text = chat
            .lines
            .iter()
            .rev()
            .find(|l| l.id() == Some(message))
            .map(|l| l.text.clone())
            .unwrap_or_default();
        // A muted chat counts its unread messages but never calls for attention.
        if self.settings.mute.contains(&name) {
            return Vec::new();
        }
        self.call_attention(&name, &text)
    }

    /// The bell (unless turned off) and a notification (unless turned off) for a message from
    /// `from`, at most once per [`BELL_MIN_INTERVAL_MS`]. The notification names the sender;
    /// its text only with `notification_text = true`.
    fn call_attention(&mut self, from: &str, text: &str) -> Vec<Effect> {
        let now = self.now();
        let recent = self
            .last_bell_ms
            .is_some_and(|at| now.saturating_sub(at) < BELL_MIN_INTERVAL_MS);
        if recent {
            return Vec::new();
        }
        self.last_bell_ms = Some(now);
        let mut effects = Vec::new();
        if self.bell {
            effects.push(Effect::Bell);
        }
        if self.settings.notifications != crate::notify::Setting::Off {
            let body = if self.settings.notification_text {
                format!("{from}: {}", text.lines().next().unwrap_or(""))
            } else {
                format!("message from {from}")
            };
            effects.push(Effect::Notify {
                title: "p2p-chat".to_owned(),
                body,
            });
        }
        effects
    }

    /// Adds "bob is online" to the chat of every contact that was offline in `before` and is
    /// online now.
    pub(super) fn announce_online(&mut self, before: &[ClientRecord]) {
        let now = self.now();
        let back: Vec<String> = self
            .contacts
            .iter()
            .filter(|r| r.online)
            .filter(|r| before.iter().any(|b| b.username == r.username && !b.online))
            .map(|r| r.username.clone())
            .collect();
        for name in back {
            if let Some(chat) = self.chats.iter_mut().find(|c| c.name == name)
                && !matches!(chat.link, super::Link::Connected { .. })
            {
                chat.notice(now, LineKind::Info, format!("{name} is online"));
            }
        }
    }

    /// A contact's presence as the directory pushed it: the contact list follows at once, a
    /// contact coming online is announced in its chat, and messages, files and group messages
    /// waiting for it go out at once (a pending reconnect is cut short).
    pub(super) fn on_presence(&mut self, username: &str, online: bool) -> Vec<Effect> {
        let before = self.contacts.clone();
        let Some(record) = self.contacts.iter_mut().find(|r| r.username == username) else {
            return Vec::new();
        };
        record.online = online;
        self.announce_online(&before);
        if !online {
            return Vec::new();
        }
        // Waiting messages, files and group messages go out now, without waiting for the
        // reconnect backoff.
        let waits =
            self.transfer_waits(username) || self.members_waiting.iter().any(|m| m == username);
        let Some(chat) = self
            .chats
            .iter_mut()
            .find(|c| c.name == username && (waits || !c.outbox().is_empty()))
        else {
            return Vec::new();
        };
        if matches!(chat.link, super::Link::Reconnecting { .. }) {
            chat.link = super::Link::Idle;
        }
        let id = chat.id;
        self.redial_if_idle(id)
    }

    /// Shows the next chat (after the current one, in the order of `Tab`) with unread
    /// messages.
    pub(super) fn next_unread(&mut self) {
        let len = self.chats.len();
        let start = self
            .current
            .and_then(|id| self.chats.iter().position(|c| c.id == id))
            .map_or(0, |p| p + 1);
        let next = (0..len)
            .map(|i| &self.chats[(start + i) % len])
            .find(|c| c.unread > 0 && Some(c.id) != self.current)
            .map(|c| c.id);
        match next {
            Some(id) => {
                self.show(id);
                self.focus = Focus::Input;
            }
            None => self.tell(Level::Info, "no unread messages"),
        }
    }

    /// `/receipts on|off`, or without a setting, which one is in force.
    pub(super) fn set_receipts(&mut self, on: Option<bool>) {
        if let Some(on) = on {
            self.settings.read_receipts = on;
            self.emit(Effect::SaveSetting(Change::ReadReceipts(on)));
        }
        let text = if self.settings.read_receipts {
            "read receipts on: peers see ✓✓ once their messages are on your screen — /receipts off stops it"
        } else {
            "read receipts off: peers are not told when you read their messages — /receipts on sends them"
        };
        self.tell(Level::Info, text);
    }

    /// The read receipt for the shown chat when read receipts are on and its peer's newest
    /// message has not been reported yet (it arrived while shown, the chat was just opened,
    /// or its history was just loaded).
    pub(super) fn read_receipt(&mut self) -> Option<Effect> {
        let id = self.current.filter(|_| self.settings.read_receipts)?;
        if !self.may_send(id) {
            return None;
        }
        let chat = self.chat_mut(id)?;
        let session = chat.session()?;
        let newest = chat.newest_from_peer()?;
        if chat.read_sent == Some(newest) {
            return None;
        }
        chat.read_sent = Some(newest);
        Some(Effect::SendRead {
            session,
            id: newest,
        })
    }

    /// `/mute [NAME]` and `/unmute [NAME]` (default: the shown chat): a muted chat counts
    /// unread messages but never rings or notifies; the list is saved in the config file.
    pub(super) fn set_muted(&mut self, name: Option<String>, muted: bool) {
        let Some(name) = name.or_else(|| self.current_chat().map(|c| c.name.clone())) else {
            let verb = if muted { "mute" } else { "unmute" };
            return self.tell(
                Level::Error,
                format!("no chat shown: /{verb} NAME, or open the chat first"),
            );
        };
        let changed = if muted {
            self.settings.mute.insert(name.clone())
        } else {
            self.settings.mute.remove(&name)
        };
        let text = match (muted, changed) {
            (true, true) => format!(
                "{name} muted: unread messages are counted, nothing rings — /unmute {name} undoes it"
            ),
            (true, false) => format!("{name} was already muted — /unmute {name} undoes it"),
            (false, true) => format!("{name} unmuted: new messages ring again"),
            (false, false) => format!("{name} was not muted"),
        };
        if changed {
            self.emit(Effect::SaveSetting(Change::Mute(name, muted)));
        }
        self.tell(Level::Info, text);
    }
}
