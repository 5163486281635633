//! Groups in the local store (`docs/decisions/0004-groups-as-pairwise-change-logs.md`): each
//! group's log of changes, the group frames waiting for each member, and the posts of a
//! group's conversation, which live in `messages` under the peer [`conversation_key`].
//!
//! Everything one step of a group does (a change with the frames that announce it, a post
//! with the frames that carry it, an invitation taken) is written in one transaction
//! ([`LocalStore::commit_group`]), so a crash never leaves a change without its frames or a
//! post shown but never sent.

use p2p_chat_protocol::frame::{decode_payload, encode_payload};
use p2p_chat_protocol::group::{Change, GroupId};
use p2p_chat_protocol::{MessageId, PeerMessage};
use sqlx::Row;

use super::{Delivery, LocalStore, StoreError, message_id, ms};

/// The `messages.peer` of group `id`'s conversation: `#` and the id (no username starts
/// with `#`).
pub fn conversation_key(id: GroupId) -> String {
    format!("#{id}")
}

/// Whether `peer` (a `messages.peer`) is a group's conversation ([`conversation_key`]).
pub fn is_group_conversation(peer: &str) -> bool {
    peer.starts_with('#')
}

/// The group whose conversation `peer` is ([`conversation_key`]), if it is one.
pub fn group_of_conversation(peer: &str) -> Option<GroupId> {
    let id = peer.strip_prefix('#')?;
    uuid::Uuid::parse_str(id).ok().map(GroupId)
}

/// A group as the store lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    /// Its id.
    pub id: GroupId,
    /// Its name as the log last made it.
    pub name: String,
    /// Who added us (whose word we took for the log); `None` for a group we created.
    pub added_by: Option<String>,
    /// Whether we are a member (not after we left or were removed).
    pub member: bool,
}

/// A post to store with a group step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPostRow {
    /// Its id (the same for every member).
    pub id: MessageId,
    /// Who wrote it; `None` for our own.
    pub sender: Option<String>,
    /// When its writer pressed enter, unix ms.
    pub sent_at_ms: u64,
    /// The text.
    pub text: String,
    /// The message it answers.
    pub reply_to: Option<MessageId>,
}

/// One step of a group, written at once by [`LocalStore::commit_group`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStep {
    /// The group as it stands after the step.
    pub group: GroupRecord,
    /// Changes to add to its log (those already stored are skipped).
    pub changes: Vec<Change>,
    /// Frames to queue: `(member, frame id, frame)`.
    pub frames: Vec<(String, MessageId, PeerMessage)>,
    /// A post to add to the conversation.
    pub post: Option<GroupPostRow>,
    /// A notice to add to the conversation (the change in words), with when, unix ms.
    pub notice: Option<(u64, String)>,
}

/// Where [`LocalStore::commit_group`] put a step's post and notice in the conversation
/// (`seq`; `None` for a post stored already, or none given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Committed {
    /// The post's place.
    pub post: Option<i64>,
    /// The notice's place.
    pub notice: Option<i64>,
}

