//! The transfer engine: answers the peer's transfer messages, starts and stops the tasks that
//! move bytes, and keeps the store's record of every transfer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use p2p_chat_protocol::peer::now_unix_ms;
use p2p_chat_protocol::transfer::{CancelReason, Sha256};
use p2p_chat_protocol::{MessageId, PeerMessage};
use tokio::sync::{Mutex, mpsc};
use tokio::task::AbortHandle;

use super::policy::Rules;
use super::{Progress, Report, STALL_TIMEOUT_MS, names, tasks};
use crate::net::{SessionHandle, SessionId};
use crate::store::{LocalStore, StoreError, Transfer, TransferState};

mod answers;
mod inbound;
mod offer;

use offer::offer_frame;
pub use offer::{Prepared, prepare};

/// Most files one peer may have offered us that are not over (waiting for an answer or on
/// their way): 16. Each file on its way holds a writer thread and a window of memory; more
/// offers are refused until some have arrived.
pub const MAX_OPEN_FILES_PER_PEER: usize = 16;

/// Most files all peers together may have offered us that are not over: 64. Each file on its
/// way holds a thread of tokio's blocking pool (512 at most) and a window of memory, so many
/// peers at once cannot take them all; more offers are refused as "busy" until some arrive.
pub const MAX_OPEN_INCOMING_FILES: usize = 64;

/// Why a transfer could not be started, taken or changed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file or directory could not be used.
    #[error("{}: {detail}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        detail: String,
    },
    /// No transfer has this id, or it is not one this action applies to.
    #[error("no {what} with that id")]
    Unknown {
        /// What was looked for ("open offer", "transfer").
        what: &'static str,
    },
}

/// A transfer whose bytes are moving.
struct Running {
    session: SessionId,
    progress: Arc<Progress>,
    task: AbortHandle,
}

/// The peers' sessions the engine may use, and the transfers running on them.
pub struct Transfers {
    store: LocalStore,
    rules: Rules,
    reports: mpsc::UnboundedSender<Report>,
    sessions: HashMap<String, (SessionHandle, bool)>,
    running: HashMap<MessageId, Running>,
    /// One writer per received file at a time: a resumed transfer waits for the writer of
    /// the broken session to let go.
    writers: HashMap<MessageId, Arc<Mutex<()>>>,
    stall_timeout_ms: u64,
    /// Whether offers from peers are taken up (see [`Transfers::sending_only`]).
    receives: bool,
}

impl Transfers {
    /// An engine over `store` deciding offers by `rules`; its reports come on the receiver.
    pub fn new(store: LocalStore, rules: Rules) -> (Self, mpsc::UnboundedReceiver<Report>) {
        let rules = absolute(rules);
        let (reports, rx) = mpsc::unbounded_channel();
        let engine = Self {
            store,
            rules,
            reports,
            sessions: HashMap::new(),
            running: HashMap::new(),
            writers: HashMap::new(),
            stall_timeout_ms: STALL_TIMEOUT_MS,
            receives: true,
        };
        (engine, rx)
    }

    /// The same engine, sending only: offers from peers are ignored, so a short-lived
    /// program (`send-file`) never writes into a partial file another program of the
    /// profile (the chat window, `listen`) is receiving.
    #[must_use]
    pub fn sending_only(mut self) -> Self {
        self.receives = false;
        self
    }

    /// The same engine with another stall timeout, in ms (tests; the default is
    /// [`STALL_TIMEOUT_MS`]).
    #[must_use]
    pub fn with_stall_timeout(mut self, ms: u64) -> Self {
        self.stall_timeout_ms = ms;
        self
    }

