//! When a link fails: a dial that did not get through, a session that ended. What waits for
//! the peer keeps it being retried, and goes to the mailbox meanwhile.

use super::{App, ChatId, Effect, LineKind, Link, MAX_RECONNECT_ATTEMPTS};
use crate::net::{CloseReason, SessionId};

impl App {
    /// Dialling chat `chat` failed with `error`: while messages, files or group messages wait
    /// for its peer, it is retried with backoff (and what waits goes to the mailbox too);
    /// otherwise the chat says what went wrong and how to retry.
    pub(super) fn on_dial_failed(&mut self, chat: ChatId, error: String) -> Vec<Effect> {
        let now = self.now();
        let files_wait = self
            .chat(chat)
            .is_some_and(|c| self.transfer_waits(&c.name));
        let group_waits = self
            .chat(chat)
            .is_some_and(|c| self.members_waiting.contains(&c.name));
        let Some(chat) = self.chat_mut(chat) else {
            return Vec::new();
        };
        let pending = chat.outbox().len();
        let attempt = match (&chat.link, pending) {
            // While messages, files or group messages wait, retrying never stops (the
            // delay is capped).
            (Link::Reconnecting { attempt }, _)
                if *attempt < MAX_RECONNECT_ATTEMPTS
                    || pending > 0
                    || files_wait
                    || group_waits =>
            {
                *attempt
            }
            (Link::Dialing, 1..) => {
                let text = format!(
                    "{error} — {pending} message(s) wait: they go out as soon as {} is reachable",
                    chat.name
                );
                chat.notice(now, LineKind::Error, text);
                0
            }
            (Link::Dialing, 0) if group_waits => {
                let text = format!(
                    "{error} — group messages for {0} wait in the directory's mailbox and go out directly as soon as {0} is reachable",
                    chat.name
                );
                chat.notice(now, LineKind::Error, text);
                0
            }
            (Link::Dialing, 0) if files_wait => {
                let text = format!(
                    "{error} — the file transfer goes on as soon as {} is reachable",
                    chat.name
                );
                chat.notice(now, LineKind::Error, text);
                0
            }
            _ => {
                let stop = if error.ends_with(['?', '.', '!']) {
                    ""
                } else {
                    "."
                };
                chat.notice(
                    now,
                    LineKind::Error,
                    format!("{error}{stop} Send a message or /connect to retry."),
                );
                chat.link = Link::Failed { reason: error };
                return Vec::new();
            }
        };
        chat.link = Link::Reconnecting {
            attempt: attempt + 1,
        };
        let chat_id = chat.id;
        let mut effects = vec![Effect::ScheduleReconnect {
            chat: chat_id,
            attempt: attempt + 1,
        }];
        // Unreachable: what is still queued goes to the mailbox too (a direct session
        // later resends it anyway; the receiver keeps one copy).
        effects.extend(self.deposit_effect(chat_id));
        effects
    }

    pub(super) fn on_closed(&mut self, session: SessionId, reason: CloseReason) -> Vec<Effect> {
        let now = self.now();
        let Some(chat) = self.chat_by_session(session) else {
            return Vec::new();
        };
        if reason.is_recoverable() && chat.target.is_some() {
            chat.link = Link::Reconnecting { attempt: 1 };
            chat.notice(now, LineKind::Error, format!("{reason} — reconnecting"));
            return vec![Effect::ScheduleReconnect {
                chat: chat.id,
                attempt: 1,
            }];
        }
        chat.link = Link::Idle;
        match reason {
            CloseReason::Local => Vec::new(),
            CloseReason::PeerLeft { reason } => {
                let text = if reason.is_empty() {
                    format!("{} left", chat.name)
                } else {
                    format!("{} left: {reason}", chat.name)
                };
                chat.notice(now, LineKind::Info, text);
                // A contact who quit has just told the directory: show it offline now rather
                // than at the next reload.
                let name = chat.name.clone();
                if self.contacts.iter().any(|r| r.username == name) {
                    vec![Effect::LoadContacts]
                } else {
                    Vec::new()
                }
            }
            other => {
                chat.notice(now, LineKind::Error, other.to_string());
                Vec::new()
            }
        }
    }
}
