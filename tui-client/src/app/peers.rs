//! `App::update` for the peer side: opening chats, sessions coming and going, reconnects.

use crate::net::{Direction, RemotePeer, SessionId};

use super::trust::Verdict;
use super::{Action, App, ChatId, DialTarget, Effect, Focus, Level, LineKind, Link};
use crate::trust::{Decision, Origin};

impl App {
    /// Opens (or shows) the chat for `target` and dials when no session is up.
    pub(super) fn open(&mut self, target: DialTarget) -> Vec<Effect> {
        let existing = self.chats.iter().find(|c| match &target {
            DialTarget::Username(name) => c.name == *name,
            DialTarget::Addr(_) => c.target.as_ref() == Some(&target),
        });
        let id = match existing {
            Some(chat) => chat.id,
            None => self.new_chat(target.to_string(), Some(target)),
        };
        self.show(id);
        self.focus = Focus::Input;
        self.redial_if_idle(id)
    }

    /// Dials the chat's peer unless a session is up or being set up.
    /// [`App::redial_if_idle`] for each of `chats`.
    pub(super) fn redial_all(&mut self, chats: Vec<ChatId>) -> Vec<Effect> {
        chats
            .into_iter()
            .flat_map(|id| self.redial_if_idle(id))
            .collect()
    }

    pub(super) fn redial_if_idle(&mut self, id: ChatId) -> Vec<Effect> {
        let now = self.now();
        let Some(chat) = self.chat_mut(id) else {
            return Vec::new();
        };
        // A group chat has no link of its own: its members' chats dial.
        if chat.group.is_some() || !matches!(chat.link, Link::Idle | Link::Failed { .. }) {
            return Vec::new();
        }
        let Some(target) = chat.target.clone() else {
            let text = format!(
                "{} is not reachable: no address known — wait for them to connect",
                chat.name
            );
            chat.notice(now, LineKind::Error, text);
            return Vec::new();
        };
        chat.link = Link::Dialing;
        chat.notice(now, LineKind::Info, format!("connecting to {target}…"));
        vec![self.dial_effect(id, target)]
    }