    /// Replaces the rules that decide offers.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = absolute(rules);
    }

    /// A session to `peer` (whose key the user verified, or not) is open: offers to `peer`
    /// that are still open go out again, so the receiver can accept or resume them, and the
    /// files we were receiving from `peer` resume (we accept again at the bytes we have).
    /// Returns `false` when the peer's release does not take files (nothing is sent then).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn session_opened(
        &mut self,
        peer: &str,
        handle: SessionHandle,
        verified: bool,
    ) -> Result<bool, StoreError> {
        let takes_files = handle.takes_files();
        self.sessions
            .insert(peer.to_owned(), (handle.clone(), verified));
        if !takes_files {
            return Ok(false);
        }
        for transfer in self.store.open_transfers(peer).await? {
            if transfer.outgoing {
                let _ = handle.send_file_frame(offer_frame(&transfer));
            } else if self.receives && transfer.state == TransferState::Accepted {
                // Resumed from our side too: a sender that ended it meanwhile answers
                // with its cancel, which would otherwise never reach us.
                self.stop(transfer.id);
                self.start_receiving(transfer);
            }
        }
        Ok(true)
    }

    /// The session `session` to `peer` ended: its transfers pause until the next one.
    pub fn session_closed(&mut self, peer: &str, session: SessionId) {
        if self
            .sessions
            .get(peer)
            .is_some_and(|(handle, _)| handle.id() == session)
        {
            self.sessions.remove(peer);
        }
        let paused: Vec<MessageId> = self
            .running
            .iter()
            .filter(|(_, r)| r.session == session && !r.task.is_finished())
            .map(|(id, _)| *id)
            .collect();
        for id in paused {
            if let Some(running) = self.running.remove(&id) {
                running.task.abort();
                let _ = self.reports.send(Report::Paused { id });
            }
        }
    }

    /// Bytes done of a running transfer (sent or written).
    pub fn progress(&self, id: MessageId) -> Option<u64> {
        self.running.get(&id).map(|r| r.progress.done())
    }

    /// Bytes done of every running transfer.
    pub fn progress_all(&self) -> Vec<(MessageId, u64)> {
        self.running
            .iter()
            .map(|(id, r)| (*id, r.progress.done()))
            .collect()
    }

    /// Whether `peer`'s open session takes files (`None`: no session open).
    pub fn peer_takes_files(&self, peer: &str) -> Option<bool> {
        self.sessions.get(peer).map(|(h, _)| h.takes_files())
    }

    /// Cancels running transfers that moved no byte for [`STALL_TIMEOUT_MS`] (or the timeout
    /// set with [`Transfers::with_stall_timeout`]); call it every second or so.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn tick(&mut self) -> Result<(), StoreError> {
        self.running.retain(|_, r| !r.task.is_finished());
        let now = now_unix_ms();
        let stalled: Vec<MessageId> = self
            .running
            .iter()
            .filter(|(_, r)| now.saturating_sub(r.progress.moved_at_ms()) > self.stall_timeout_ms)
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            if let Some(t) = self.store.transfer(id).await? {
                self.end(t, CancelReason::Stalled, true).await?;
            }
        }
        Ok(())
    }

    /// Ends `t` for `reason`: stops its task, deletes a partial file, records and reports it,
    /// and tells the peer when `tell_peer`.
    async fn end(
        &mut self,
        t: Transfer,
        reason: CancelReason,
        tell_peer: bool,
    ) -> Result<(), StoreError> {
        self.stop(t.id);
        self.writers.remove(&t.id);
        if tell_peer {
            self.tell(&t.peer, cancel_frame(t.id, reason.clone()));
        }
        if let Some(partial) = partial_of(&t) {
            let _ = std::fs::remove_file(partial);
        }
        let words = match (&reason, tell_peer) {
            (CancelReason::Declined | CancelReason::Cancelled, true) => format!("{reason} by you"),
            (CancelReason::Declined | CancelReason::Cancelled, false) => {
                format!("{reason} by {}", t.peer)
            }
            _ => reason.to_string(),
        };
        tasks::record_end(&self.store, &self.reports, t, words, &reason).await
    }

    fn stop(&mut self, id: MessageId) {
        if let Some(running) = self.running.remove(&id) {
            running.task.abort();
        }
        for (handle, _) in self.sessions.values() {
            handle.forget_file(id);
        }
    }

    fn tell(&self, peer: &str, frame: PeerMessage) {
        if let Some((handle, _)) = self.sessions.get(peer) {
            let _ = handle.send_file_frame(frame);
        }
    }

    fn start_sending(&mut self, t: Transfer, accept: (u64, Sha256, u64)) {
        let Some((handle, _)) = self.sessions.get(&t.peer).cloned() else {
            return;
        };
        self.stop(t.id);
        let progress = Arc::new(Progress::new());
        let job = tasks::Sending {
            handle: handle.clone(),
            store: self.store.clone(),
            reports: self.reports.clone(),
            progress: progress.clone(),
        };
        let task = tokio::spawn(job.run(t.clone(), accept)).abort_handle();
        self.running.insert(
            t.id,
            Running {
                session: handle.id(),
                progress,
                task,
            },
        );
    }

    fn start_receiving(&mut self, t: Transfer) {
        let Some((handle, _)) = self.sessions.get(&t.peer).cloned() else {
            return;
        };
        let progress = Arc::new(Progress::new());
        let writer = self.writers.entry(t.id).or_default().clone();
        let job = tasks::Receiving {
            handle: handle.clone(),
            store: self.store.clone(),
            reports: self.reports.clone(),
            progress: progress.clone(),
            writer,
        };
        let id = t.id;
        let task = tokio::spawn(job.run(t)).abort_handle();
        self.running.insert(
            id,
            Running {
                session: handle.id(),
                progress,
                task,
            },
        );
    }
}

/// `rules` with absolute directories: each accepted transfer keeps its partial file's path,
/// which must not move with the working directory of a later run.
fn absolute(rules: Rules) -> Rules {
    let abs = |dir: PathBuf| std::path::absolute(&dir).unwrap_or(dir);
    Rules {
        accept_into: rules.accept_into.map(abs),
        download_dir: abs(rules.download_dir),
        ..rules
    }
}

/// The partial file of a transfer we receive that is still open: the only file a transfer's
/// end may delete (a saved file is never touched again).
pub(super) fn partial_of(t: &Transfer) -> Option<&Path> {
    let path = t.path.as_deref()?;
    let partial = !t.outgoing
        && t.state.is_open()
        && path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(names::PARTIAL_SUFFIX));
    partial.then_some(path)
}

/// A `FileCancel` of transfer `id`.
fn cancel_frame(id: MessageId, reason: CancelReason) -> PeerMessage {
    PeerMessage::FileCancel { id, reason }
}
