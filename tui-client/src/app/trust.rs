//! `App::update` for keys: the trust rule ([`crate::trust`]) applied to sessions, impostor
//! notices, refusing changed keys, `/accept` and `/verify`.

use p2p_chat_protocol::validate;

use super::{App, ChatId, DialTarget, DirectoryState, Effect, Level, LineKind, Link, Security};
use crate::identity::{fingerprint, safety_number};
use crate::net::{PeerKey, RemotePeer};
use crate::trust::{Decision, Listed, Origin, decide};

/// What to do with a session whose peer proved `key`.
pub(super) enum Verdict {
    /// Use it; show the note, if any, once the session is shown as connected.
    Accept(Option<String>),
    /// Use it, but send nothing until the user accepts the key; show the question.
    Hold(String),
    /// Close it: the key is not the one we trust.
    Refuse,
}

/// Shortest time between two impostor notices about one address: 60 s.
const IMPOSTOR_NOTICE_INTERVAL_MS: u64 = 60_000;
/// Most addresses whose last impostor notice is remembered; beyond, the oldest are forgotten.
const IMPOSTOR_NOTICE_ADDRESSES: usize = 1024;

impl App {
    /// The key a peer must prove when we dial `name`: its pin.
    pub(super) fn expected_key(&self, name: &str) -> Option<PeerKey> {
        self.pins.get(name).map(|pin| pin.key)
    }

    /// What the directory lists for `name`, from the contact list it last sent: nothing
    /// without a directory, unknown while no list has arrived yet.
    pub(super) fn listed(&self, name: &str) -> Listed {
        if let Some(record) = self.contacts.iter().find(|r| r.username == name) {
            return validate::public_key(&record.public_key).map_or(Listed::Nothing, Listed::Key);
        }
        match self.directory {
            DirectoryState::Disabled | DirectoryState::Online => Listed::Nothing,
            _ if !self.contacts.is_empty() => Listed::Nothing,
            _ => Listed::Unknown,
        }
    }

    /// The trust rule ([`crate::trust::decide`]) for `peer`'s key, reached through `origin`.
    pub(super) fn decide(&self, peer: &RemotePeer, origin: Origin) -> Decision {
        decide(
            self.pins.get(&peer.username).copied(),
            self.listed(&peer.username),
            origin,
            &peer.key,
        )
    }

    /// Refuses a peer that is not who it claims to be, with a status-bar notice naming the
    /// claimed name, the address and the key's fingerprint, at most once a minute per
    /// address. No chat changes: the real contact's chat and session stay as they are. When
    /// the name is a pinned contact's, the contact list is fetched again.
    pub(super) fn refuse_impostor(&mut self, peer: &RemotePeer, decision: Decision) {
        let now = self.now();
        let ip = peer.addr.ip();
        if self
            .impostor_notices
            .get(&ip)
            .is_some_and(|last| now.saturating_sub(*last) < IMPOSTOR_NOTICE_INTERVAL_MS)
        {
            return;
        }
        if self.impostor_notices.len() >= IMPOSTOR_NOTICE_ADDRESSES {
            let oldest = self.impostor_notices.iter().min_by_key(|(_, at)| **at);
            if let Some(oldest) = oldest.map(|(ip, _)| *ip) {
                self.impostor_notices.remove(&oldest);
            }
        }
        self.impostor_notices.insert(ip, now);
        // A contact who really rotated the key is refused too while the contact list still
        // has the old key: fetch it again, so the next attempt is judged on what the
        // directory lists now (and shows the key-change warning if it confirms the new key).
        if self.pins.get(&peer.username).is_some() && self.me.directory.is_some() {
            self.emit(Effect::LoadContacts);
        }
        let why = match decision {
            Decision::Unverifiable => {
                "a first contact, and the directory cannot be asked about the name now"
            }
            _ => "its key is neither the one pinned nor the one the directory lists",
        };
        self.tell(
            Level::Error,
            format!(
                "refused a peer at {} claiming to be {}: {why} (fingerprint {})",
                peer.addr,
                peer.username,
                fingerprint(&peer.key)
            ),
        );
    }

    /// Decides about the key a peer proved in a new session of chat `id`, reached through
    /// `origin`, updating the chat's security state and the pins; pushes the effects (saving
    /// pins) to `effects`. A refusal is shown at once; notes come back in the verdict.
    pub(super) fn judge_key(
        &mut self,
        id: ChatId,
        peer: &RemotePeer,
        origin: Origin,
        effects: &mut Vec<Effect>,
    ) -> Verdict {
        let decision = self.decide(peer, origin);
        let now = self.now();
        let Some(chat) = self.chats.iter_mut().find(|c| c.id == id) else {
            return Verdict::Refuse;
        };
        let fp = fingerprint(&peer.key);
        match decision {
            Decision::Trusted { verified: true } => chat.security = Security::Verified,
            Decision::Trusted { verified: false } => chat.security = Security::Pinned,
            Decision::NewByAddress => {
                chat.security = Security::Unapproved { key: peer.key };
                return Verdict::Hold(format!(
                    "first contact with {0}: its key's fingerprint is {fp}. Check it with {0} another way (in person, by phone), then /accept to trust it — nothing is sent before that.",
                    peer.username
                ));
            }
            Decision::PinNew => {
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
            Decision::Changed { expected } => {
                self.refuse_changed_key(id, expected, peer.key);
                return Verdict::Refuse;
            }
            Decision::Impostor | Decision::Unverifiable if origin == Origin::Inbound => {
                self.refuse_impostor(peer, decision);
                return Verdict::Refuse;
            }
            Decision::Impostor | Decision::Unverifiable => {
                // We dialled this address ourselves: the answer belongs in that chat.
                let reason = format!(
                    "the peer at {} calls itself {} but its key (fingerprint {fp}) is not the one the directory lists for {} — refused",
                    peer.addr, peer.username, peer.username
                );
                chat.notice(now, LineKind::Error, reason.clone());
                chat.link = Link::Failed { reason };
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
