//! The session actor's part in file transfers: which transfer's chunks and credit go where.
//!
//! Offers, answers and ends of transfers are few and go to the session's owner as
//! [`FileEvent`]s, like chat messages. Chunks and credit are many: the actor hands them
//! straight to the transfer's own task through the routes the owner set up
//! ([`super::SessionHandle::receive_file`], [`super::SessionHandle::send_file`]), so a
//! transfer never passes through the owner's event loop and never holds up a chat message.

use std::collections::HashMap;

use bytes::Bytes;
use p2p_chat_protocol::transfer::{CancelReason, FILE_WINDOW_BYTES, MAX_CHUNK_BYTES, Sha256};
use p2p_chat_protocol::{MessageId, PeerMessage};
use tokio::sync::{mpsc, watch};

/// File bytes at `offset`, on their way from the session to a transfer's writer, or from a
/// transfer's reader to the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Position in the file, in bytes.
    pub offset: u64,
    /// At most [`MAX_CHUNK_BYTES`].
    pub data: Bytes,
}

/// Capacity a receiving transfer's sink needs: every chunk a peer may send within one credit
/// window ([`FILE_WINDOW_BYTES`] in chunks of [`MAX_CHUNK_BYTES`], the last one short), plus
/// one.
pub fn sink_capacity() -> usize {
    let chunk = MAX_CHUNK_BYTES as u64;
    usize::try_from(FILE_WINDOW_BYTES.div_ceil(chunk) + 2).unwrap_or(64)
}

/// A transfer message from the peer for the session's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileEvent {
    /// The peer offers a file (see `PeerMessage::FileOffer`; not yet checked).
    Offer {
        /// The transfer's id.
        id: MessageId,
        /// When the peer's user offered it, unix ms.
        sent_at_ms: u64,
        /// The name as the peer gave it (sanitise before use).
        name: String,
        /// Bytes announced.
        size: u64,
        /// SHA-256 announced.
        sha256: Sha256,
    },
    /// The peer takes our offer `id` from `offset` (see `PeerMessage::FileAccept`).
    Accept {
        /// The offer's id.
        id: MessageId,
        /// The bytes the peer already has.
        offset: u64,
        /// Their SHA-256.
        prefix_sha256: Sha256,
        /// First credit: we may send bytes below this.
        credit_until: u64,
    },
    /// The peer has all of our file `id` and its hash matched.
    Done {
        /// The transfer's id.
        id: MessageId,
    },
    /// The peer ended transfer `id`.
    Cancel {
        /// The transfer's id.
        id: MessageId,
        /// Its reason.
        reason: CancelReason,
    },
    /// The peer sent chunks of `id` beyond the credit we gave: the session stopped routing
    /// them (the transfer must be cancelled as invalid).
    Overrun {
        /// The transfer's id.
        id: MessageId,
    },
}

/// What the owner asks of the actor about transfers.
pub(super) enum FileCommand {
    /// Send this transfer frame to the peer.
    Frame(PeerMessage),
    /// Route the peer's chunks of `id` to `sink`.
    Receive {
        id: MessageId,
        sink: mpsc::Sender<Chunk>,
    },
    /// Route the peer's credit of `id` to `credit`; chunks of `id` may go out.
    Send {
        id: MessageId,
        credit: watch::Sender<u64>,
    },
    /// Stop routing `id`.
    Forget { id: MessageId },
}

impl std::fmt::Debug for FileCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Frame(frame) => write!(f, "Frame({})", frame.kind()),
            Self::Receive { id, .. } => write!(f, "Receive({id})"),
            Self::Send { id, .. } => write!(f, "Send({id})"),
            Self::Forget { id } => write!(f, "Forget({id})"),
        }
    }
}

/// The actor's routes: where the chunks of transfers we receive go, and the credit of those we
/// send.
#[derive(Default)]
pub(super) struct Routes {
    receiving: HashMap<MessageId, mpsc::Sender<Chunk>>,
    sending: HashMap<MessageId, watch::Sender<u64>>,
}

impl Routes {
    /// Applies a routing command; returns the frame to send, if it is one.
    pub(super) fn command(&mut self, command: FileCommand) -> Option<PeerMessage> {
        match command {
            FileCommand::Frame(frame) => {
                if let PeerMessage::FileCancel { id, .. } | PeerMessage::FileDone { id } = &frame {
                    self.forget(*id);
                }
                return Some(frame);
            }
            FileCommand::Receive { id, sink } => {
                self.receiving.insert(id, sink);
            }
            FileCommand::Send { id, credit } => {
                self.sending.insert(id, credit);
            }
            FileCommand::Forget { id } => self.forget(id),
        }
        None
    }

