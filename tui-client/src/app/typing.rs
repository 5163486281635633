//! Typing indicators, both ways: "bob is typing…" in the chat title for
//! [`TYPING_SHOW_MS`] after bob's last `Typing`, and ours sent at most every
//! [`TYPING_INTERVAL_MS`] while the user types a message (not a `/command`), unless
//! `typing = false` in the config. Peers that do not understand `Typing` are never sent one
//! (the session checks their features).

use p2p_chat_protocol::peer::{TYPING_INTERVAL_MS, TYPING_SHOW_MS};

use super::{App, Chat, Effect, Focus};
use crate::net::SessionId;

impl Chat {
    /// Whether the peer counts as typing at `now_ms`.
    pub fn is_typing(&self, now_ms: u64) -> bool {
        self.typing_until.is_some_and(|until| now_ms < until)
    }
}

impl App {
    /// The peer on `session` is typing: shown until [`TYPING_SHOW_MS`] from now, and a wake-up
    /// then so the indicator goes even if nothing else happens.
    pub(super) fn on_typing(&mut self, session: SessionId) -> Vec<Effect> {
        let until = self.now().saturating_add(TYPING_SHOW_MS);
        let Some(chat) = self.chat_by_session(session) else {
            return Vec::new();
        };
        chat.typing_until = Some(until);
        vec![Effect::Wake {
            after_ms: TYPING_SHOW_MS,
        }]
    }

    /// After the user edited the input: a `Typing` for the shown chat's session, when the
    /// text is a message being written and none went out in the last [`TYPING_INTERVAL_MS`].
    pub(super) fn typing_effect(&mut self) -> Option<Effect> {
        let now = self.now();
        let writing = self.focus == Focus::Input
            && self.settings.typing
            && !self.input.value().trim().is_empty()
            && !self.input.value().starts_with('/');
        if !writing {
            return None;
        }
        let id = self.current?;
        if !self.may_send(id) {
            return None;
        }
        let chat = self.chat_mut(id)?;
        let session = chat.session()?;
        if chat
            .typing_sent_ms
            .is_some_and(|at| now.saturating_sub(at) < TYPING_INTERVAL_MS)
        {
            return None;
        }
        chat.typing_sent_ms = Some(now);
        Some(Effect::SendTyping { session })
    }
}
