//! `App::update` for keys: pinning on first contact, refusing changed keys, `/accept` and
//! `/verify`.

use p2p_chat_protocol::validate;

use super::{App, ChatId, DialTarget, Effect, Level, LineKind, Link, Security};
use crate::identity::{fingerprint, safety_number};
use crate::net::{PeerKey, RemotePeer};
use crate::pins::Trust;

/// What to do with a session whose peer proved `key`.
pub(super) enum Verdict {
    /// Use it; show the note, if any, once the session is shown as connected.
    Accept(Option<String>),
    /// Use it, but send nothing until the user accepts the key; show the question.
    Hold(String),
    /// Close it: the key is not the one we trust.
    Refuse,
}

impl App {
    /// The key a peer must prove when we dial `name`: its pin.
    pub(super) fn expected_key(&self, name: &str) -> Option<PeerKey> {
        self.pins.get(name).map(|pin| pin.key)
    }

    /// Decides about the key a peer proved in a new session of chat `id`, updating the chat's
    /// security state and the pins; pushes the effects (saving pins) to `effects`. A refusal
    /// is shown in the chat at once; notes come back in the verdict.
    pub(super) fn judge_key(
        &mut self,
        id: ChatId,
        peer: &RemotePeer,
        by_addr: bool,
        effects: &mut Vec<Effect>,
    ) -> Verdict {
        // With no pin yet, a directory record stands in for one.
        let directory_key = self
            .contacts
            .iter()
            .find(|r| r.username == peer.username)
            .and_then(|r| validate::public_key(&r.public_key).ok());
        let trust = match (self.pins.check(&peer.username, &peer.key), directory_key) {
            (Trust::New, Some(listed)) if listed != peer.key => Trust::Changed { pinned: listed },
            (trust, _) => trust,
        };
        let Some(chat) = self.chats.iter_mut().find(|c| c.id == id) else {
            return Verdict::Refuse;
        };
        let fp = fingerprint(&peer.key);
        match trust {
            Trust::Pinned => chat.security = Security::Pinned,
            Trust::Verified => chat.security = Security::Verified,
            Trust::New if by_addr => {
                chat.security = Security::Unapproved { key: peer.key };
                return Verdict::Hold(format!(
                    "first contact with {0}: its key's fingerprint is {fp}. Check it with {0} another way (in person, by phone), then /accept to trust it — nothing is sent before that.",
                    peer.username
                ));
            }
            Trust::New => {
                chat.security = Security::New;
                let pin = self.pins.pin(&peer.username, peer.key);
                effects.push(Effect::SavePin {
                    peer: peer.username.clone(),
                    pin,
                });
                return Verdict::Accept(Some(format!(
                    "first contact with {}: key pinned (fingerprint {fp}); /verify compares safety numbers",
                    peer.username
                )));
            }
            Trust::Changed { pinned } => {
                self.refuse_changed_key(id, pinned, peer.key);
                return Verdict::Refuse;
            }
        }
        Verdict::Accept(None)
    }

    /// Blocks chat `id` because its peer offers `offered` instead of the `pinned` key.
    pub(super) fn refuse_changed_key(&mut self, id: ChatId, pinned: PeerKey, offered: PeerKey) {
        let now = self.now();
        let Some(chat) = self.chats.iter_mut().find(|c| c.id == id) else {
            return;
        };
        chat.security = Security::Changed { pinned, offered };
        let reason = format!("{}'s key changed — refused", chat.name);
        let text = format!(
            "{reason}. Known key: {}; offered now: {}. If {} really got a new key, /accept trusts it; otherwise someone may be impersonating them.",
            fingerprint(&pinned),
            fingerprint(&offered),
            chat.name
        );
        chat.notice(now, LineKind::Error, text);
        chat.link = Link::Failed { reason };
        self.key_warning = Some(id);
    }

