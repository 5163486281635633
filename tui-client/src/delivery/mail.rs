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
use crate::store::{Delivery, LocalStore};

/// How long a reported mail waits for its answer (stored, receipt recorded or discarded)
/// before a fetch reports it again: 60 s. An owner that never answers (it quit, say) gets it
/// again on a later fetch; one that answers in time never sees it twice.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

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
                MailEffect::Discard { mail } => {
                    reported.remove(&mail);
                    self.delete(mail).await;
                }
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
    /// oldest first, marking each deposited once it is there; stops at the first failure so
    /// the mailbox never holds a later message without the earlier ones.
    async fn deposit(&self, peer: String, pinned: Option<PeerKey>) {
        let messages = match self.store.undeposited(&peer).await {
            Ok(messages) if messages.is_empty() => return,
            Ok(messages) => messages,
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
            let outcome = match self.seal(&key, chat) {
                Ok(bytes) => self
                    .account
                    .client
                    .deposit(&peer, &self.account.token, &bytes)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                failure = Some(e);
                break;
            }
            if let Err(e) = self.store.mark_deposited(&peer, id).await {
                failure = Some(e.to_string());
                break;
            }
            ids.push(id);
        }
        if !ids.is_empty() {
            self.report(Action::Deposited {
                peer: peer.clone(),
                ids,
            })
            .await;
        }
        if let Some(error) = failure {
            self.report(Action::DepositFailed { peer, error }).await;
        }
    }

    /// Fetches our mailbox and reports every mail that opens, unless it was `reported` within
    /// [`ANSWER_WITHIN`] and not answered yet; mail that does not open (not for us, damaged)
    /// is deleted.
    async fn fetch(&self, reported: &mut HashMap<MailId, Instant>) {
        let items = match self.account.client.fetch_mailbox(&self.account.token).await {
            Ok(items) => items,
            Err(e) => return self.report(Action::DirectoryFailed(e.to_string())).await,
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
            Err(e) => self.report(Action::DirectoryFailed(e.to_string())).await,
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
        self.delete(mail).await;
        if let Ok(receipt) = self.seal(&key, PeerMessage::Receipt { id }) {
            // Best effort: a later direct session acknowledges the resend anyway.
            let _ = self
                .account
                .client
                .deposit(&peer, &self.account.token, &receipt)
                .await;
        }
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

    /// Records a mailed receipt, then deletes the mail.
    async fn store_receipt(&self, mail: MailId, peer: String, id: MessageId) {
        if let Err(e) = self
            .store
            .set_delivery(&peer, id, Delivery::Delivered, None)
            .await
        {
            return self.report(Action::StoreFailed(e.to_string())).await;
        }
        self.delete(mail).await;
        self.report(Action::DeliveredByMail { peer, id }).await;
    }
}
