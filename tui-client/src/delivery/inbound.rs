//! Receiving: store first, then acknowledge; show only what was stored for the first time.

use crate::net::{SessionHandle, SessionId};
use crate::store::{Incoming, LocalStore, StoreError};

/// A received message after [`store_then_acknowledge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The session it came on.
    pub session: SessionId,
    /// The message.
    pub message: Incoming,
    /// Its place in the store, or `None` for a resend of a message already stored (to be
    /// shown or printed only once).
    pub seq: Option<i64>,
}

/// Stores a batch of received messages in one transaction, in arrival order, then sends the
/// receipt for each (duplicates included, so the sender stops resending). Returns at once
/// after the write: receipts never wait (see [`SessionHandle::acknowledge`]).
///
/// # Errors
/// When the store cannot write; then no receipt goes out and the senders resend later.
pub async fn store_then_acknowledge(
    store: &LocalStore,
    batch: Vec<(SessionHandle, Incoming)>,
) -> Result<Vec<Received>, StoreError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let messages: Vec<Incoming> = batch.iter().map(|(_, m)| m.clone()).collect();
    let seqs = store.insert_incoming_many(&messages).await?;
    Ok(batch
        .into_iter()
        .zip(seqs)
        .map(|((handle, message), seq)| {
            // A gone session is fine: the sender resends on its next one, and the id dedupes.
            let _ = handle.acknowledge(message.id);
            Received {
                session: handle.id(),
                message,
                seq,
            }
        })
        .collect())
}
