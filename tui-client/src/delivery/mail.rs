//! The mailbox side of delivery, for the chat window's runner, `send` and `listen`: sealing
//! and depositing, fetching and opening, storing before deleting. One worker task takes the
//! jobs in order, so its owner never waits on HTTP and mail is stored in the order it was
//! deposited (the sender's order). Whether a mail's sender is trusted is the owner's call
//! ([`crate::trust::decide`]), between [`Action::MailArrived`] and the job it answers with.
//! A fetch that runs before that answer (two fetches were queued) does not report the same
//! mail again ([`ANSWER_WITHIN`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use p2p_chat_protocol::api::MailId;
use p2p_chat_protocol::sealed::{self, Mail};
use p2p_chat_protocol::{MessageId, PeerMessage, validate};
use tokio::sync::mpsc;

use crate::app::{Action, MailEffect};
use crate::directory::DirectoryError;
use crate::net::{LocalPeer, PeerKey};
use crate::presence::Account;
use crate::store::LocalStore;

/// How long a reported mail waits for its answer (stored, receipt recorded or discarded)
/// before a fetch reports it again: 60 s. An owner that never answers (it quit, say) gets it
/// again on a later fetch; one that answers in time never sees it twice.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// What a mailed group frame brought, from [`take_group_mail`].
#[derive(Debug)]
pub struct GroupMail {
    /// The job that deletes the mail and seals the receipt back; `None` when the frame must
    /// wait (the mail stays for a later fetch).
    pub answer: Option<MailEffect>,
    /// What to show or print.
    pub news: Vec<crate::groups::GroupNews>,
    /// Whether the frame queued frames for members (forwarded changes): wake the pumps.
    pub queued: bool,
}

/// Judges a group frame that came by mail from `peer` (whose `key` the seal proved) with
/// `groups`, as one from a session is judged: the chat window and `listen` both take group
/// mail here.
///
/// # Errors
/// When the store cannot write; the mail then stays for a later fetch.
pub async fn take_group_mail(
    groups: &mut crate::groups::Groups,
    mail: MailId,
    peer: String,
    key: PeerKey,
    frame: PeerMessage,
) -> Result<GroupMail, crate::store::StoreError> {
    use crate::groups::Received;
    let queued = groups.queued();
    let (id, news) = match groups.receive(&peer, &key, frame).await? {
        Received::Ack { id, news } => (Some(id), news),
        Received::Refuse { id, reason } => {
            tracing::info!(%peer, %reason, "refused a mailed group frame");
            (Some(id), Vec::new())
        }
        Received::Hold => (None, Vec::new()),
    };
    Ok(GroupMail {
        answer: id.map(|id| MailEffect::Acknowledge {
            mail,
            peer,
            key,
            id,
        }),
        news,
        queued: groups.queued() != queued,
    })
}

/// What the mailbox tasks need: our account and identity, the store, and where to report.
#[derive(Clone)]
pub struct Mailer {
    /// Our directory account.
    pub account: Account,
    /// Our name and identity key.
    pub local: LocalPeer,
    /// History and outbox.
    pub store: LocalStore,
    /// Where results go.
    pub action_tx: mpsc::Sender<Action>,
}

impl Mailer {
    /// Takes jobs one after another until the runner is gone.
    pub async fn work(self, mut jobs: mpsc::UnboundedReceiver<MailEffect>) {
        // Mail reported and not answered yet, with when it was reported.
        let mut reported: HashMap<MailId, Instant> = HashMap::new();
        while let Some(job) = jobs.recv().await {
            match job {
                MailEffect::Deposit { peer, key } => self.deposit(peer, key).await,
                MailEffect::Fetch => self.fetch(&mut reported).await,
                MailEffect::Store {
                    mail,
                    peer,
                    key,
                    id,
                    sent_at_ms,
                    text,
                } => {
                    reported.remove(&mail);
                    self.store(mail, peer, key, id, sent_at_ms, text).await;
                }
                MailEffect::StoreReceipt { mail, peer, id } => {
                    reported.remove(&mail);
                    self.store_receipt(mail, peer, id).await;
                }
                MailEffect::Acknowledge {
                    mail,
                    peer,
                    key,
                    id,
                } => {
                    reported.remove(&mail);
                    self.acknowledge(mail, &peer, &key, id).await;
                }
                MailEffect::Discard { mail } => {
                    reported.remove(&mail);
                    self.delete(mail).await;
                }
                // The owner judges group frames with its engine; it answers with
                // `Acknowledge` (or leaves the mail for a later fetch).
                MailEffect::Group { .. } => {}
            }
        }
    }