    fn forget(&mut self, id: MessageId) {
        self.receiving.remove(&id);
        self.sending.remove(&id);
    }

    /// Whether chunks of `id` may go out (a cancelled transfer's queued chunks may not).
    pub(super) fn sends(&self, id: &MessageId) -> bool {
        self.sending.contains_key(id)
    }

    /// Handles a transfer message from the peer: chunks and credit go to their routes
    /// (returning `None`), the rest becomes an event for the owner. `None` also for chunks
    /// and credit of transfers without a route (ended ones, whose last bytes were in flight).
    pub(super) fn inbound(&mut self, message: PeerMessage) -> Option<FileEvent> {
        match message {
            PeerMessage::FileChunk { id, offset, data } => {
                let sink = self.receiving.get(&id)?;
                match sink.try_send(Chunk { offset, data }) {
                    Ok(()) => None,
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        self.receiving.remove(&id);
                        None
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.receiving.remove(&id);
                        Some(FileEvent::Overrun { id })
                    }
                }
            }
            PeerMessage::FileCredit { id, until } => {
                if let Some(credit) = self.sending.get(&id) {
                    credit.send_if_modified(|current| {
                        let grows = until > *current;
                        if grows {
                            *current = until;
                        }
                        grows
                    });
                }
                None
            }
            PeerMessage::FileOffer {
                id,
                sent_at_ms,
                name,
                size,
                sha256,
            } => Some(FileEvent::Offer {
                id,
                sent_at_ms,
                name,
                size,
                sha256,
            }),
            PeerMessage::FileAccept {
                id,
                offset,
                prefix_sha256,
                credit_until,
            } => Some(FileEvent::Accept {
                id,
                offset,
                prefix_sha256,
                credit_until,
            }),
            PeerMessage::FileDone { id } => {
                self.forget(id);
                Some(FileEvent::Done { id })
            }
            PeerMessage::FileCancel { id, reason } => {
                self.forget(id);
                // A peer's words are shown and stored: short, no escape sequences.
                let reason = match reason {
                    CancelReason::Invalid { detail } => CancelReason::Invalid {
                        detail: super::session::clip(detail),
                    },
                    CancelReason::CannotStore { detail } => CancelReason::CannotStore {
                        detail: super::session::clip(detail),
                    },
                    other => other,
                };
                Some(FileEvent::Cancel { id, reason })
            }
            // The session loop hands only the messages above to the routes.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> MessageId {
        MessageId(uuid::Uuid::from_u128(n))
    }

    #[tokio::test]
    async fn chunks_reach_their_route_and_an_overrun_is_reported_once() {
        let mut routes = Routes::default();
        let (sink, mut chunks) = mpsc::channel(2);
        assert!(
            routes
                .command(FileCommand::Receive { id: id(1), sink })
                .is_none()
        );
        let chunk = |offset| PeerMessage::FileChunk {
            id: id(1),
            offset,
            data: Bytes::from_static(b"x"),
        };
        assert_eq!(routes.inbound(chunk(0)), None);
        assert_eq!(routes.inbound(chunk(1)), None);
        assert_eq!(
            routes.inbound(chunk(2)),
            Some(FileEvent::Overrun { id: id(1) })
        );
        // The route is gone: later chunks are dropped quietly.
        assert_eq!(routes.inbound(chunk(3)), None);
        assert_eq!(chunks.recv().await.unwrap().offset, 0);
        assert_eq!(chunks.recv().await.unwrap().offset, 1);
        // Chunks of a transfer nobody receives are dropped.
        assert_eq!(routes.inbound(chunk(9)), None);
    }

    #[test]
    fn credit_only_grows_and_ends_with_the_transfer() {
        let mut routes = Routes::default();
        let (credit, seen) = watch::channel(10);
        routes.command(FileCommand::Send { id: id(2), credit });
        assert!(routes.sends(&id(2)));
        routes.inbound(PeerMessage::FileCredit {
            id: id(2),
            until: 50,
        });
        routes.inbound(PeerMessage::FileCredit {
            id: id(2),
            until: 20,
        });
        assert_eq!(*seen.borrow(), 50);
        let cancel = PeerMessage::FileCancel {
            id: id(2),
            reason: CancelReason::Declined,
        };
        assert_eq!(
            routes.inbound(cancel),
            Some(FileEvent::Cancel {
                id: id(2),
                reason: CancelReason::Declined
            })
        );
        assert!(!routes.sends(&id(2)));
    }

    #[test]
    fn a_window_of_chunks_fits_the_sink() {
        let chunks = FILE_WINDOW_BYTES.div_ceil(MAX_CHUNK_BYTES as u64);
        assert!(sink_capacity() as u64 > chunks);
    }
}
