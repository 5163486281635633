//! The outbox pump: one task per session that sends the peer's durable outbox in order.

use std::sync::Arc;

use p2p_chat_protocol::MessageId;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::net::{SessionHandle, SessionId};
use crate::store::{Delivery, LocalStore};

/// Outbox messages read from the store at a time: 64 (the session's command queue holds as
/// many, so one batch is handed over without waiting on a healthy session).
pub const PUMP_BATCH: u32 = 64;

/// What a pump reports after handing messages to its session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentBatch {
    /// The session that carries them.
    pub session: SessionId,
    /// The peer they are for.
    pub peer: String,
    /// Their ids, in the order sent.
    pub ids: Vec<MessageId>,
}

/// What a pump reports to its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PumpReport {
    /// Messages handed to the session and recorded as sent.
    Sent(SentBatch),
    /// The store failed; the message says what could not be read or written. Nothing is lost:
    /// unsent messages stay queued for the next session.
    StoreFailed(String),
    /// Our group frame `id` was handed to a member's session: how far it now got with each
    /// member it went to.
    GroupReceipts {
        /// The frame (a post's id, for a post).
        id: MessageId,
        /// `(member, delivery)` for each, sorted by member.
        receipts: Vec<(String, Delivery)>,
    },
}

/// A running pump; dropping it stops the task.
#[derive(Debug)]
pub struct Pump {
    peer: String,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Pump {
    /// Starts sending `peer`'s outbox on `session`, oldest first; after each batch, reports
    /// it on `reports` (if given) once the store records it as sent, and reports a store
    /// failure there too. The pump ends when the session does, or when it cannot read the
    /// outbox.
    pub fn start<R: From<PumpReport> + Send + 'static>(
        store: LocalStore,
        peer: String,
        session: SessionHandle,
        reports: Option<mpsc::Sender<R>>,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(run(store, peer.clone(), session, wake.clone(), reports));
        Self { peer, wake, task }
    }

    /// The peer this pump sends to.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Tells the pump that a message was queued: it sends it after the ones before it. A wake
    /// while the pump is busy is remembered, never lost.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run<R: From<PumpReport>>(
    store: LocalStore,
    peer: String,
    session: SessionHandle,
    wake: Arc<Notify>,
    reports: Option<mpsc::Sender<R>>,
) {
    // Everything up to this seq has been handed to this session (once per session).
    let mut cursor = 0i64;
    let mut group_cursor = 0i64;
    loop {
        // Group frames for this member first (they are few: changes and posts).
        match send_group_frames(&store, &peer, &session, &mut group_cursor).await {
            Ok(Some(sent)) => {
                if let Some(reports) = &reports {
                    for id in sent {
                        let Ok(receipts) = store.group_receipts(id).await else {
                            continue;
                        };
                        let report = PumpReport::GroupReceipts { id, receipts };
                        let _ = reports.send(report.into()).await;
                    }
                }
            }
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, %peer, "cannot read the group frames; this session stops sending them");
            }
        }
        let batch = match store.outbox_after(&peer, cursor, PUMP_BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                // Nothing is lost: the messages stay queued for the next session.
                tracing::warn!(%error, %peer, "cannot read the outbox; this session stops sending");
                if let Some(reports) = &reports {
                    let text = format!(
                        "cannot read the outbox for {peer} ({error}); the waiting messages go out with the next session"
                    );
                    let _ = reports.send(PumpReport::StoreFailed(text).into()).await;
                }
                return;
            }
        };
        if batch.is_empty() {
            wake.notified().await;
            continue;
        }
        let mut ids = Vec::with_capacity(batch.len());
        let mut gone = false;
        for message in batch {
            if session
                .send_message(
                    message.id,
                    message.sent_at_ms,
                    message.text,
                    message.reply_to,
                )
                .await
                .is_err()
            {
                gone = true;
                break;
            }
            cursor = message.seq;
            ids.push(message.id);
        }
        if !ids.is_empty() {
            let marked = store.set_delivery_many(&peer, &ids, Delivery::Sent).await;
            if let Some(reports) = &reports {
                let report = match marked {
                    Ok(()) => PumpReport::Sent(SentBatch {
                        session: session.id(),
                        peer: peer.clone(),
                        ids,
                    }),
                    Err(error) => PumpReport::StoreFailed(format!(
                        "cannot record messages to {peer} as sent ({error}); they may be sent again"
                    )),
                };
                if reports.send(report.into()).await.is_err() {
                    return;
                }
            }
        }
        if gone {
            return;
        }
    }
}

/// Hands `peer`'s waiting group frames queued after `cursor` to `session` (when the peer
/// takes groups), records them as sent and moves `cursor`. Returns the ids handed over, or
/// `None` when the session is gone.
async fn send_group_frames(
    store: &LocalStore,
    peer: &str,
    session: &SessionHandle,
    cursor: &mut i64,
) -> Result<Option<Vec<MessageId>>, crate::store::StoreError> {
    let mut sent = Vec::new();
    if !session.takes_groups() {
        return Ok(Some(sent));
    }
    loop {
        let frames = store.group_outbox_after(peer, *cursor, PUMP_BATCH).await?;
        if frames.is_empty() {
            return Ok(Some(sent));
        }
        let mut ids = Vec::with_capacity(frames.len());
        for (seq, id, frame) in frames {
            if session.send_group_frame(frame).await.is_err() {
                return Ok(None);
            }
            *cursor = seq;
            ids.push(id);
        }
        store.set_group_delivery(peer, &ids, Delivery::Sent).await?;
        sent.extend(ids);
    }
}