fn group_id(bytes: &[u8]) -> Result<GroupId, sqlx::Error> {
    uuid::Uuid::from_slice(bytes)
        .map(GroupId)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn column_error(e: p2p_chat_protocol::FrameError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

impl LocalStore {
    /// Writes one step of a group in one transaction: the group's name and standing, the new
    /// changes of its log, the frames for its members, a post and a notice. The post's place
    /// is `None` when it was stored already (a resend).
    ///
    /// # Errors
    /// When the write fails: nothing of the step is stored then (and no receipt may go back).
    pub async fn commit_group(&self, step: &GroupStep) -> Result<Committed, StoreError> {
        let mut tx = self.write().await?;
        let id = step.group.id.0.as_bytes().as_slice();
        sqlx::query(
            "INSERT INTO groups (id, name, added_by, member) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, added_by = excluded.added_by, \
             member = excluded.member",
        )
        .bind(id)
        .bind(&step.group.name)
        .bind(&step.group.added_by)
        .bind(i64::from(step.group.member))
        .execute(&mut *tx)
        .await?;
        for change in &step.changes {
            sqlx::query(
                "INSERT OR IGNORE INTO group_changes (group_id, author, seq, change) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&change.author)
            .bind(i64::from(change.seq))
            .bind(change.to_bytes().map_err(column_error)?)
            .execute(&mut *tx)
            .await?;
        }
        for (member, frame_id, frame) in &step.frames {
            sqlx::query(
                "INSERT OR IGNORE INTO group_outbox (member, id, frame, state) VALUES (?, ?, ?, 0)",
            )
            .bind(member)
            .bind(frame_id.0.as_bytes().as_slice())
            .bind(encode_payload(frame).map_err(column_error)?)
            .execute(&mut *tx)
            .await?;
        }
        let mut seq = None;
        if let Some(post) = &step.post {
            let row = sqlx::query(
                "INSERT INTO messages (id, peer, outgoing, sent_at_ms, stored_at_ms, text, state, \
                 reply_to, sender) VALUES (?, ?, ?, ?, ?, ?, 2, ?, ?) \
                 ON CONFLICT (peer, outgoing, id) DO NOTHING RETURNING seq",
            )
            .bind(post.id.0.as_bytes().as_slice())
            .bind(conversation_key(step.group.id))
            .bind(i64::from(post.sender.is_none()))
            .bind(ms(post.sent_at_ms))
            .bind(ms(crate::clock::now_ms()))
            .bind(&post.text)
            .bind(post.reply_to.map(|r| r.0.as_bytes().to_vec()))
            .bind(&post.sender)
            .fetch_optional(&mut *tx)
            .await?;
            seq = row.map(|r| r.try_get("seq")).transpose()?;
        }
        let mut notice = None;
        if let Some((at_ms, text)) = &step.notice {
            let row = sqlx::query(
                "INSERT INTO messages (id, peer, outgoing, sent_at_ms, stored_at_ms, text, state, \
                 notice) VALUES (?, ?, 0, ?, ?, ?, 2, 1) RETURNING seq",
            )
            .bind(MessageId::new().0.as_bytes().as_slice())
            .bind(conversation_key(step.group.id))
            .bind(ms(*at_ms))
            .bind(ms(crate::clock::now_ms()))
            .bind(text)
            .fetch_one(&mut *tx)
            .await?;
            notice = Some(row.try_get("seq")?);
        }
        tx.commit().await?;
        Ok(Committed { post: seq, notice })
    }

    /// Every group we know, oldest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn groups(&self) -> Result<Vec<GroupRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, added_by, member FROM groups ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let record = |row: &sqlx::sqlite::SqliteRow| -> Result<GroupRecord, sqlx::Error> {
            let id: Vec<u8> = row.try_get("id")?;
            Ok(GroupRecord {
                id: group_id(&id)?,
                name: row.try_get("name")?,
                added_by: row.try_get("added_by")?,
                member: row.try_get::<i64, _>("member")? == 1,
            })
        };
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    /// Group `id`'s log, in no particular order (`Log::new` orders it).
    ///
    /// # Errors
    /// When the read fails or a stored change does not decode.
    pub async fn group_changes(&self, id: GroupId) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query("SELECT change FROM group_changes WHERE group_id = ?")
            .bind(id.0.as_bytes().as_slice())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Change::from_bytes(&row.try_get::<Vec<u8>, _>("change")?).map_err(column_error)
            })
            .collect::<Result<_, _>>()?)
    }

    /// `member`'s waiting group frames (not yet acknowledged) that are not in the
    /// directory's mailbox yet, oldest first: `(frame id, frame)`.
    ///
    /// # Errors
    /// When the read fails or a stored frame does not decode.
    pub async fn group_undeposited(
        &self,
        member: &str,
    ) -> Result<Vec<(MessageId, PeerMessage)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, frame FROM group_outbox WHERE member = ? AND state < 2 AND deposited = 0 \
             ORDER BY seq",
        )
        .bind(member)
        .fetch_all(&self.pool)
        .await?;
        let frame = |row: &sqlx::sqlite::SqliteRow| -> Result<_, sqlx::Error> {
            let id: Vec<u8> = row.try_get("id")?;
            let frame: Vec<u8> = row.try_get("frame")?;
            Ok((
                message_id(&id)?,
                decode_payload(&frame).map_err(column_error)?,
            ))
        };
        Ok(rows.iter().map(frame).collect::<Result<_, _>>()?)
    }

    /// Records group frame `id` for `member` as sealed in the mailbox: sent, and never
    /// deposited again.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn mark_group_deposited(
        &self,
        member: &str,
        id: MessageId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE group_outbox SET deposited = 1, state = MAX(state, 1) WHERE member = ? AND id = ?",
        )
        .bind(member)
        .bind(id.0.as_bytes().as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` group frames waiting for `member` (queued or sent, not yet receipted)
    /// queued after `after_seq`, oldest first: `(seq, id, frame)`.
    ///
    /// # Errors
    /// When the read fails or a frame does not decode.
    pub async fn group_outbox_after(
        &self,
        member: &str,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, MessageId, PeerMessage)>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, id, frame FROM group_outbox WHERE member = ? AND state < 2 AND seq > ? \
             ORDER BY seq LIMIT ?",
        )
        .bind(member)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let frame = |row: &sqlx::sqlite::SqliteRow| -> Result<_, sqlx::Error> {
            let id: Vec<u8> = row.try_get("id")?;
            Ok((
                row.try_get("seq")?,
                message_id(&id)?,
                decode_payload(&row.try_get::<Vec<u8>, _>("frame")?).map_err(column_error)?,
            ))
        };
        Ok(rows.iter().map(frame).collect::<Result<_, _>>()?)
    }

    /// Records that `member` has `delivery` of frames `ids` (never moving a receipted one
    /// back); returns how many frames it changed.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn set_group_delivery(
        &self,
        member: &str,
        ids: &[MessageId],
        delivery: Delivery,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let mut changed = 0;
        for id in ids {
            changed += sqlx::query(
                "UPDATE group_outbox SET state = ? WHERE member = ? AND id = ? AND state <> 2",
            )
            .bind(delivery.code())
            .bind(member)
            .bind(id.0.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Members with group frames not yet acknowledged, sorted.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn group_members_waiting(&self) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT DISTINCT member FROM group_outbox WHERE state < 2 ORDER BY member")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("member"))
            .collect::<Result<_, _>>()?)
    }

    /// Who frame `id` went to, and how far it got with each, sorted by member.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn group_receipts(
        &self,
        id: MessageId,
    ) -> Result<Vec<(String, Delivery)>, StoreError> {
        let rows =
            sqlx::query("SELECT member, state FROM group_outbox WHERE id = ? ORDER BY member")
                .bind(id.0.as_bytes().as_slice())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("member")?,
                    Delivery::from_code(row.try_get("state")?),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}

#[cfg(test)]
mod tests;
