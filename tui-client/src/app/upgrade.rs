//! Moving a chat off the relay: tries to open a direct session for a chat whose session we
//! opened through the relay (scheduled, and at once when the peer publishes new addresses),
//! and the rule that decides which of two sessions with one peer stays.

use super::{App, ChatId, DialTarget, Effect, Link};
use crate::net::{SessionId, SessionPath};

/// Whether a chat keeps its `old` session when a `new` one with the same peer opens, each
/// given as (whether we dialled it, its path); `me` and `peer` are the two usernames.
///
/// A repeat dial by the same side replaces the old session (that side dialled again for a
/// reason: its old one went quiet, or it found a better path). Of sessions dialled by the two
/// sides, a direct one wins over a relayed one; between two of one kind (both sides dialled
/// at once), the one dialled by the smaller name. Both ends see the same directions and
/// paths, so both make the same choice.
pub fn keeps_old_session(
    me: &str,
    peer: &str,
    (old_outgoing, old_path): (bool, SessionPath),
    (new_outgoing, new_path): (bool, SessionPath),
) -> bool {
    let relayed = SessionPath::is_relayed;
    let dialer = |outgoing: bool| if outgoing { me } else { peer };
    old_outgoing != new_outgoing
        && match (relayed(old_path), relayed(new_path)) {
            (false, true) => true,
            (true, false) => false,
            _ => dialer(old_outgoing) == me.min(peer),
        }
}

impl App {
    /// The try to move chat `id`'s relayed session to a direct one, to its peer `name`,
    /// expecting the key we pinned (or the directory lists).
    pub(super) fn upgrade_effect(&self, id: ChatId, name: &str) -> Effect {
        Effect::Upgrade {
            chat: id,
            target: DialTarget::Username(name.to_owned()),
            expected: self.expected_key(name),
        }
    }

    /// A try to go direct at once ([`Effect::Upgrade`]) for each chat whose session we opened
    /// through the relay and whose peer now publishes other addresses than in `before` (a port
    /// its router forwards now, say) — rather than waiting for the next scheduled try.
    pub(super) fn upgrade_on_new_addresses(
        &self,
        before: &[p2p_chat_protocol::api::ClientRecord],
    ) -> Vec<Effect> {
        let addresses = |r: &p2p_chat_protocol::api::ClientRecord| {
            (r.host.clone(), r.port, r.candidates.clone())
        };
        self.chats
            .iter()
            .filter(|chat| match chat.link {
                Link::Connected {
                    session,
                    outgoing: true,
                    ..
                } => chat.link.is_relayed(session),
                _ => false,
            })
            .filter_map(|chat| {
                let now = self.contacts.iter().find(|r| r.username == chat.name)?;
                let then = before.iter().find(|r| r.username == chat.name)?;
                let Some(DialTarget::Username(name)) = &chat.target else {
                    return None;
                };
                (addresses(now) != addresses(then) && !now.relay_only)
                    .then(|| self.upgrade_effect(chat.id, name))
            })
            .collect()
    }

    /// A scheduled try for `chat`'s relayed `session` is due: try now and schedule the next,
    /// unless another session has replaced it since.
    pub(super) fn upgrade_due(
        &self,
        chat: ChatId,
        session: SessionId,
        attempt: u32,
    ) -> Vec<Effect> {
        match self.chat(chat) {
            Some(c) if c.link.is_relayed(session) => match &c.target {
                Some(DialTarget::Username(name)) => vec![
                    self.upgrade_effect(chat, name),
                    Effect::ScheduleUpgrade {
                        chat,
                        session,
                        attempt: attempt + 1,
                    },
                ],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}