    pub(super) fn on_peer_action(&mut self, action: Action) -> Vec<Effect> {
        let now = self.now();
        match action {
            Action::SessionOpened {
                session,
                peer,
                direction,
            } => self.attach(session, peer, direction),
            Action::MessageReceived {
                session,
                seq,
                id,
                sent_at_ms,
                text,
            } => {
                let current = self.current;
                let Some(chat) = self.chat_by_session(session) else {
                    return Vec::new();
                };
                if !chat.receive(id, sent_at_ms, text, Some(seq)) {
                    return Vec::new();
                }
                if current != Some(chat.id) {
                    let chat = chat.id;
                    return self.note_unread(chat, id);
                }
                vec![Effect::MarkRead {
                    peer: chat.name.clone(),
                    seq,
                }]
            }
            Action::Delivered { session, peer, id } => {
                let by_session = self.chats.iter().position(|c| c.session() == Some(session));
                let chat = by_session.or_else(|| self.chats.iter().position(|c| c.name == peer));
                if let Some(chat) = chat {
                    self.chats[chat].set_delivery(id, super::Delivery::Delivered);
                }
                Vec::new()
            }
            Action::Read { session, id } => {
                if let Some(chat) = self.chat_by_session(session) {
                    chat.mark_read_by_peer(id);
                }
                Vec::new()
            }
            Action::RoundTrip { session, rtt_ms } => {
                if let Some(chat) = self.chat_by_session(session)
                    && let Link::Connected { rtt_ms: shown, .. } = &mut chat.link
                {
                    *shown = Some(rtt_ms);
                }
                Vec::new()
            }
            Action::SessionClosed { session, reason } => self.on_closed(session, reason),
            Action::DialFailed { chat, error } => self.on_dial_failed(chat, error),
            Action::PeerGone { chat, reason } => {
                // A chat opened for a name the directory does not know, with nothing in it:
                // no chat at all, just the error.
                if self
                    .chat(chat)
                    .is_some_and(|c| c.lines.iter().all(|l| l.id().is_none()))
                {
                    self.discard_chat(chat);
                    self.tell(Level::Error, reason);
                    return Vec::new();
                }
                let Some(chat) = self.chat_mut(chat) else {
                    return Vec::new();
                };
                let ids: Vec<_> = chat.outbox().into_iter().map(|(id, _, _)| id).collect();
                for id in &ids {
                    chat.set_delivery(*id, super::Delivery::Failed);
                }
                let note = if ids.is_empty() {
                    String::new()
                } else {
                    format!(" — {} undelivered message(s) marked failed", ids.len())
                };
                chat.notice(now, LineKind::Error, format!("{reason}{note}"));
                chat.link = Link::Failed {
                    reason: reason.clone(),
                };
                if ids.is_empty() {
                    return Vec::new();
                }
                vec![Effect::MarkFailed {
                    peer: chat.name.clone(),
                    ids,
                    reason,
                }]
            }
            Action::KeyChanged { chat, offered } => {
                if let Some(pinned) = self.chat(chat).and_then(|c| self.expected_key(&c.name)) {
                    self.refuse_changed_key(chat, pinned, offered);
                }
                Vec::new()
            }
            Action::UpgradeDue {
                chat,
                session,
                attempt,
            } => self.upgrade_due(chat, session, attempt),
            Action::ReconnectDue { chat } => match self.chat(chat) {
                Some(c) if matches!(c.link, Link::Reconnecting { .. }) => match c.target.clone() {
                    Some(target) => vec![self.dial_effect(chat, target)],
                    None => Vec::new(),
                },
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn attach(
        &mut self,
        session: SessionId,
        peer: RemotePeer,
        direction: Direction,
    ) -> Vec<Effect> {
        let now = self.now();
        let outgoing = matches!(direction, Direction::Outgoing { .. });
        // An incoming peer is judged before any chat is touched: an impostor must not disturb
        // the contact whose name it claims.
        if !outgoing {
            let decision = self.decide(&peer, Origin::Inbound);
            if matches!(decision, Decision::Impostor | Decision::Unverifiable) {
                self.refuse_impostor(&peer, decision);
                return vec![Effect::CloseSession { session }];
            }
        }
        let id = match direction {
            Direction::Outgoing { request } => ChatId(request),
            Direction::Incoming => match self.chats.iter().find(|c| c.name == peer.username) {
                Some(chat) => chat.id,
                None => {
                    let target = if self.contacts.iter().any(|r| r.username == peer.username) {
                        Some(DialTarget::Username(peer.username.clone()))
                    } else {
                        peer.listen_port.map(|port| {
                            DialTarget::Addr(
                                std::net::SocketAddr::new(peer.addr.ip(), port).to_string(),
                            )
                        })
                    };
                    self.new_chat(peer.username.clone(), target)
                }
            },
        };

        let me = self.me.name.clone();
        let name_free = !self
            .chats
            .iter()
            .any(|c| c.id != id && c.name == peer.username);
        let Some(chat) = self.chat_mut(id) else {
            // The chat was closed while dialling.
            return vec![Effect::CloseSession { session }];
        };
        let mut effects = Vec::new();
        if let Link::Connected {
            session: old,
            outgoing: old_outgoing,
            path: old_path,
            ..
        } = chat.link
        {
            let (old_kind, new_kind) = ((old_outgoing, old_path), (outgoing, peer.path));
            if super::upgrade::keeps_old_session(&me, &peer.username, old_kind, new_kind) {
                return vec![Effect::CloseSession { session }];
            }
            effects.push(Effect::CloseSession { session: old });
        }
        // A chat opened by address takes the name the peer introduced itself with; one opened
        // by username keeps it (the key proved it), whatever the peer calls itself.
        let by_addr = outgoing && matches!(chat.target, Some(DialTarget::Addr(_)));
        if by_addr && name_free && chat.name != peer.username {
            chat.name = peer.username.clone();
        }
        let peer = RemotePeer {
            username: chat.name.clone(),
            ..peer
        };
        let origin = match (outgoing, by_addr) {
            (false, _) => Origin::Inbound,
            (true, true) => Origin::DialedAddress,
            (true, false) => Origin::DialedListed,
        };
        let verdict = self.judge_key(id, &peer, origin, &mut effects);
        let Some(chat) = self.chat_mut(id) else {
            return effects;
        };
        let (held, note) = match verdict {
            Verdict::Refuse => {
                effects.push(Effect::CloseSession { session });
                return effects;
            }
            Verdict::Accept(note) => (false, note.map(|text| (LineKind::Info, text))),
            Verdict::Hold(question) => (true, Some((LineKind::Error, question))),
        };
        chat.link = Link::Connected {
            session,
            outgoing,
            path: peer.path,
            remote: peer.addr,
            rtt_ms: None,
        };
        // A relayed session we opened is moved to a direct one when a later try succeeds.
        if outgoing && peer.path.is_relayed() {
            effects.push(Effect::ScheduleUpgrade {
                chat: id,
                session,
                attempt: 1,
            });
        }
        let how = match peer.path {
            crate::net::SessionPath::Direct => format!("directly, {}", peer.addr),
            crate::net::SessionPath::Relayed { .. } => {
                "through the directory's relay, encrypted end to end".to_owned()
            }
            crate::net::SessionPath::Punched => format!("directly, hole punched, {}", peer.addr),
        };
        chat.notice(
            now,
            LineKind::Info,
            format!("connected to {} ({how})", peer.username),
        );
        if let Some((kind, text)) = note {
            chat.notice(now, kind, text);
        }
        effects.push(Effect::Bind {
            session,
            peer: chat.name.clone(),
        });
        if !held {
            effects.push(Effect::Flush { session });
        }
        if !outgoing {
            self.tell(Level::Info, format!("{} connected", peer.username));
            // With nothing on screen, the peer who just arrived is what the user wants to see.
            if self.current.is_none() {
                self.show(id);
            }
        }
        effects
    }
}
