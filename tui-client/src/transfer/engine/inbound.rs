//! What the peer says about transfers: offers (new, repeated, refused), answers to ours,
//! completions, cancels and overruns.

use p2p_chat_protocol::transfer::{CancelReason, Sha256};
use p2p_chat_protocol::{MessageId, PeerMessage};

use super::{MAX_OPEN_FILES_PER_PEER, MAX_OPEN_INCOMING_FILES, Transfers, cancel_frame};
use crate::net::files::FileEvent;
use crate::store::{StoreError, Transfer, TransferState};
use crate::transfer::policy::{Decision, decide};
use crate::transfer::{Report, names};

impl Transfers {
    /// Handles a transfer message from `peer`.
    ///
    /// # Errors
    /// When the store fails (the peer will repeat what matters on its next session).
    pub async fn on_event(&mut self, peer: &str, event: FileEvent) -> Result<(), StoreError> {
        // Only peers whose session the owner approved (a key held for the user's decision
        // gets nothing); the peer repeats what matters on its next session.
        if !self.sessions.contains_key(peer)
            || (!self.receives && matches!(event, FileEvent::Offer { .. }))
        {
            return Ok(());
        }
        let id = match &event {
            FileEvent::Offer { id, .. }
            | FileEvent::Accept { id, .. }
            | FileEvent::Done { id }
            | FileEvent::Cancel { id, .. }
            | FileEvent::Overrun { id } => *id,
        };
        let known = self.store.transfer(id).await?;
        // An id of another peer's transfer, or of our own offer echoed back, is refused.
        if let Some(t) = &known
            && (t.peer != peer || !direction_fits(&event, t.outgoing))
        {
            let detail = "that transfer id belongs to another transfer".to_owned();
            self.tell(peer, cancel_frame(id, CancelReason::Invalid { detail }));
            return Ok(());
        }
        match (event, known) {
            (FileEvent::Offer { .. }, Some(t)) => self.offered_again(t).await,
            (
                FileEvent::Offer {
                    id,
                    sent_at_ms,
                    name,
                    size,
                    sha256,
                },
                None,
            ) => {
                let offer = (id, sent_at_ms, name, size, sha256);
                self.new_offer(peer, offer).await
            }
            (
                FileEvent::Accept {
                    offset,
                    prefix_sha256,
                    credit_until,
                    ..
                },
                Some(t),
            ) if t.state.is_open() => {
                self.store
                    .set_transfer(t.id, TransferState::Accepted, None, None)
                    .await?;
                self.start_sending(t, (offset, prefix_sha256, credit_until));
                Ok(())
            }
            (FileEvent::Accept { .. }, Some(t)) if t.state == TransferState::Done => Ok(()),
            (
                FileEvent::Accept { id, .. } | FileEvent::Done { id } | FileEvent::Overrun { id },
                None,
            )
            | (FileEvent::Accept { id, .. }, Some(_)) => {
                self.tell(peer, cancel_frame(id, CancelReason::Cancelled));
                Ok(())
            }
            (FileEvent::Done { .. }, Some(t)) => {
                if self
                    .store
                    .set_transfer(t.id, TransferState::Done, None, None)
                    .await?
                {
                    self.stop(t.id);
                    let transfer = self.store.transfer(t.id).await?.unwrap_or(t);
                    let _ = self.reports.send(Report::Finished { transfer });
                }
                Ok(())
            }
            (FileEvent::Cancel { reason, .. }, Some(t)) if t.state.is_open() => {
                self.end(t, reason, false).await
            }
            (FileEvent::Cancel { .. }, None) => Ok(()),
            (FileEvent::Overrun { .. }, Some(t)) if t.state.is_open() => {
                let detail = "chunks beyond the credit given".to_owned();
                self.end(t, CancelReason::Invalid { detail }, true).await
            }
            (FileEvent::Cancel { .. } | FileEvent::Overrun { .. }, Some(_)) => Ok(()),
        }
    }

