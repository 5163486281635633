//! The profile's local store: history, outbox, read markers, pinned keys and the cached
//! contact list in one SQLite file (`p2p-chat.db`).
//!
//! A message we send is written here (queued) before it goes to the network; a message we
//! receive is written here before the receipt goes back. The file runs in WAL mode with
//! `synchronous = FULL`, so a write that returned survives `kill -9` and power loss.
//! Conversations are read in pages of [`PAGE_SIZE`] "before seq" (keyset paging), so a chat of
//! any length opens at once.

mod keys;
mod schema;

pub use delivery::Incoming;
pub use search::MAX_HITS;

use std::path::Path;

use p2p_chat_protocol::MessageId;
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

/// Messages per page of history: 100, as the chat backends this project grew from used.
pub const PAGE_SIZE: u32 = 100;

/// Name of the store file inside the profile directory.
pub const STORE_FILE: &str = "p2p-chat.db";

/// Which page of a conversation to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// The newest messages.
    Newest,
    /// Messages older than this `seq`.
    Before(i64),
    /// Messages newer than this `seq`.
    After(i64),
    /// This message and those around it: half a page older (it included), half newer
    /// (a search hit shown in context).
    Around(i64),
}

/// Where one of our messages stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Delivery {
    /// Written locally; the peer has not been reached yet.
    Queued,
    /// Handed to an open session (or deposited in the mailbox); no receipt yet.
    Sent,
    /// The peer stored it and said so.
    Delivered,
    /// It will not be delivered; the detail says why.
    Failed,
}

impl Delivery {
    fn code(self) -> i64 {
        match self {
            Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Failed => 3,
        }
    }

    fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Queued,
            1 => Self::Sent,
            3 => Self::Failed,
            _ => Self::Delivered,
        }
    }
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Local order; larger is newer.
    pub seq: i64,
    /// The sender's id.
    pub id: MessageId,
    /// The other side of the conversation.
    pub peer: String,
    /// Whether we wrote it.
    pub outgoing: bool,
    /// Sender's clock, unix ms.
    pub sent_at_ms: u64,
    /// The text.
    pub text: String,
    /// Delivery state (received messages are always `Delivered`).
    pub delivery: Delivery,
    /// Why it failed, if it did.
    pub detail: Option<String>,
    /// The message it answers, for a reply.
    pub reply_to: Option<MessageId>,
    /// The member who wrote a received group post; `None` for one-to-one messages and our
    /// own posts.
    pub sender: Option<String>,
    /// A group's notice (who added whom, a rename), kept in order with its posts.
    pub notice: bool,
}

/// A conversation in the store, for the contact list at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// The peer.
    pub peer: String,
    /// Received messages after the read marker.
    pub unread: u64,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[error("local store: {0}")]
