//! The effect runner: carries out `Effect`s, owns the session handles, and writes to the
//! local store before anything is sent or acknowledged.
//!
//! It never waits on a session or on its own action channel (the loop that calls it drains
//! both): receipts return at once, each session's outbox pump sends in a task of its own, and
//! what the runner itself has to report is kept for the loop in [`Runner::take_reports`].

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use super::resolve::reconnect_delay;

mod background;
mod files;
mod groups;
mod sessions;
mod shutdown;
mod window;
use crate::app::{Action, Effect, MailEffect};
use crate::delivery::mail::Mailer;
use crate::delivery::outbound::Pump;
use crate::net::{EventSender, LocalPeer, SessionHandle, SessionId};
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
    /// The outbox pump of each session that may send (`Effect::Flush`).
    pumps: HashMap<SessionId, Pump>,
    /// The mailbox worker: one task that takes mail in order (so mail is stored in the
    /// sender's order), started on first use.
    mail: Option<mpsc::UnboundedSender<MailEffect>>,
    /// What the runner has to tell the app, for the loop to take.
    reports: Vec<Action>,
    net_tx: EventSender,
    action_tx: mpsc::Sender<Action>,
    /// The presence loops (heartbeats, signaling), stopped before we sign off.
    presence: Vec<tokio::task::JoinHandle<()>>,
    /// Our port mapping, removed when we quit.
    pub port_mapper: Option<crate::portmap::PortMapper>,
    /// `--relay-only`: no address is dialled (`/connect --ip` is refused).
    pub relay_only: bool,
    /// The config file that settings changed in the window go to; `None`: not saved.
    pub config_path: Option<std::path::PathBuf>,
    /// Shows notifications; `None` shows none (tests).
    pub notifier: Option<crate::notify::Notifier>,
    /// File transfers.
    files: crate::transfer::Transfers,
    /// Groups; `None` when the store could not read them (their frames then wait).
    pub groups: Option<crate::groups::Groups>,
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
        let rules = crate::transfer::policy::Rules {
            accept_into: None,
            download_dir: crate::config::download_dir(),
            auto_accept_bytes: 0,
        };
        let (files, file_reports) = crate::transfer::Transfers::new(store.clone(), rules);
        let runner = Self {
            account,
            local,
            store,
            sessions: HashMap::new(),
            bindings: HashMap::new(),
            pumps: HashMap::new(),
            mail: None,
            reports: Vec::new(),
            net_tx: channels.net_tx,
            action_tx: channels.action_tx,
            presence: Vec::new(),
            port_mapper: None,
            relay_only: false,
            config_path: None,
            notifier: None,
            files,
            groups: None,
        };
        runner.forward_file_reports(file_reports);
        runner
    }

    /// Hands over a presence loop (heartbeats or signaling), so that [`Runner::shutdown`]
    /// stops it before signing off.
    pub fn keep_presence(&mut self, task: tokio::task::JoinHandle<()>) {
        self.presence.push(task);
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

    /// What the runner had to report while carrying out effects (store failures), for the
    /// loop to hand to the app.
    pub fn take_reports(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.reports)
    }

    /// Carries out effects in order. A message whose `Queue` failed is not in the outbox, so
    /// no pump sends it.
    pub async fn run(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Dial {
                    chat,
                    target,
                    expected,
                } => self.dial(chat, target, expected, crate::relay::Ways::All),
                Effect::Upgrade {
                    chat,
                    target,
                    expected,
                } => self.dial(chat, target, expected, crate::relay::Ways::DirectOnly),
                Effect::ScheduleUpgrade {
                    chat,
                    session,
                    attempt,
                } => {
                    let tx = self.action_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(crate::relay::upgrade_delay(attempt)).await;
                        let due = Action::UpgradeDue {
                            chat,
                            session,
                            attempt,
                        };
                        let _ = tx.send(due).await;
                    });
                }
                Effect::Queue {
                    peer,
                    id,
                    sent_at_ms,
                    text,
                    reply_to,
                } => match self
                    .store
                    .insert_outgoing_reply(&peer, id, sent_at_ms, &text, reply_to)
                    .await
                {
                    Ok(_) => self
                        .pumps
                        .values()
                        .filter(|pump| pump.peer() == peer)
                        .for_each(Pump::wake),
                    Err(e) => self.report(Action::StoreFailed(e.to_string())),
                },
                Effect::Flush { session } => {
                    let (Some(handle), Some(peer)) = (
                        self.sessions.get(&session).cloned(),
                        self.bindings.get(&session).cloned(),
                    ) else {
                        continue;
                    };
                    if !self.pumps.contains_key(&session) {
                        // Approved for sending (not held for a key decision): files too.
                        self.files_bound(session, &peer).await;
                        if !handle.takes_groups() {
                            self.older_release(&peer).await;
                        }
                        let pump = Pump::start(
                            self.store.clone(),
                            peer,
                            handle,
                            Some(self.action_tx.clone()),
                        );
                        self.pumps.insert(session, pump);
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
                        // Our posts in a group's page come with how far each got.
                        let posts: Vec<_> = match &page {
                            Ok(page) if crate::store::is_group_conversation(&peer) => {
                                page.iter().filter(|m| m.outgoing).map(|m| m.id).collect()
                            }
                            _ => Vec::new(),
                        };
                        let action = match page {
                            Ok(page) => Action::HistoryLoaded {
                                chat,
                                request,
                                page,
                            },
                            Err(e) => Action::StoreFailed(e.to_string()),
                        };
                        let _ = tx.send(action).await;
                        for receipts in crate::delivery::group_receipts(&store, posts).await {
                            let _ = tx.send(receipts).await;
                        }
                    });
                }
                Effect::MarkRead { peer, seq } => {
                    if let Err(e) = self.store.mark_read(&peer, seq).await {
                        self.report(Action::StoreFailed(e.to_string()));
                    }
                }
                Effect::SavePin { peer, pin } => {
                    if let Err(e) = self.store.save_pin(&peer, &pin).await {
                        self.report(Action::StoreFailed(e.to_string()));
                    }
                }
                Effect::MarkFailed { peer, ids, reason } => {
                    for id in ids {
                        if let Err(e) = self
                            .store
                            .set_delivery(&peer, id, Delivery::Failed, Some(&reason))
                            .await
                        {
                            self.report(Action::StoreFailed(e.to_string()));
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
                Effect::SaveSetting(change) => self.save_setting(&change),
                Effect::Mail(MailEffect::Group {
                    mail,
                    peer,
                    key,
                    frame,
                }) => self.mailed_group_frame(mail, peer, key, frame).await,
                Effect::Mail(job) => self.mail(job),
                Effect::Group(effect) => self.group(effect).await,
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
                        let _ = handle.send_read(id);
                    }
                }
                Effect::Bell => window::ring_bell(),
                Effect::File(effect) => self.file(effect).await,
                Effect::SendTyping { session } => {
                    if let Some(handle) = self.sessions.get(&session) {
                        let _ = handle.send_typing();
                    }
                }
                Effect::Wake { after_ms } => self.wake_after(after_ms),
                Effect::Notify { title, body } => {
                    if let Some(notifier) = &self.notifier {
                        notifier.show(title, body);
                    }
                }
                Effect::Search { query } => self.search(query).await,
                // The event loop gives the terminal to these before the runner sees effects.
                Effect::Redraw | Effect::Compose { .. } => {}
                Effect::Quit => {}
            }
        }
    }

    /// Hands a job to the mailbox worker (started on first use), when we have a directory
    /// account. The queue is unbounded but short: a fetch brings one page of mail.
    fn mail(&mut self, job: MailEffect) {
        if self.mail.is_none() {
            let Some(account) = self.account.clone() else {
                return;
            };
            let mailer = Mailer {
                account,
                local: self.local.clone(),
                store: self.store.clone(),
                action_tx: self.action_tx.clone(),
            };
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(mailer.work(rx));
            self.mail = Some(tx);
        }
        if let Some(mail) = &self.mail {
            let _ = mail.send(job);
        }
    }

    fn report(&mut self, action: Action) {
        self.reports.push(action);
    }
}
