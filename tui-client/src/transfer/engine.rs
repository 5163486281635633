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

use super::policy::{Decision, Rules, decide};
use super::{Progress, Report, STALL_TIMEOUT_MS, disk, names, tasks};
use crate::net::files::FileEvent;
use crate::net::{SessionHandle, SessionId};
use crate::store::{LocalStore, StoreError, Transfer, TransferState};

/// Most files one peer may have offered us that are not over (waiting for an answer or on
/// their way): 16. Each file on its way holds a writer thread and a window of memory; more
/// offers are refused until some have arrived.
pub const MAX_OPEN_FILES_PER_PEER: usize = 16;

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

    /// Hashes the file at `path` (counting in `hashing`), records the offer to `peer` and
    /// sends it when a session to `peer` is open (else with the next one). An open offer of
    /// the same unchanged file to `peer` is offered again instead (resuming it).
    ///
    /// # Errors
    /// [`TransferError::File`] when the file cannot be read; [`TransferError::Store`].
    pub async fn offer(
        &mut self,
        peer: &str,
        path: &Path,
        hashing: Arc<Progress>,
    ) -> Result<Transfer, TransferError> {
        if let Ok(path) = std::path::absolute(path)
            && let Some(again) = self.open_offer_of(peer, &path).await?
        {
            self.tell(peer, offer_frame(&again));
            return Ok(again);
        }
        let prepared = prepare(peer, path, hashing).await?;
        self.offer_prepared(prepared).await
    }

    /// Records and sends an offer whose file [`prepare`] hashed (the chat window hashes in
    /// the background, then offers); an open offer of the same unchanged file is offered
    /// again instead.
    ///
    /// # Errors
    /// [`TransferError::Store`].
    pub async fn offer_prepared(&mut self, prepared: Prepared) -> Result<Transfer, TransferError> {
        let Prepared {
            peer,
            path,
            name,
            hashed,
        } = prepared;
        if let Some(again) = self.open_offer_of(&peer, &path).await? {
            self.tell(&peer, offer_frame(&again));
            return Ok(again);
        }
        let transfer = Transfer {
            id: MessageId::new(),
            peer,
            outgoing: true,
            name,
            size: hashed.size,
            sha256: hashed.sha256,
            path: Some(path),
            source_mtime_ms: Some(hashed.mtime_ms),
            state: TransferState::Offered,
            detail: None,
            sent_at_ms: now_unix_ms(),
        };
        self.store.insert_transfer(&transfer).await?;
        self.tell(&transfer.peer, offer_frame(&transfer));
        Ok(transfer)
    }

    /// Replaces the rules that decide offers.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = absolute(rules);
    }

    /// Our open offer of the file at `path` to `peer`, if the file is still the one offered
    /// (same size and modification time): offering it again resumes that transfer.
    async fn open_offer_of(&self, peer: &str, path: &Path) -> Result<Option<Transfer>, StoreError> {
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(None);
        };
        let mtime = disk::mtime_ms(&meta);
        Ok(self
            .store
            .open_transfers(peer)
            .await?
            .into_iter()
            .find(|t| {
                t.outgoing
                    && t.path.as_deref() == Some(path)
                    && t.size == meta.len()
                    && t.source_mtime_ms == Some(mtime)
            }))
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
        let open_from_peer = self
            .store
            .open_transfers(peer)
            .await?
            .iter()
            .filter(|t| !t.outgoing)
            .count();
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
                let reason = if t
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("declined"))
                {
                    CancelReason::Declined
                } else {
                    CancelReason::Cancelled
                };
                self.tell(&t.peer, cancel_frame(t.id, reason));
            }
        }
        Ok(())
    }

    /// Takes the offer `id` into `dir` (default: the rules' download directory): the bytes
    /// go to a partial file there, and start moving when a session to the sender is open.
    ///
    /// # Errors
    /// [`TransferError::Unknown`] when `id` is no open offer to us; [`TransferError::File`]
    /// when the directory cannot be created.
    pub async fn accept(
        &mut self,
        id: MessageId,
        dir: Option<PathBuf>,
    ) -> Result<(), TransferError> {
        let t = self.incoming_offer(id).await?;
        let dir = dir.unwrap_or_else(|| self.rules.download_dir.clone());
        std::fs::create_dir_all(&dir).map_err(|e| TransferError::File {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        let partial = dir.join(names::partial_name(&names::sanitise(&t.name), id));
        self.store
            .set_transfer(id, TransferState::Accepted, Some(&partial), None)
            .await?;
        let t = Transfer {
            path: Some(partial),
            state: TransferState::Accepted,
            ..t
        };
        self.start_receiving(t);
        Ok(())
    }

    /// Turns down the offer `id`.
    ///
    /// # Errors
    /// [`TransferError::Unknown`] when `id` is no open offer to us.
    pub async fn decline(&mut self, id: MessageId) -> Result<(), TransferError> {
        let t = self.incoming_offer(id).await?;
        Ok(self.end(t, CancelReason::Declined, true).await?)
    }

    /// Stops transfer `id`, either way; a partial file is deleted.
    ///
    /// # Errors
    /// [`TransferError::Unknown`] when no open transfer has this id.
    pub async fn cancel(&mut self, id: MessageId) -> Result<(), TransferError> {
        let t = self
            .store
            .transfer(id)
            .await?
            .filter(|t| t.state.is_open())
            .ok_or(TransferError::Unknown {
                what: "open transfer",
            })?;
        Ok(self.end(t, CancelReason::Cancelled, true).await?)
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

    async fn incoming_offer(&self, id: MessageId) -> Result<Transfer, TransferError> {
        self.store
            .transfer(id)
            .await?
            .filter(|t| !t.outgoing && t.state == TransferState::Offered)
            .ok_or(TransferError::Unknown { what: "open offer" })
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
        if self
            .store
            .set_transfer(t.id, TransferState::Ended, None, Some(&words))
            .await?
        {
            let transfer = Transfer {
                state: TransferState::Ended,
                detail: Some(words.clone()),
                ..t
            };
            let _ = self.reports.send(Report::Ended {
                transfer,
                reason: words,
            });
        }
        Ok(())
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

/// A file hashed and ready to offer ([`prepare`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// Who it is for.
    pub peer: String,
    /// The file, as an absolute path.
    pub path: PathBuf,
    /// Its name, as offered.
    pub name: String,
    /// Size, SHA-256 and modification time.
    pub hashed: disk::Hashed,
}

/// Hashes the file at `path` for an offer to `peer` (counting bytes in `hashing`); runs on
/// the blocking pool, so it may be awaited anywhere but takes as long as reading the file.
///
/// # Errors
/// [`TransferError::File`] when it cannot be read, is not a regular file, or its name or
/// size break the offer rules.
pub async fn prepare(
    peer: &str,
    path: &Path,
    hashing: Arc<Progress>,
) -> Result<Prepared, TransferError> {
    let file_error = |detail: String| TransferError::File {
        path: path.to_owned(),
        detail,
    };
    let path = std::path::absolute(path).map_err(|e| file_error(e.to_string()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| file_error("not a file".into()))?;
    let source = path.clone();
    let hashed = tokio::task::spawn_blocking(move || disk::hash_file(&source, &hashing))
        .await
        .map_err(|e| file_error(e.to_string()))?
        .map_err(|e| file_error(e.to_string()))?;
    if let Some(detail) = p2p_chat_protocol::transfer::offer_problem(&name, hashed.size) {
        return Err(file_error(detail));
    }
    Ok(Prepared {
        peer: peer.to_owned(),
        path,
        name,
        hashed,
    })
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

/// The `FileOffer` of our transfer `t`.
fn offer_frame(t: &Transfer) -> PeerMessage {
    PeerMessage::FileOffer {
        id: t.id,
        sent_at_ms: t.sent_at_ms,
        name: t.name.clone(),
        size: t.size,
        sha256: t.sha256,
    }
}

fn cancel_frame(id: MessageId, reason: CancelReason) -> PeerMessage {
    PeerMessage::FileCancel { id, reason }
}
