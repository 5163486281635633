//! Our offers: hashing a file ([`prepare`]), recording and sending the offer, and offering
//! again the same unchanged file (which resumes it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use p2p_chat_protocol::peer::now_unix_ms;
use p2p_chat_protocol::{MessageId, PeerMessage};

use super::{TransferError, Transfers};
use crate::store::{StoreError, Transfer, TransferState};
use crate::transfer::{Progress, disk};

impl Transfers {
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

/// The `FileOffer` of our transfer `t`.
pub(super) fn offer_frame(t: &Transfer) -> PeerMessage {
    PeerMessage::FileOffer {
        id: t.id,
        sent_at_ms: t.sent_at_ms,
        name: t.name.clone(),
        size: t.size,
        sha256: t.sha256,
    }
}