    async fn report(&self, action: Action) {
        let _ = self.action_tx.send(action).await;
    }

    /// Seals `message` from us to `key`.
    fn seal(&self, key: &PeerKey, message: PeerMessage) -> Result<Vec<u8>, String> {
        let mail = Mail {
            sender: self.local.username.clone(),
            message,
        };
        sealed::seal(self.local.identity.secret(), key, &mail).map_err(|e| e.to_string())
    }

    /// The key to seal to: the pin, else the directory's.
    async fn key_of(&self, peer: &str, pinned: Option<PeerKey>) -> Result<PeerKey, String> {
        if let Some(key) = pinned {
            return Ok(key);
        }
        let record = self
            .account
            .client
            .lookup(peer)
            .await
            .map_err(|e| e.to_string())?;
        validate::public_key(&record.public_key)
            .map_err(|_| format!("the directory lists no key for {peer}"))
    }

    /// Seals and deposits `peer`'s undelivered messages that are not in the mailbox yet,
    /// oldest first, then its waiting group frames, marking each deposited once it is there;
    /// stops at the first failure so the mailbox never holds a later message without the
    /// earlier ones.
    async fn deposit(&self, peer: String, pinned: Option<PeerKey>) {
        let waiting = tokio::try_join!(
            self.store.undeposited(&peer),
            self.store.group_undeposited(&peer)
        );
        let (messages, frames) = match waiting {
            Ok((messages, frames)) if messages.is_empty() && frames.is_empty() => return,
            Ok(waiting) => waiting,
            Err(e) => return self.report(Action::StoreFailed(e.to_string())).await,
        };
        let key = match self.key_of(&peer, pinned).await {
            Ok(key) => key,
            Err(error) => return self.report(Action::DepositFailed { peer, error }).await,
        };
        let mut ids = Vec::new();
        let mut failure = None;
        for message in messages {
            let id = message.id;
            let chat = PeerMessage::Chat {
                id,
                sent_at_ms: message.sent_at_ms,
                text: message.text,
            };
            if let Err(e) = self.deposit_one(&peer, &key, chat).await {
                failure = Some(e);
                break;
            }
            if let Err(e) = self.store.mark_deposited(&peer, id).await {
                failure = Some(e.to_string());
                break;
            }
            ids.push(id);
        }
        let mut group_ids = Vec::new();
        for (id, frame) in frames.into_iter().take_while(|_| failure.is_none()) {
            if let Err(e) = self.deposit_one(&peer, &key, frame).await {
                failure = Some(e);
                break;
            }
            if let Err(e) = self.store.mark_group_deposited(&peer, id).await {
                failure = Some(e.to_string());
                break;
            }
            group_ids.push(id);
        }
        if !ids.is_empty() {
            self.report(Action::Deposited {
                peer: peer.clone(),
                ids,
            })
            .await;
        }
        for action in super::group_receipts(&self.store, group_ids).await {
            self.report(action).await;
        }
        if let Some(error) = failure {
            self.report(Action::DepositFailed { peer, error }).await;
        }
    }

