//! The two tasks that move a transfer's bytes over one session: [`Sending`] (reader →
//! credit → session) and [`Receiving`] (session → writer → credit, then the saved file).
//! Each reports how it ended; the engine aborts them when a session ends or a user cancels.

use std::sync::Arc;

use p2p_chat_protocol::PeerMessage;
use p2p_chat_protocol::transfer::{CancelReason, FILE_WINDOW_BYTES, Sha256};
use tokio::sync::{Mutex, mpsc, watch};

use super::disk::{self, Written};
use super::{Progress, Report, names};
use crate::net::SessionHandle;
use crate::net::files::sink_capacity;
use crate::store::{LocalStore, Transfer, TransferState};

/// Chunks the reader may be ahead of the session: 4.
const READ_AHEAD_CHUNKS: usize = 4;

/// Sends our file over one session, within the receiver's credit.
pub(super) struct Sending {
    pub handle: SessionHandle,
    pub store: LocalStore,
    pub reports: mpsc::UnboundedSender<Report>,
    pub progress: Arc<Progress>,
}

impl Sending {
    /// Runs until every byte is handed to the session, the session ends (paused) or the file
    /// fails (cancelled as unavailable).
    pub async fn run(self, t: Transfer, (offset, prefix, credit_until): (u64, Sha256, u64)) {
        let Some(path) = t.path.clone() else { return };
        let shape = (t.size, t.source_mtime_ms.unwrap_or(0));
        let (checking, progress) = (path.clone(), self.progress.clone());
        let start = tokio::task::spawn_blocking(move || {
            disk::start_at(&checking, shape, (offset, prefix), &progress)
        })
        .await;
        let start = match start {
            Ok(Ok(start)) => start,
            Ok(Err(reason)) => return self.fail(t, reason).await,
            Err(_) => return,
        };
        // Starting over (the receiver's bytes were not ours): its credit counts from 0.
        let credit_until = if start == offset {
            credit_until
        } else {
            credit_until.saturating_sub(offset)
        };
        let (credit_tx, mut credit) = watch::channel(credit_until);
        if self.handle.send_file(t.id, credit_tx).is_err() {
            let _ = self.reports.send(Report::Paused { id: t.id });
            return;
        }
        let (chunks_tx, mut chunks) = mpsc::channel(READ_AHEAD_CHUNKS);
        let size = t.size;
        let reader =
            tokio::task::spawn_blocking(move || disk::read_chunks(&path, start, size, &chunks_tx));
        let mut started = false;
        while let Some(chunk) = chunks.recv().await {
            if !started {
                started = true;
                let report = Report::Started {
                    transfer: t.clone(),
                    from: chunk.offset,
                };
                let _ = self.reports.send(report);
            }
            let end = chunk.offset + chunk.data.len() as u64;
            let sent = async {
                credit.wait_for(|until| *until >= end).await.ok()?;
                self.handle
                    .send_chunk(t.id, chunk.offset, chunk.data)
                    .await
                    .ok()
            };
            if sent.await.is_none() {
                let _ = self.reports.send(Report::Paused { id: t.id });
                return;
            }
            self.progress.set(end);
        }
        if let Ok(Err(reason)) = reader.await {
            self.fail(t, reason).await;
        }
    }

    /// Ends the transfer for `reason` and tells the receiver.
    async fn fail(self, t: Transfer, reason: CancelReason) {
        fail(&self.handle, &self.store, &self.reports, t, reason).await;
    }
}

/// Receives a file into its partial file over one session, then saves it under its name.
pub(super) struct Receiving {
    pub handle: SessionHandle,
    pub store: LocalStore,
    pub reports: mpsc::UnboundedSender<Report>,
    pub progress: Arc<Progress>,
    /// Held from opening the partial file until its writer returns.
    pub writer: Arc<Mutex<()>>,
}

