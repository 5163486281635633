//! The effect runner: carries out `Effect`s, owns the session handles, and writes to the
//! local store before anything is sent or acknowledged.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use p2p_chat_protocol::MessageId;
use tokio::sync::mpsc;

use super::mail::Mailer;
use super::resolve::{ResolveError, Resolved, reconnect_delay, resolve};
use crate::app::{Action, ChatId, DialTarget, Effect};
use crate::net::{
    self, EventSender, LocalPeer, NetEvent, PeerKey, SessionEvent, SessionHandle, SessionId,
};
use crate::presence::Account;
use crate::store::{Delivery, LocalStore};

/// Longest wait for sessions to say goodbye when the program quits: 1 s.
const GOODBYE_GRACE: Duration = Duration::from_secs(1);

/// Carries out effects; the only owner of [`SessionHandle`]s in the interactive client.
pub struct Runner {
    account: Option<Account>,
    local: LocalPeer,
    store: LocalStore,
    sessions: HashMap<SessionId, SessionHandle>,
    /// The conversation each session's messages are stored under (set by `Effect::Bind`).
    bindings: HashMap<SessionId, String>,
    net_tx: EventSender,
    action_tx: mpsc::Sender<Action>,
}

/// Where the runner reports to.
pub struct Channels {
    /// Session events.
    pub net_tx: EventSender,
    /// Actions from background work.
    pub action_tx: mpsc::Sender<Action>,
}

impl Runner {
    /// A runner that dials as `local`, looks peers up with `account`, keeps messages in
    /// `store` (messages, pins, contacts) and reports on the
    /// channels.
    pub fn new(
        account: Option<Account>,
        local: LocalPeer,
        store: LocalStore,
        channels: Channels,
    ) -> Self {
        Self {
            account,
            local,
            store,
            sessions: HashMap::new(),
            bindings: HashMap::new(),
            net_tx: channels.net_tx,
            action_tx: channels.action_tx,
        }
    }

    /// The actions that restore the stored conversations at start.
    pub async fn restore(&self) -> Action {
        let store = &self.store;
        match tokio::try_join!(
            store.conversations(),
            store.outbox(),
            store.pins(),
            store.cached_contacts()
        ) {
            Ok((conversations, outbox, pins, contacts)) => Action::StoreLoaded {
                conversations,
                outbox,
                pins,
                contacts,
            },
            Err(e) => Action::StoreFailed(e.to_string()),
        }
    }

    /// Takes a session event: records handles, stores received messages (and only then
    /// acknowledges them), records receipts, and returns what the app should hear about.
    pub async fn adopt(&mut self, event: NetEvent) -> Option<Action> {
        let session = event.session;
        match event.event {
            SessionEvent::Opened {
                handle,
                peer,
                direction,
            } => {
                self.sessions.insert(session, handle);
                Some(Action::SessionOpened {
                    session,
                    peer,
                    direction,
                })
            }
            SessionEvent::Message {
                id,
                sent_at_ms,
                text,
            } => {
                // A session the app did not bind (refused, or closing) gets no receipt.
                let peer = self.bindings.get(&session)?.clone();
                let handle = self.sessions.get(&session)?.clone();
                match self
                    .store
                    .insert_incoming(&peer, id, sent_at_ms, &text)
                    .await
                {
                    Ok(stored) => {
                        let _ = handle.acknowledge(id).await;
                        stored.map(|seq| Action::MessageReceived {
                            session,
                            seq,
                            id,
                            sent_at_ms,
                            text,
                        })
                    }
                    Err(e) => Some(Action::StoreFailed(e.to_string())),
                }
            }
            SessionEvent::Delivered { id } => {
                let peer = self.bindings.get(&session)?.clone();
                if let Err(e) = self
                    .store
                    .set_delivery(&peer, id, Delivery::Delivered, None)
                    .await
                {
                    return Some(Action::StoreFailed(e.to_string()));
                }
                Some(Action::Delivered { session, id })
            }
            // Read state is shown, never stored: nothing to write first.
            SessionEvent::Read { id } => Some(Action::Read { session, id }),
            SessionEvent::Closed { reason } => {
                self.sessions.remove(&session);
                self.bindings.remove(&session);
                Some(Action::SessionClosed { session, reason })
            }
        }
    }