    /// A new offer from `peer`: recorded, then taken, refused or left to the user by the
    /// rules.
    async fn new_offer(
        &mut self,
        peer: &str,
        (id, sent_at_ms, name, size, sha256): (MessageId, u64, String, u64, Sha256),
    ) -> Result<(), StoreError> {
        let transfer = Transfer {
            id,
            peer: peer.to_owned(),
            outgoing: false,
            name: names::sanitise(&name),
            size,
            sha256,
            path: None,
            source_mtime_ms: None,
            state: TransferState::Offered,
            detail: None,
            sent_at_ms,
        };
        let incoming = self.store.all_open_transfers().await?;
        let incoming: Vec<_> = incoming.iter().filter(|t| !t.outgoing).collect();
        let open_from_peer = incoming.iter().filter(|t| t.peer == peer).count();
        let problem = p2p_chat_protocol::transfer::offer_problem(&name, size).or_else(|| {
            (open_from_peer >= MAX_OPEN_FILES_PER_PEER).then(|| {
                format!(
                    "{MAX_OPEN_FILES_PER_PEER} files from you are already waiting or on their \
                     way; offer more once some have arrived"
                )
            })
        });
        if let Some(detail) = problem {
            self.store.insert_transfer(&transfer).await?;
            return self
                .end(transfer, CancelReason::Invalid { detail }, true)
                .await;
        }
        if incoming.len() >= MAX_OPEN_INCOMING_FILES {
            self.store.insert_transfer(&transfer).await?;
            let detail = format!(
                "busy: {MAX_OPEN_INCOMING_FILES} files are already waiting or on their way \
                 here; offer it again later"
            );
            return self
                .end(transfer, CancelReason::CannotStore { detail }, true)
                .await;
        }
        self.store.insert_transfer(&transfer).await?;
        self.decide_offer(transfer).await
    }

    /// Takes, refuses or reports an offer that waits, by the rules.
    async fn decide_offer(&mut self, transfer: Transfer) -> Result<(), StoreError> {
        let verified = self.sessions.get(&transfer.peer).is_some_and(|(_, v)| *v);
        match decide(&self.rules, &transfer.name, transfer.size, verified) {
            Decision::Accept(dir) => {
                if let Err(e) = self.accept(transfer.id, Some(dir)).await {
                    let detail = e.to_string();
                    self.end(transfer, CancelReason::CannotStore { detail }, true)
                        .await?;
                }
            }
            Decision::Ask => {
                let _ = self.reports.send(Report::Offered(transfer));
            }
            Decision::Refuse(reason) => self.end(transfer, reason, true).await?,
        }
        Ok(())
    }

    /// An offer we know came again (the sender's new session): resume it if we took it,
    /// repeat how it ended if it did.
    async fn offered_again(&mut self, t: Transfer) -> Result<(), StoreError> {
        match t.state {
            // Still waiting: the rules may take it now (a `listen --accept-files` run), or
            // the user hears of it again.
            TransferState::Offered => self.decide_offer(t).await?,
            TransferState::Accepted => {
                // Running on an older session that is not yet known to be dead: the
                // sender's new session takes over.
                let current = self.sessions.get(&t.peer).map(|(h, _)| h.id());
                let here = self
                    .running
                    .get(&t.id)
                    .is_some_and(|r| !r.task.is_finished() && Some(r.session) == current);
                if !here {
                    self.stop(t.id);
                    self.start_receiving(t);
                }
            }
            TransferState::Done => self.tell(&t.peer, PeerMessage::FileDone { id: t.id }),
            TransferState::Ended => {
                let reason = self.store.end_reason(t.id).await?;
                let reason = reason.unwrap_or(CancelReason::Cancelled);
                self.tell(&t.peer, cancel_frame(t.id, reason));
            }
        }
        Ok(())
    }
}

/// Whether `event` can be about a transfer in that direction: offers and overruns are
/// about files we receive, answers and completions about files we send, cancels about both.
fn direction_fits(event: &FileEvent, outgoing: bool) -> bool {
    match event {
        FileEvent::Offer { .. } | FileEvent::Overrun { .. } => !outgoing,
        FileEvent::Accept { .. } | FileEvent::Done { .. } => outgoing,
        FileEvent::Cancel { .. } => true,
    }
}
