//! Receiving: store first, then acknowledge; show only what was stored for the first time.

use std::collections::HashMap;

use p2p_chat_protocol::MessageId;

use crate::groups::{GroupNews, Groups, Received as GroupReceived};
use crate::net::{NetEvent, SessionEvent, SessionHandle, SessionId};
use crate::store::{Incoming, LocalStore, StoreError};

/// What [`take`] wrote.
#[derive(Debug)]
pub struct Taken {
    /// The messages, in arrival order, each acknowledged.
    pub received: Vec<Received>,
    /// Receipts for our messages and group frames, recorded as delivered: `(session, id)`.
    pub delivered: Vec<(SessionId, MessageId)>,
    /// Those of the receipts that were for our group frames (posts and changes), once each:
    /// their count of members who have them moved.
    pub group_delivered: Vec<MessageId>,
    /// What group frames brought (posts, changes), in arrival order.
    pub groups: Vec<(SessionId, GroupNews)>,
    /// Whether a group frame was taken that queued frames for members (forwarded changes):
    /// the owner wakes its pumps.
    pub groups_queued: bool,
}

/// Whether [`take`] handles this event (a message, a group frame or a delivery receipt); the
/// others (opened, closed, read) are the owner's.
pub fn carries_data(event: &NetEvent) -> bool {
    matches!(
        event.event,
        SessionEvent::Message { .. } | SessionEvent::Delivered { .. } | SessionEvent::Group(_)
    )
}

/// Writes what `events` brought from admitted sessions: receipts for our messages and group
/// frames (as delivered), then the messages (see [`store_then_acknowledge`]), then the group
/// frames, each judged by `groups` and acknowledged unless held (without `groups`, none is
/// acknowledged: the member sends them again to a program that takes groups). `admitted`
/// names the conversation and handle of a session, or `None` for one whose data is dropped
/// (refused, or not yet admitted: it gets no receipt).
///
/// # Errors
/// When the store cannot write; no receipt goes out then.
pub async fn take(
    store: &LocalStore,
    groups: Option<&mut Groups>,
    events: Vec<NetEvent>,
    admitted: impl Fn(SessionId) -> Option<(String, SessionHandle)>,
) -> Result<Taken, StoreError> {
    let mut received = Vec::new();
    let mut delivered = Vec::new();
    let mut group_frames = Vec::new();
    let mut by_peer: HashMap<String, Vec<MessageId>> = HashMap::new();
    for event in events {
        let Some((peer, handle)) = admitted(event.session) else {
            continue;
        };
        match event.event {
            SessionEvent::Message {
                id,
                sent_at_ms,
                text,
                reply_to,
            } => {
                let message = Incoming {
                    peer,
                    id,
                    sent_at_ms,
                    text,
                    reply_to,
                };
                received.push((handle, message));
            }
            SessionEvent::Delivered { id } => {
                by_peer.entry(peer).or_default().push(id);
                delivered.push((event.session, id));
            }
            SessionEvent::Group(frame) => group_frames.push((peer, handle, frame)),
            SessionEvent::Opened { .. }
            | SessionEvent::Read { .. }
            | SessionEvent::Typing
            | SessionEvent::RoundTrip { .. }
            | SessionEvent::File(_)
            | SessionEvent::Closed { .. } => {}
        }
    }
    let mut group_delivered = Vec::new();
    for (peer, ids) in by_peer {
        for id in store.set_delivered(&peer, &ids).await? {
            if !group_delivered.contains(&id) {
                group_delivered.push(id);
            }
        }
    }
    let received = store_then_acknowledge(store, received).await?;
    let mut news = Vec::new();
    let mut groups_queued = false;
    if let Some(groups) = groups {
        for (peer, handle, frame) in group_frames {
            let queued = groups.queued();
            match groups.receive(&peer, handle.peer_key(), frame).await? {
                GroupReceived::Ack { id, news: brought } => {
                    let _ = handle.acknowledge(id);
                    news.extend(brought.into_iter().map(|n| (handle.id(), n)));
                }
                GroupReceived::Hold => {
                    let _ = handle.release();
                }
                GroupReceived::Refuse { id, reason } => {
                    tracing::info!(%peer, %reason, "refused a group frame");
                    let _ = handle.acknowledge(id);
                }
            }
            groups_queued |= groups.queued() != queued;
        }
    }
    Ok(Taken {
        received,
        delivered,
        group_delivered,
        groups: news,
        groups_queued,
    })
}

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