    /// Seals `message` to `key` and leaves it in `peer`'s mailbox.
    async fn deposit_one(
        &self,
        peer: &str,
        key: &PeerKey,
        message: PeerMessage,
    ) -> Result<(), String> {
        let bytes = self.seal(key, message)?;
        self.account
            .client
            .deposit(peer, &self.account.token, &bytes)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Fetches our mailbox and reports every mail that opens, unless it was `reported` within
    /// [`ANSWER_WITHIN`] and not answered yet; mail that does not open (not for us, damaged)
    /// is deleted.
    async fn fetch(&self, reported: &mut HashMap<MailId, Instant>) {
        let items = match self.account.client.fetch_mailbox(&self.account.token).await {
            Ok(items) => items,
            Err(e) => {
                return self
                    .report(Action::DirectoryFailed(e.trouble(), e.to_string()))
                    .await;
            }
        };
        reported.retain(|_, at| at.elapsed() < ANSWER_WITHIN);
        for item in items {
            if reported.contains_key(&item.id) {
                continue;
            }
            let opened = item
                .sealed_bytes()
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    sealed::open(self.local.identity.secret(), &bytes).map_err(|e| e.to_string())
                });
            match opened {
                Ok((key, mail)) => {
                    let action = Action::MailArrived {
                        mail: item.id,
                        sender: mail.sender,
                        key,
                        message: mail.message,
                    };
                    reported.insert(item.id, Instant::now());
                    self.report(action).await;
                }
                Err(error) => {
                    tracing::info!(mail = %item.id, %error, "discarding mail that does not open");
                    self.delete(item.id).await;
                }
            }
        }
    }

    /// Deletes a mail; one already gone is fine.
    async fn delete(&self, mail: MailId) {
        match self
            .account
            .client
            .delete_mail(&self.account.token, mail)
            .await
        {
            Ok(()) | Err(DirectoryError::MailNotFound { .. }) => {}
            Err(e) => {
                self.report(Action::DirectoryFailed(e.trouble(), e.to_string()))
                    .await
            }
        }
    }

    /// Stores a mailed chat message, then deletes the mail and seals a receipt back.
    async fn store(
        &self,
        mail: MailId,
        peer: String,
        key: PeerKey,
        id: MessageId,
        sent_at_ms: u64,
        text: String,
    ) {
        let stored = match self
            .store
            .insert_incoming(&peer, id, sent_at_ms, &text)
            .await
        {
            Ok(stored) => stored,
            // Not stored: the mail stays in the mailbox for the next fetch.
            Err(e) => return self.report(Action::StoreFailed(e.to_string())).await,
        };
        self.acknowledge(mail, &peer, &key, id).await;
        if let Some(seq) = stored {
            self.report(Action::MailStored {
                peer,
                seq,
                id,
                sent_at_ms,
                text,
            })
            .await;
        }
    }

    /// Deletes a mail that was taken and seals the receipt for its frame `id` back to `peer`.
    async fn acknowledge(&self, mail: MailId, peer: &str, key: &PeerKey, id: MessageId) {
        self.delete(mail).await;
        if let Ok(receipt) = self.seal(key, PeerMessage::Receipt { id }) {
            // Best effort: a later direct session acknowledges the resend anyway.
            let _ = self
                .account
                .client
                .deposit(peer, &self.account.token, &receipt)
                .await;
        }
    }

    /// Records a mailed receipt, then deletes the mail.
    async fn store_receipt(&self, mail: MailId, peer: String, id: MessageId) {
        let group_frames = match self.store.set_delivered(&peer, &[id]).await {
            Ok(group_frames) => group_frames,
            Err(e) => return self.report(Action::StoreFailed(e.to_string())).await,
        };
        self.delete(mail).await;
        self.report(Action::DeliveredByMail { peer, id }).await;
        if group_frames.is_empty() {
            return;
        }
        for action in super::group_receipts(&self.store, group_frames).await {
            self.report(action).await;
        }
        // Whom group messages still wait for may have changed.
        if let Ok(members) = self.store.group_members_waiting().await {
            self.report(Action::GroupMembersWaiting(members)).await;
        }
    }
}