    /// `/accept`: trusts the key the current chat's peer offers.
    pub(super) fn accept_key(&mut self) -> Vec<Effect> {
        let now = self.now();
        let Some(id) = self.current else {
            self.tell(
                Level::Error,
                "no chat open — /accept applies to the current chat",
            );
            return Vec::new();
        };
        let Some(chat) = self.chats.iter_mut().find(|c| c.id == id) else {
            return Vec::new();
        };
        let (key, redial) = match chat.security {
            Security::Unapproved { key } => (key, false),
            Security::Changed { offered, .. } => (offered, true),
            _ => {
                let name = chat.name.clone();
                self.tell(
                    Level::Info,
                    format!("there is no new key of {name} to accept"),
                );
                return Vec::new();
            }
        };
        let name = chat.name.clone();
        chat.security = Security::Pinned;
        chat.notice(
            now,
            LineKind::Info,
            format!("trusting {name}'s key {}", fingerprint(&key)),
        );
        self.key_warning = None;
        let pin = self.pins.pin(&name, key);
        let mut effects = vec![Effect::SavePin {
            peer: name.clone(),
            pin,
        }];
        let chat = self.chats.iter_mut().find(|c| c.id == id);
        match chat {
            Some(chat) if redial => {
                chat.link = Link::Idle;
                effects.extend(self.redial_if_idle(id));
            }
            Some(chat) => {
                if let Some(session) = chat.session() {
                    effects.push(Effect::Flush { session });
                }
            }
            None => {}
        }
        effects
    }

    /// `/verify`: shows the safety number; with `confirm`, marks the pinned key verified.
    pub(super) fn verify(&mut self, confirm: bool) -> Vec<Effect> {
        let now = self.now();
        let my_key = self.me.key;
        let Some(chat) = self
            .current
            .and_then(|id| self.chats.iter_mut().find(|c| c.id == id))
        else {
            self.tell(
                Level::Error,
                "no chat open — /verify applies to the current chat",
            );
            return Vec::new();
        };
        let name = chat.name.clone();
        let Some(pin) = self.pins.get(&name).copied() else {
            chat.notice(
                now,
                LineKind::Error,
                format!("no key of {name} is known yet — connect first"),
            );
            return Vec::new();
        };
        if matches!(
            chat.security,
            Security::Changed { .. } | Security::Unapproved { .. }
        ) {
            chat.notice(
                now,
                LineKind::Error,
                format!("{name}'s key is not trusted yet — /accept it first, then verify"),
            );
            return Vec::new();
        }
        if !confirm {
            let number = safety_number(&my_key, &pin.key).replace('\n', "  ");
            let text = format!(
                "safety number with {name}: {number} — if {name} sees the same digits, type /verify confirm"
            );
            chat.notice(now, LineKind::Info, text);
            return Vec::new();
        }
        if matches!(
            chat.security,
            Security::Pinned | Security::New | Security::Unknown
        ) {
            chat.security = Security::Verified;
        }
        chat.notice(
            now,
            LineKind::Info,
            format!("{name}'s key is marked verified"),
        );
        self.pins
            .verify(&name)
            .map(|pin| Effect::SavePin { peer: name, pin })
            .into_iter()
            .collect()
    }

    /// Whether chat `id` may send now (its key is not waiting for approval or refused).
    pub(super) fn may_send(&self, id: ChatId) -> bool {
        self.chat(id).is_some_and(|c| {
            !matches!(
                c.security,
                Security::Unapproved { .. } | Security::Changed { .. }
            )
        })
    }

    /// The dial effect for chat `id`, with the key its peer must prove.
    pub(super) fn dial_effect(&self, id: ChatId, target: DialTarget) -> Effect {
        let name = match &target {
            DialTarget::Username(name) => name.clone(),
            DialTarget::Addr(_) => self.chat(id).map(|c| c.name.clone()).unwrap_or_default(),
        };
        Effect::Dial {
            chat: id,
            target,
            expected: self.expected_key(&name),
        }
    }
}
