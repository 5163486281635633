//! `App::update` for the directory's mailbox: leaving sealed messages for an offline peer,
//! and taking in what others left for us.

use p2p_chat_protocol::PeerMessage;
use p2p_chat_protocol::api::MailId;
use p2p_chat_protocol::validate;

use super::{Action, App, ChatId, Delivery, Effect, LineKind, MailEffect};
use crate::net::PeerKey;
use crate::pins::Trust;

impl App {
    /// The deposit of a chat's undelivered messages, when a directory is configured and
    /// something waits (the runner takes the messages from the store's outbox).
    pub(super) fn deposit_effect(&self, id: ChatId) -> Option<Effect> {
        self.me.directory.as_ref()?;
        let chat = self.chat(id)?;
        if chat.outbox().is_empty() {
            return None;
        }
        Some(Effect::Mail(MailEffect::Deposit {
            peer: chat.name.clone(),
            key: self.expected_key(&chat.name),
        }))
    }

    pub(super) fn on_mail_action(&mut self, action: Action) -> Vec<Effect> {
        let now = self.now();
        match action {
            Action::Deposited { peer, ids } => {
                let id = self.chat_for(&peer);
                if let Some(chat) = self.chat_mut(id) {
                    for message in &ids {
                        chat.set_delivery(*message, Delivery::Sent);
                    }
                    let text = format!(
                        "{} left sealed in the directory's mailbox; {peer} gets them at next start",
                        plural(ids.len())
                    );
                    chat.notice(now, LineKind::Info, text);
                }
                Vec::new()
            }
            Action::DepositFailed { peer, error } => {
                let id = self.chat_for(&peer);
                if let Some(chat) = self.chat_mut(id) {
                    chat.notice(
                        now,
                        LineKind::Error,
                        format!("could not leave messages in the mailbox: {error}"),
                    );
                }
                Vec::new()
            }
            Action::MailArrived {
                mail,
                sender,
                key,
                message,
            } => self.take_mail(mail, sender, key, message),
            Action::MailStored {
                peer,
                seq,
                id,
                sent_at_ms,
                text,
            } => {
                let current = self.current;
                let chat_id = self.chat_for(&peer);
                let Some(chat) = self.chat_mut(chat_id) else {
                    return Vec::new();
                };
                if !chat.receive(id, sent_at_ms, text, Some(seq)) || current == Some(chat_id) {
                    return Vec::new();
                }
                let effects = self.note_unread(chat_id, id);
                if current.is_none() {
                    self.show(chat_id);
                }
                effects
            }
            Action::DeliveredByMail { peer, id } => {
                let chat_id = self.chat_for(&peer);
                if let Some(chat) = self.chat_mut(chat_id) {
                    chat.set_delivery(id, Delivery::Delivered);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Checks a mail's sender like a session's peer: a pinned key must match; a first
    /// contact is pinned unless the directory lists another key.
    fn take_mail(
        &mut self,
        mail: MailId,
        sender: String,
        key: PeerKey,
        message: PeerMessage,
    ) -> Vec<Effect> {
        let Ok(sender) = validate::username(&sender) else {
            return vec![Effect::Mail(MailEffect::Discard { mail })];
        };
        let listed = self
            .contacts
            .iter()
            .find(|r| r.username == sender)
            .and_then(|r| validate::public_key(&r.public_key).ok());
        let mut effects = Vec::new();
        match (self.pins.check(&sender, &key), listed) {
            (Trust::Changed { .. }, _) => return self.refuse_mail(mail, &sender),
            (Trust::New, Some(listed)) if listed != key => return self.refuse_mail(mail, &sender),
            (Trust::New, _) => {
                let pin = self.pins.pin(&sender, key);
                effects.push(Effect::SavePin {
                    peer: sender.clone(),
                    pin,
                });
            }
            (Trust::Pinned | Trust::Verified, _) => {}
        }
        effects.push(Effect::Mail(match message {
            PeerMessage::Chat {
                id,
                sent_at_ms,
                text,
            } => MailEffect::Store {
                mail,
                peer: sender,
                key,
                id,
                sent_at_ms,
                text,
            },
            PeerMessage::Receipt { id } => MailEffect::StoreReceipt {
                mail,
                peer: sender,
                id,
            },
            _ => MailEffect::Discard { mail },
        }));
        effects
    }

    fn refuse_mail(&mut self, mail: MailId, sender: &str) -> Vec<Effect> {
        let now = self.now();
        let id = self.chat_for(sender);
        if let Some(chat) = self.chat_mut(id) {
            let text = format!(
                "a sealed message signed as {sender} carried another key than {sender}'s — discarded unread"
            );
            chat.notice(now, LineKind::Error, text);
        }
        vec![Effect::Mail(MailEffect::Discard { mail })]
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 message".to_owned()
    } else {
        format!("{n} messages")
    }
}
