//! `App::update` for the directory's mailbox: leaving sealed messages for an offline peer,
//! and taking in what others left for us.

use p2p_chat_protocol::PeerMessage;
use p2p_chat_protocol::api::MailId;
use p2p_chat_protocol::validate;

use super::{Action, App, ChatId, Delivery, Effect, Level, LineKind, MailEffect, Security};
use crate::identity::fingerprint;
use crate::net::{PeerKey, RemotePeer};
use crate::trust::{Decision, Origin};

impl App {
    /// The deposit of a chat's undelivered messages and of the group frames waiting for its
    /// peer, when a directory is configured and something waits (the mailbox worker takes
    /// them from the store).
    pub(super) fn deposit_effect(&self, id: ChatId) -> Option<Effect> {
        self.me.directory.as_ref()?;
        let chat = self.chat(id)?;
        if chat.outbox().is_empty() && !self.members_waiting.contains(&chat.name) {
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

    /// Checks a mail's sender with the same rule as an incoming session's peer
    /// ([`crate::trust::decide`]): a sealed message from an impostor is discarded unread with
    /// a status-bar notice (the contact it claims to be is left alone); one whose sender's key
    /// cannot be checked yet, or changed (confirmed by the directory) and is not accepted yet,
    /// stays in the mailbox for a later fetch.
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
        let claimed = RemotePeer {
            username: sender.clone(),
            addr: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            listen_port: None,
            key,
            path: crate::net::SessionPath::default(),
        };
        let mut effects = Vec::new();
        match self.decide(&claimed, Origin::Inbound) {
            Decision::Trusted { .. } => {}
            Decision::PinNew | Decision::NewByAddress => {
                let pin = self.pins.pin(&sender, key);
                effects.push(Effect::SavePin {
                    peer: sender.clone(),
                    pin,
                });
            }
            // Judged on the contact list as last loaded: a pinned contact who just rotated
            // the key looks like an impostor until the list is fetched again. The mail waits
            // for that; the next fetch judges it anew.
            Decision::Impostor if self.pins.get(&sender).is_some() => {
                return vec![Effect::LoadContacts];
            }
            Decision::Impostor => {
                self.tell(
                    Level::Error,
                    format!(
                        "discarded a sealed message signed as {sender} with a key that is neither the one pinned nor the one the directory lists (fingerprint {})",
                        fingerprint(&key)
                    ),
                );
                return vec![Effect::Mail(MailEffect::Discard { mail })];
            }
            Decision::Changed { expected } => {
                let id = self.chat_for(&sender);
                let shown = self.chat(id).is_some_and(
                    |c| matches!(c.security, Security::Changed { offered, .. } if offered == key),
                );
                if !shown {
                    self.refuse_changed_key(id, expected, key);
                }
                return Vec::new();
            }
            Decision::Unverifiable => return Vec::new(),
        }
        effects.push(Effect::Mail(MailEffect::for_trusted(
            mail, sender, key, message,
        )));
        effects
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 message".to_owned()
    } else {
        format!("{n} messages")
    }
}
