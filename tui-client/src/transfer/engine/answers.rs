//! The user's answers: taking an offer into a directory, declining it, cancelling a
//! transfer either way.

use std::path::PathBuf;

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::transfer::CancelReason;

use super::{TransferError, Transfers};
use crate::store::{Transfer, TransferState};
use crate::transfer::{disk, human_bytes, names};

impl Transfers {
    /// Takes the offer `id` into `dir` (default: the rules' download directory): the bytes
    /// go to a partial file there, and start moving when a session to the sender is open.
    ///
    /// # Errors
    /// [`TransferError::Unknown`] when `id` is no open offer to us; [`TransferError::File`]
    /// when the directory cannot be created, or its file system has less room than the file
    /// (the offer then still waits).
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
        if let Some(free) = disk::free_bytes(&dir).filter(|free| *free < t.size) {
            return Err(TransferError::File {
                path: dir,
                detail: format!(
                    "not enough free space for {} ({} needed, {} free) — free some space, or \
                     choose another download directory",
                    t.name,
                    human_bytes(t.size),
                    human_bytes(free)
                ),
            });
        }
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

    async fn incoming_offer(&self, id: MessageId) -> Result<Transfer, TransferError> {
        self.store
            .transfer(id)
            .await?
            .filter(|t| !t.outgoing && t.state == TransferState::Offered)
            .ok_or(TransferError::Unknown { what: "open offer" })
    }
}
