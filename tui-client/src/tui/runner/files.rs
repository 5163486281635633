//! The runner's side of file transfers: the engine gets the bound sessions and their
//! transfer messages, and carries out the window's requests; hashing a file to offer runs in
//! the background so the window never waits for it.

use std::sync::Arc;

use super::Runner;
use crate::app::Action;
use crate::app::files::{FileAction, FileEffect};
use crate::net::SessionId;
use crate::net::files::FileEvent;
use crate::transfer::{Progress, Report};

impl Runner {
    /// Forwards the engine's reports to the window (a task of its own: it waits for room
    /// in the action channel, which the loop drains).
    pub(super) fn forward_file_reports(
        &self,
        mut reports: tokio::sync::mpsc::UnboundedReceiver<Report>,
    ) {
        let tx = self.action_tx.clone();
        tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                if tx
                    .send(Action::File(FileAction::Report(report)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }

    /// Where received files go and which are taken unasked (the config's `download_dir` and
    /// `auto_accept_bytes`).
    pub fn set_file_rules(&mut self, rules: crate::transfer::policy::Rules) {
        self.files.set_rules(rules);
    }

    /// The transfers still open from earlier runs, for the window to list (offers to answer
    /// or cancel; files that resume when their peer is back).
    pub async fn restore_files(&self) -> Action {
        match self.store.all_open_transfers().await {
            Ok(transfers) => Action::File(FileAction::Restored(transfers)),
            Err(e) => Action::StoreFailed(e.to_string()),
        }
    }

    /// A session was bound to `peer`: its transfers may move on it.
    pub(super) async fn files_bound(&mut self, session: SessionId, peer: &str) {
        let Some(handle) = self.sessions.get(&session).cloned() else {
            return;
        };
        let verified = self
            .store
            .pins()
            .await
            .ok()
            .and_then(|pins| pins.get(peer).map(|pin| pin.verified))
            .unwrap_or(false);
        if let Err(e) = self.files.session_opened(peer, handle, verified).await {
            self.report(Action::StoreFailed(e.to_string()));
        }
    }

    /// A transfer message on a bound session.
    pub(super) async fn file_event(&mut self, session: SessionId, event: FileEvent) {
        let Some(peer) = self.bindings.get(&session).cloned() else {
            return;
        };
        if let Err(e) = self.files.on_event(&peer, event).await {
            self.report(Action::StoreFailed(e.to_string()));
        }
    }

    /// Carries out a request of the window.
    pub(super) async fn file(&mut self, effect: FileEffect) {
        let failed =
            |e: crate::transfer::TransferError| Action::File(FileAction::Failed(e.to_string()));
        match effect {
            FileEffect::Offer { peer, path } => {
                let tx = self.action_tx.clone();
                tokio::spawn(async move {
                    let prepared =
                        crate::transfer::prepare(&peer, &path, Arc::new(Progress::new())).await;
                    let action = match prepared {
                        Ok(prepared) => Action::File(FileAction::Prepared(prepared)),
                        Err(e) => Action::File(FileAction::NotOffered {
                            path,
                            error: e.to_string(),
                        }),
                    };
                    let _ = tx.send(action).await;
                });
            }
            FileEffect::OfferPrepared(prepared)
                if self.files.peer_takes_files(&prepared.peer) == Some(false) =>
            {
                let words = format!(
                    "{}'s p2p-chat is an older release that cannot receive files — ask them \
                     to update",
                    prepared.peer
                );
                self.report(Action::File(FileAction::Failed(words)));
            }
            FileEffect::OfferPrepared(prepared) => {
                match self.files.offer_prepared(prepared).await {
                    Ok(transfer) => self.report(Action::File(FileAction::Offered(transfer))),
                    Err(e) => self.report(failed(e)),
                }
            }
            FileEffect::Accept(id) => {
                if let Err(e) = self.files.accept(id, None).await {
                    self.report(failed(e));
                }
            }
            FileEffect::Decline(id) => {
                if let Err(e) = self.files.decline(id).await {
                    self.report(failed(e));
                }
            }
            FileEffect::Cancel(id) => {
                if let Err(e) = self.files.cancel(id).await {
                    self.report(failed(e));
                }
            }
            FileEffect::Poll => {
                if let Err(e) = self.files.tick().await {
                    self.report(Action::StoreFailed(e.to_string()));
                }
                let done = self.files.progress_all();
                self.report(Action::File(FileAction::Progress(done)));
            }
        }
    }
}
