//! The store's side of the delivery rules: our messages written as queued and received ones
//! written before their receipt, the outbox read in order from a cursor, and received messages
//! and receipts written in batches (one transaction, one sync to disk, for everything a burst
//! brought at once).

use p2p_chat_protocol::MessageId;
use sqlx::Row;

use super::{Delivery, LocalStore, StoreError, Stored, ms, stored};

/// A message received from `peer`, to be stored before its receipt goes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The sender (the conversation it belongs to).
    pub peer: String,
    /// The sender's id; a resend carries the same one.
    pub id: MessageId,
    /// Sender's clock, unix ms.
    pub sent_at_ms: u64,
    /// The text.
    pub text: String,
    /// The message it answers, for a reply.
    pub reply_to: Option<MessageId>,
}

impl LocalStore {
    /// Writes one of our messages as queued; returns its `seq`.
    ///
    /// # Errors
    /// When the write fails (the message must then not be sent).
    pub async fn insert_outgoing(
        &self,
        peer: &str,
        id: MessageId,
        sent_at_ms: u64,
        text: &str,
    ) -> Result<i64, StoreError> {
        self.insert_outgoing_reply(peer, id, sent_at_ms, text, None)
            .await
    }

    /// [`LocalStore::insert_outgoing`] for a message that answers `reply_to` (when given).
    ///
    /// # Errors
    /// When the write fails.
    pub async fn insert_outgoing_reply(
        &self,
        peer: &str,
        id: MessageId,
        sent_at_ms: u64,
        text: &str,
        reply_to: Option<MessageId>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO messages (id, peer, outgoing, sent_at_ms, stored_at_ms, text, state, \
             reply_to) VALUES (?, ?, 1, ?, ?, ?, 0, ?) RETURNING seq",
        )
        .bind(id.0.as_bytes().as_slice())
        .bind(peer)
        .bind(ms(sent_at_ms))
        .bind(ms(crate::clock::now_ms()))
        .bind(text)
        .bind(reply_to.map(|r| r.0.as_bytes().to_vec()))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("seq")?)
    }

    /// Writes a received message unless one with the same id from the same peer is stored;
    /// returns its `seq`, or `None` for a duplicate (a resend).
    ///
    /// # Errors
    /// When the write fails (the receipt must then not be sent).
    pub async fn insert_incoming(
        &self,
        peer: &str,
        id: MessageId,
        sent_at_ms: u64,
        text: &str,
    ) -> Result<Option<i64>, StoreError> {
        let message = Incoming {
            peer: peer.to_owned(),
            id,
            sent_at_ms,
            text: text.to_owned(),
            reply_to: None,
        };
        let seqs = self
            .insert_incoming_many(std::slice::from_ref(&message))
            .await?;
        Ok(seqs.into_iter().next().flatten())
    }

    /// Up to `limit` of our undelivered messages to `peer` (queued or sent) stored after
    /// `after_seq`, oldest first: the next part of the outbox for a session that has sent
    /// everything up to `after_seq`.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn outbox_after(
        &self,
        peer: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE outgoing = 1 AND state < 2 AND peer = ? AND seq > ? \
             ORDER BY seq LIMIT ?"
        );
        let rows = sqlx::query(sql)
            .bind(peer)
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?)
    }

    /// Our undelivered messages to `peer` that are not in the directory's mailbox yet, oldest
    /// first: what a deposit adds.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn undeposited(&self, peer: &str) -> Result<Vec<Stored>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE outgoing = 1 AND state < 2 AND deposited = 0 AND peer = ? \
             ORDER BY seq"
        );
        let rows = sqlx::query(sql).bind(peer).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?)
    }

    /// Records that our message `id` to `peer` is sealed in the mailbox (and so sent).
    ///
    /// # Errors
    /// When the write fails.
    pub async fn mark_deposited(&self, peer: &str, id: MessageId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE messages SET deposited = 1, state = MAX(state, 1) \
             WHERE peer = ? AND outgoing = 1 AND id = ? AND state < 2",
        )
        .bind(peer)
        .bind(id.0.as_bytes().as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets many of our messages to `peer` to `delivery` in one transaction; a delivered
    /// message never moves back.
    ///
    /// # Errors
    /// When the write fails; nothing is written then.
    pub async fn set_delivery_many(
        &self,
        peer: &str,
        ids: &[MessageId],
        delivery: Delivery,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        for id in ids {
            sqlx::query(
                "UPDATE messages SET state = ? \
                 WHERE peer = ? AND outgoing = 1 AND id = ? AND state <> 2",
            )
            .bind(delivery.code())
            .bind(peer)
            .bind(id.0.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records receipts from `peer` for `ids`, in one transaction: our messages to `peer`
    /// and our group frames for `peer` with those ids are delivered (never moved back).
    /// Returns the ids that were group frames for `peer`.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn set_delivered(
        &self,
        peer: &str,
        ids: &[MessageId],
    ) -> Result<Vec<MessageId>, StoreError> {
        let mut tx = self.write().await?;
        let mut group_frames = Vec::new();
        for id in ids {
            let bytes = id.0.as_bytes().as_slice();
            sqlx::query(
                "UPDATE messages SET state = 2 WHERE peer = ? AND outgoing = 1 AND id = ? \
                 AND state <> 2",
            )
            .bind(peer)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
            let frame = sqlx::query(
                "UPDATE group_outbox SET state = 2 WHERE member = ? AND id = ? AND state <> 2",
            )
            .bind(peer)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
            if frame.rows_affected() > 0 {
                group_frames.push(*id);
            }
        }
        tx.commit().await?;
        Ok(group_frames)
    }

    /// Stores received messages in one transaction, in the order given, skipping any already
    /// stored (a resend: same peer, same id). Returns, for each, its `seq`, or `None` for a
    /// duplicate.
    ///
    /// # Errors
    /// When the write fails; nothing is stored then, and no receipt may go back.
    pub async fn insert_incoming_many(
        &self,
        messages: &[Incoming],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut tx = self.write().await?;
        let mut seqs = Vec::with_capacity(messages.len());
        for m in messages {
            let row = sqlx::query(
                "INSERT INTO messages (id, peer, outgoing, sent_at_ms, stored_at_ms, text, state, \
                 reply_to) VALUES (?, ?, 0, ?, ?, ?, 2, ?) \
                 ON CONFLICT (peer, outgoing, id) DO NOTHING RETURNING seq",
            )
            .bind(m.id.0.as_bytes().as_slice())
            .bind(&m.peer)
            .bind(ms(m.sent_at_ms))
            .bind(ms(crate::clock::now_ms()))
            .bind(&m.text)
            .bind(m.reply_to.map(|r| r.0.as_bytes().to_vec()))
            .fetch_optional(&mut *tx)
            .await?;
            seqs.push(row.map(|r| r.try_get("seq")).transpose()?);
        }
        tx.commit().await?;
        Ok(seqs)
    }
}