impl Receiving {
    /// Accepts (or resumes) the transfer and writes what arrives until the file is whole and
    /// checked (saved, `FileDone` sent), the session ends (paused) or it fails (cancelled).
    pub async fn run(self, t: Transfer) {
        let id = t.id;
        let guard = self.writer.clone().lock_owned().await;
        let Some(partial) = t.path.clone() else {
            return;
        };
        let size = t.size;
        let opening = partial.clone();
        let progress = self.progress.clone();
        let opened =
            tokio::task::spawn_blocking(move || disk::open_receiving(&opening, size, &progress))
                .await;
        let receiving = match opened {
            Ok(Ok(receiving)) => receiving,
            Ok(Err(e)) => {
                let reason = CancelReason::CannotStore {
                    detail: e.to_string(),
                };
                return self.fail(t, reason).await;
            }
            Err(_) => return,
        };
        let (sink, chunks) = mpsc::channel(sink_capacity());
        let accept = PeerMessage::FileAccept {
            id,
            offset: receiving.written,
            prefix_sha256: receiving.prefix,
            credit_until: receiving.written + FILE_WINDOW_BYTES,
        };
        if self.handle.receive_file(id, sink).is_err()
            || self.handle.send_file_frame(accept).is_err()
        {
            let _ = self.reports.send(Report::Paused { id });
            return;
        }
        let report = Report::Started {
            transfer: t.clone(),
            from: receiving.written,
        };
        let _ = self.reports.send(report);
        let (handle, progress, expected) =
            (self.handle.clone(), self.progress.clone(), (size, t.sha256));
        let written = tokio::task::spawn_blocking(move || {
            let grant = |until| {
                let credit = PeerMessage::FileCredit { id, until };
                handle.send_file_frame_blocking(credit).is_ok()
            };
            let written = disk::write_chunks(receiving, expected, chunks, grant, &progress);
            drop(guard);
            written
        })
        .await;
        match written {
            Ok(Ok(Written::Complete)) => self.save(t, &partial).await,
            Ok(Ok(Written::Interrupted)) => {
                let _ = self.reports.send(Report::Paused { id });
            }
            Ok(Err(reason)) => self.fail(t, reason).await,
            Err(_) => {}
        }
    }

    /// Gives the checked partial file its own name (never replacing a file), records it and
    /// tells the sender.
    async fn save(self, t: Transfer, partial: &std::path::Path) {
        let dir = partial.parent().unwrap_or(std::path::Path::new("."));
        let name = names::sanitise(&t.name);
        let saved = names::reserve_unique(dir, &name).and_then(|target| {
            std::fs::rename(partial, &target)
                .map(|()| target.clone())
                .inspect_err(|_| {
                    // The empty file that held the name goes with the failed rename.
                    let _ = std::fs::remove_file(&target);
                })
        });
        let target = match saved {
            Ok(target) => target,
            Err(e) => {
                let reason = CancelReason::CannotStore {
                    detail: e.to_string(),
                };
                return self.fail(t, reason).await;
            }
        };
        let recorded = self
            .store
            .set_transfer(t.id, TransferState::Done, Some(&target), None)
            .await;
        let _ = self
            .handle
            .send_file_frame(PeerMessage::FileDone { id: t.id });
        if matches!(recorded, Ok(true)) {
            let transfer = Transfer {
                path: Some(target),
                state: TransferState::Done,
                ..t
            };
            let _ = self.reports.send(Report::Finished { transfer });
        }
    }

    /// Ends the transfer for `reason`: the sender is told, the partial file deleted.
    async fn fail(self, t: Transfer, reason: CancelReason) {
        fail(&self.handle, &self.store, &self.reports, t, reason).await;
    }
}

/// Ends `t` for `reason` from one of its tasks: tells the peer, deletes a partial file we
/// were receiving into, records and reports the end.
async fn fail(
    handle: &SessionHandle,
    store: &LocalStore,
    reports: &mpsc::UnboundedSender<Report>,
    t: Transfer,
    reason: CancelReason,
) {
    let frame = PeerMessage::FileCancel {
        id: t.id,
        reason: reason.clone(),
    };
    let _ = handle.send_file_frame(frame);
    if let Some(partial) = super::engine::partial_of(&t) {
        let _ = std::fs::remove_file(partial);
    }
    // A store that cannot write leaves the transfer open; the next session ends it again.
    let words = reason.to_string();
    let _ = record_end(store, reports, t, words, &reason).await;
}

/// Records that `t` ended (`words` say why) and reports it, once: a transfer already done
/// or ended is left alone.
///
/// # Errors
/// When the store cannot write.
pub(super) async fn record_end(
    store: &LocalStore,
    reports: &mpsc::UnboundedSender<Report>,
    t: Transfer,
    words: String,
    reason: &CancelReason,
) -> Result<(), crate::store::StoreError> {
    if store.end_transfer(t.id, &words, reason).await? {
        let transfer = Transfer {
            state: TransferState::Ended,
            detail: Some(words.clone()),
            ..t
        };
        let _ = reports.send(Report::Ended {
            transfer,
            reason: words,
        });
    }
    Ok(())
}