pub struct StoreError(#[from] pub sqlx::Error);

/// The local store.
#[derive(Clone, Debug)]
pub struct LocalStore {
    pool: SqlitePool,
}

/// The columns [`stored`] reads; a macro so queries stay `&'static str` built with `concat!`.
macro_rules! columns {
    () => {
        "seq, id, peer, outgoing, sent_at_ms, text, state, detail, reply_to, sender, notice"
    };
}

// After `columns!`, which they use.
mod delivery;
mod groups;
mod search;
mod transfers;

pub use groups::{
    Committed, GroupPostRow, GroupRecord, GroupStep, conversation_key, group_of_conversation,
    is_group_conversation,
};
pub use transfers::{Transfer, TransferState};

/// A 16-byte message id column.
fn message_id(bytes: &[u8]) -> Result<MessageId, sqlx::Error> {
    uuid::Uuid::from_slice(bytes)
        .map(MessageId)
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn stored(row: &SqliteRow) -> Result<Stored, sqlx::Error> {
    let id: Vec<u8> = row.try_get("id")?;
    let reply_to: Option<Vec<u8>> = row.try_get("reply_to")?;
    Ok(Stored {
        seq: row.try_get("seq")?,
        id: message_id(&id)?,
        peer: row.try_get("peer")?,
        outgoing: row.try_get::<i64, _>("outgoing")? == 1,
        sent_at_ms: u64::try_from(row.try_get::<i64, _>("sent_at_ms")?).unwrap_or(0),
        text: row.try_get("text")?,
        delivery: Delivery::from_code(row.try_get("state")?),
        detail: row.try_get("detail")?,
        reply_to: reply_to.as_deref().map(message_id).transpose()?,
        sender: row.try_get("sender")?,
        notice: row.try_get::<i64, _>("notice")? == 1,
    })
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl LocalStore {
    /// Starts a write transaction that takes SQLite's write lock with its `BEGIN`
    /// (`BEGIN IMMEDIATE`), waiting for it up to the busy timeout. Every write transaction of
    /// the store starts here: with a deferred `BEGIN` the transaction starts as a reader, and
    /// SQLite may refuse its upgrade to writer at once with "database is locked" instead of
    /// waiting (SQLite documentation, "Transaction", on read transactions that write).
    /// Overlapping writers reproduced that (`overlapping_writers_…` in the store's tests), and
    /// it cost the window whole received batches under load.
    ///
    /// # Errors
    /// When no connection is free or the lock stays taken past the busy timeout.
    pub(crate) async fn write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Opens (creating it if needed) the store of the profile in `home` and applies the
    /// migrations.
    ///
    /// # Errors
    /// When the file cannot be opened or migrated.
    pub async fn open(home: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            pool: schema::open_file(&home.join(STORE_FILE)).await?,
        })
    }

    /// A private store in memory (the demo; tests).
    ///
    /// # Errors
    /// When SQLite cannot start.
    pub async fn in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            pool: schema::open_memory().await?,
        })
    }

    /// Closes the store: waits for running queries, then closes every connection. Later
    /// calls fail with [`StoreError`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Records a new delivery state of our message `id` to `peer`. Never moves a delivered
    /// message back.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn set_delivery(
        &self,
        peer: &str,
        id: MessageId,
        delivery: Delivery,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE messages SET state = ?, detail = ? WHERE peer = ? AND outgoing = 1 AND id = ? AND state <> 2")
            .bind(delivery.code())
            .bind(detail)
            .bind(peer)
            .bind(id.0.as_bytes().as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Up to `limit` messages with `peer` older than `before` (newest page when `None`),
    /// oldest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn page(
        &self,
        peer: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE peer = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        );
        let rows = sqlx::query(sql)
            .bind(peer)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut page = rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok(page)
    }

    /// The page `request` of the conversation with `peer`, at most `limit` messages, oldest
    /// first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn read_page(
        &self,
        peer: &str,
        request: PageRequest,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        match request {
            PageRequest::Newest => self.page(peer, None, limit).await,
            PageRequest::Before(seq) => self.page(peer, Some(seq), limit).await,
            PageRequest::After(seq) => self.page_after(peer, seq, limit).await,
            PageRequest::Around(seq) => {
                let mut page = self
                    .page(peer, Some(seq.saturating_add(1)), limit / 2 + 1)
                    .await?;
                page.extend(self.page_after(peer, seq, limit / 2).await?);
                Ok(page)
            }
        }
    }

    /// Up to `limit` messages with `peer` newer than `after`, oldest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn page_after(
        &self,
        peer: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Stored>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE peer = ? AND seq > ? ORDER BY seq LIMIT ?"
        );
        let rows = sqlx::query(sql)
            .bind(peer)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?)
    }

    /// Writes many received messages in one transaction (an import; benchmarks), skipping ones
    /// already stored.
    ///
    /// # Errors
    /// When the write fails; nothing is written then.
    pub async fn import_incoming(
        &self,
        peer: &str,
        messages: &[(MessageId, u64, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        for (id, sent_at_ms, text) in messages {
            sqlx::query(
                "INSERT INTO messages (id, peer, outgoing, sent_at_ms, stored_at_ms, text, state) \
                 VALUES (?, ?, 0, ?, ?, ?, 2) ON CONFLICT (peer, outgoing, id) DO NOTHING",
            )
            .bind(id.0.as_bytes().as_slice())
            .bind(peer)
            .bind(ms(*sent_at_ms))
            .bind(ms(crate::clock::now_ms()))
            .bind(text.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Our undelivered messages (queued, sent), oldest first: what to (re)send.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn outbox(&self) -> Result<Vec<Stored>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM messages WHERE outgoing = 1 AND state < 2 ORDER BY seq"
        );
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(stored).collect::<Result<Vec<_>, _>>()?)
    }

    /// Every conversation with its unread count, most recent first; a group's is under its
    /// [`conversation_key`].
    ///
    /// # Errors
    /// When the read fails.
    pub async fn conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.peer AS peer, \
                    SUM(CASE WHEN m.outgoing = 0 AND m.seq > COALESCE(r.last_seq, 0) THEN 1 ELSE 0 END) AS unread, \
                    MAX(m.seq) AS newest \
             FROM messages m LEFT JOIN read_markers r ON r.peer = m.peer \
             GROUP BY m.peer ORDER BY newest DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let unread: i64 = row.try_get("unread")?;
                Ok(Conversation {
                    peer: row.try_get("peer")?,
                    unread: u64::try_from(unread).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(StoreError)
    }

    /// Marks everything in the conversation with `peer` up to `seq` as read.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn mark_read(&self, peer: &str, seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO read_markers (peer, last_seq) VALUES (?, ?) \
             ON CONFLICT (peer) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
        )
        .bind(peer)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
