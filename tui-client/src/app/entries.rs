//! The contact list as the window shows it: directory contacts with their presence, then the
//! chats with peers not in the directory and the group chats.

use super::{App, Entry, Link, Presence};

impl App {
    /// The contact list as shown: directory contacts, then chats with peers not in the
    /// directory; filtered by [`App::filter`].
    pub fn entries(&self) -> Vec<Entry> {
        let unread = |name: &str| {
            let chat = self.chats.iter().find(|c| c.name == name);
            (chat.map(|c| c.id), chat.map_or(0, |c| c.unread))
        };
        let contacts = self.contacts.iter().map(|record| {
            let (chat, unread) = unread(&record.username);
            // A contact we have a session with is online, whatever the last reload said.
            let connected = chat
                .and_then(|id| self.chat(id))
                .is_some_and(|c| matches!(c.link, Link::Connected { .. }));
            let presence = if record.online || connected {
                Presence::Online
            } else {
                Presence::Offline
            };
            Entry {
                name: record.username.clone(),
                presence,
                unread,
                chat,
                // A directory that never heard from it reports the epoch: unknown.
                last_seen_ms: u64::try_from(record.last_seen.timestamp_millis())
                    .ok()
                    .filter(|ms| *ms > 0),
            }
        });
        let others = self
            .chats
            .iter()
            .filter(|c| !self.contacts.iter().any(|r| r.username == c.name))
            .map(|c| Entry {
                name: c.name.clone(),
                presence: if c.group.is_some() {
                    Presence::Group
                } else {
                    Presence::Unknown
                },
                unread: c.unread,
                chat: Some(c.id),
                last_seen_ms: None,
            });
        let filter = self.filter.as_deref().unwrap_or("").to_lowercase();
        contacts
            .chain(others)
            .filter(|e| e.name.to_lowercase().contains(&filter))
            .collect()
    }
}