    /// Carries out effects in order. A message whose `Queue` failed is not sent.
    pub async fn run(&mut self, effects: Vec<Effect>) {
        let mut unsaved: HashSet<MessageId> = HashSet::new();
        for effect in effects {
            match effect {
                Effect::Dial {
                    chat,
                    target,
                    expected,
                } => self.dial(chat, target, expected),
                Effect::Queue {
                    peer,
                    id,
                    sent_at_ms,
                    text,
                } => {
                    if let Err(e) = self
                        .store
                        .insert_outgoing(&peer, id, sent_at_ms, &text)
                        .await
                    {
                        unsaved.insert(id);
                        self.report(Action::StoreFailed(e.to_string())).await;
                    }
                }
                Effect::Send {
                    session,
                    peer,
                    id,
                    sent_at_ms,
                    text,
                } => {
                    let Some(handle) = self
                        .sessions
                        .get(&session)
                        .filter(|_| !unsaved.contains(&id))
                    else {
                        continue;
                    };
                    // A gone session reports `Closed`; the message stays in the outbox.
                    if handle.send_chat(id, sent_at_ms, text).await.is_ok()
                        && let Err(e) = self
                            .store
                            .set_delivery(&peer, id, Delivery::Sent, None)
                            .await
                    {
                        self.report(Action::StoreFailed(e.to_string())).await;
                    }
                }
                Effect::Bind { session, peer } => {
                    self.bindings.insert(session, peer);
                }
                Effect::LoadHistory {
                    chat,
                    peer,
                    request,
                } => {
                    let (store, tx) = (self.store.clone(), self.action_tx.clone());
                    tokio::spawn(async move {
                        let size = crate::store::PAGE_SIZE;
                        let page = store.read_page(&peer, request, size).await;
                        let action = match page {
                            Ok(page) => Action::HistoryLoaded {
                                chat,
                                request,
                                page,
                            },
                            Err(e) => Action::StoreFailed(e.to_string()),
                        };
                        let _ = tx.send(action).await;
                    });
                }
                Effect::MarkRead { peer, seq } => {
                    if let Err(e) = self.store.mark_read(&peer, seq).await {
                        self.report(Action::StoreFailed(e.to_string())).await;
                    }
                }
                Effect::SavePin { peer, pin } => {
                    if let Err(e) = self.store.save_pin(&peer, &pin).await {
                        self.report(Action::StoreFailed(e.to_string())).await;
                    }
                }
                Effect::MarkFailed { peer, ids, reason } => {
                    for id in ids {
                        if let Err(e) = self
                            .store
                            .set_delivery(&peer, id, Delivery::Failed, Some(&reason))
                            .await
                        {
                            self.report(Action::StoreFailed(e.to_string())).await;
                            break;
                        }
                    }
                }
                Effect::CacheContacts(records) => {
                    // Best effort: the cache only helps the next start.
                    let _ = self.store.cache_contacts(&records).await;
                }
                Effect::CloseSession { session } => {
                    if let Some(handle) = self.sessions.get(&session) {
                        handle.close();
                    }
                }
                Effect::LoadContacts => self.load_contacts(),
                Effect::Deposit {
                    peer,
                    key,
                    messages,
                } => {
                    if let Some(mailer) = self.mailer() {
                        tokio::spawn(mailer.deposit(peer, key, messages));
                    }
                }
                Effect::FetchMail => {
                    if let Some(mailer) = self.mailer() {
                        tokio::spawn(mailer.fetch());
                    }
                }
                Effect::StoreMail {
                    mail,
                    peer,
                    key,
                    id,
                    sent_at_ms,
                    text,
                } => {
                    if let Some(mailer) = self.mailer() {
                        tokio::spawn(mailer.store(mail, peer, key, id, sent_at_ms, text));
                    }
                }
                Effect::StoreMailReceipt { mail, peer, id } => {
                    if let Some(mailer) = self.mailer() {
                        tokio::spawn(mailer.store_receipt(mail, peer, id));
                    }
                }
                Effect::DiscardMail { mail } => {
                    if let Some(mailer) = self.mailer() {
                        tokio::spawn(async move { mailer.delete(mail).await });
                    }
                }
                Effect::ScheduleReconnect { chat, attempt } => {
                    let tx = self.action_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(reconnect_delay(attempt)).await;
                        let _ = tx.send(Action::ReconnectDue { chat }).await;
                    });
                }
                Effect::SendRead { session, id } => {
                    if let Some(handle) = self.sessions.get(&session) {
                        // A gone session reports `Closed`; a lost read receipt is not resent.
                        let _ = handle.send_read(id).await;
                    }
                }
                Effect::Bell => ring_bell(),
                Effect::Quit => {}
            }
        }
    }

    /// The mailbox worker, when we have a directory account.
    fn mailer(&self) -> Option<Mailer> {
        Some(Mailer {
            account: self.account.clone()?,
            local: self.local.clone(),
            store: self.store.clone(),
            action_tx: self.action_tx.clone(),
        })
    }

    async fn report(&self, action: Action) {
        let _ = self.action_tx.send(action).await;
    }

    /// Closes every session and waits up to [`GOODBYE_GRACE`] for them to end, so peers get
    /// a goodbye instead of a broken connection.
    pub async fn shutdown(&mut self, net_rx: &mut mpsc::Receiver<NetEvent>) {
        for handle in self.sessions.values() {
            handle.close();
        }
        let _ = tokio::time::timeout(GOODBYE_GRACE, async {
            while !self.sessions.is_empty() {
                match net_rx.recv().await {
                    Some(event) => {
                        self.adopt(event).await;
                    }
                    None => return,
                }
            }
        })
        .await;
    }

    fn dial(&self, chat: ChatId, target: DialTarget, expected: Option<PeerKey>) {
        let account = self.account.clone();
        let local = self.local.clone();
        let net_tx = self.net_tx.clone();
        let action_tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match resolve(account.as_ref(), &target).await {
                Err(ResolveError::Gone(reason)) => Action::PeerGone { chat, reason },
                Err(ResolveError::Other(error)) => Action::DialFailed { chat, error },
                // The directory lists another key than the one we pinned: do not even dial.
                Ok(Resolved {
                    key: Some(listed), ..
                }) if expected.is_some_and(|pin| pin != listed) => Action::KeyChanged {
                    chat,
                    offered: listed,
                },
                Ok(Resolved { addr, key }) => {
                    let key = expected.or(key);
                    match net::dial(&addr, &local, key.as_ref(), chat.0, net_tx).await {
                        Ok(_) => return,
                        Err(e) => Action::DialFailed {
                            chat,
                            error: e.to_string(),
                        },
                    }
                }
            };
            let _ = action_tx.send(action).await;
        });
    }

    fn load_contacts(&self) {
        let Some(account) = self.account.clone() else {
            return;
        };
        let tx = self.action_tx.clone();
        tokio::spawn(async move {
            let action = match account.client.list_all(Some(&account.token)).await {
                Ok(list) => Action::ContactsLoaded(list),
                Err(e) => Action::DirectoryFailed(e.to_string()),
            };
            let _ = tx.send(action).await;
        });
    }
}

/// Rings the terminal bell: BEL on standard output, which the terminal (not the screen)
/// interprets; best effort.
fn ring_bell() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
}
