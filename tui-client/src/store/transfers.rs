//! The store's record of file transfers (migration 0006): offers we made and received, where
//! their bytes are and how they ended. The bytes themselves live in files, never here.

use std::path::PathBuf;

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::peer::now_unix_ms;
use p2p_chat_protocol::transfer::{CancelReason, Sha256};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{LocalStore, StoreError, message_id, ms};

/// Where a transfer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferState {
    /// Offered; the receiver has not answered yet.
    Offered,
    /// The receiver took it; bytes move whenever a session is open.
    Accepted,
    /// The receiver has every byte and the hash matched.
    Done,
    /// Declined, cancelled or failed; the detail says which.
    Ended,
}

impl TransferState {
    fn code(self) -> i64 {
        match self {
            Self::Offered => 0,
            Self::Accepted => 1,
            Self::Done => 2,
            Self::Ended => 3,
        }
    }

    fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Offered,
            1 => Self::Accepted,
            2 => Self::Done,
            _ => Self::Ended,
        }
    }

    /// Whether the transfer may still move (offered or accepted).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Offered | Self::Accepted)
    }
}

/// One transfer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The offer's id.
    pub id: MessageId,
    /// The other side.
    pub peer: String,
    /// Whether we send it.
    pub outgoing: bool,
    /// The name as offered (for a received file, not yet sanitised).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the whole file.
    pub sha256: Sha256,
    /// Ours: the file we send. Theirs: the partial file while it comes, the saved file once
    /// done; `None` before it is accepted.
    pub path: Option<PathBuf>,
    /// Ours: the source's modification time when offered, unix ms (a changed file is not
    /// sent).
    pub source_mtime_ms: Option<u64>,
    /// Where it stands.
    pub state: TransferState,
    /// Why it ended.
    pub detail: Option<String>,
    /// When the sender's user offered it, unix ms.
    pub sent_at_ms: u64,
}

fn transfer(row: &SqliteRow) -> Result<Transfer, sqlx::Error> {
    let id: Vec<u8> = row.try_get("id")?;
    let sha: Vec<u8> = row.try_get("sha256")?;
    let path: Option<String> = row.try_get("path")?;
    let mtime: Option<i64> = row.try_get("source_mtime_ms")?;
    Ok(Transfer {
        id: message_id(&id)?,
        peer: row.try_get("peer")?,
        outgoing: row.try_get::<i64, _>("outgoing")? == 1,
        name: row.try_get("name")?,
        size: u64::try_from(row.try_get::<i64, _>("size")?).unwrap_or(0),
        sha256: Sha256::try_from(sha.as_slice()).unwrap_or([0; 32]),
        path: path.map(PathBuf::from),
        source_mtime_ms: mtime.and_then(|m| u64::try_from(m).ok()),
        state: TransferState::from_code(row.try_get("state")?),
        detail: row.try_get("detail")?,
        sent_at_ms: u64::try_from(row.try_get::<i64, _>("sent_at_ms")?).unwrap_or(0),
    })
}

/// The columns [`transfer`] reads; a macro so queries stay `&'static str` built with `concat!`.
macro_rules! transfer_columns {
    () => {
        "id, peer, outgoing, name, size, sha256, path, source_mtime_ms, state, detail, sent_at_ms"
    };
}

impl LocalStore {
    /// Records a transfer (an offer we make or receive); returns `false`, changing nothing,
    /// when one with its id is already stored (a repeated offer).
    ///
    /// # Errors
    /// When the write fails.
    pub async fn insert_transfer(&self, t: &Transfer) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO transfers (id, peer, outgoing, name, size, sha256, path, \
             source_mtime_ms, state, detail, sent_at_ms, updated_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.0.as_bytes().as_slice())
        .bind(&t.peer)
        .bind(i64::from(t.outgoing))
        .bind(&t.name)
        .bind(ms(t.size))
        .bind(t.sha256.as_slice())
        .bind(t.path.as_ref().map(|p| p.to_string_lossy().into_owned()))
        .bind(t.source_mtime_ms.map(ms))
        .bind(t.state.code())
        .bind(&t.detail)
        .bind(ms(t.sent_at_ms))
        .bind(ms(now_unix_ms()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The transfer `id`, if stored.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn transfer(&self, id: MessageId) -> Result<Option<Transfer>, StoreError> {
        let query = concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE id = ?"
        );
        let row = sqlx::query(query)
            .bind(id.0.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(transfer).transpose()?)
    }

    /// Transfers with `peer` that may still move (offered or accepted), oldest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn open_transfers(&self, peer: &str) -> Result<Vec<Transfer>, StoreError> {
        let query = concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE peer = ? AND state IN (0, 1) ORDER BY id"
        );
        let rows = sqlx::query(query).bind(peer).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(transfer).collect::<Result<_, _>>()?)
    }

    /// Every transfer that may still move (offered or accepted), oldest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn all_open_transfers(&self) -> Result<Vec<Transfer>, StoreError> {
        let query = concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers WHERE state IN (0, 1) ORDER BY id"
        );
        let rows = sqlx::query(query).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(transfer).collect::<Result<_, _>>()?)
    }

    /// The newest `limit` transfers, newest first.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn recent_transfers(&self, limit: u32) -> Result<Vec<Transfer>, StoreError> {
        let query = concat!(
            "SELECT ",
            transfer_columns!(),
            " FROM transfers ORDER BY id DESC LIMIT ?"
        );
        let rows = sqlx::query(query).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(transfer).collect::<Result<_, _>>()?)
    }

    /// Moves transfer `id` to `state`, with `path` (kept when `None`) and `detail`. A transfer
    /// that is done or ended stays so: returns `false` and changes nothing.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn set_transfer(
        &self,
        id: MessageId,
        state: TransferState,
        path: Option<&std::path::Path>,
        detail: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE transfers SET state = ?, path = COALESCE(?, path), detail = ?, \
             updated_at_ms = ? WHERE id = ? AND state IN (0, 1)",
        )
        .bind(state.code())
        .bind(path.map(|p| p.to_string_lossy().into_owned()))
        .bind(detail)
        .bind(ms(now_unix_ms()))
        .bind(id.0.as_bytes().as_slice())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends transfer `id` (as [`LocalStore::set_transfer`] with [`TransferState::Ended`] and
    /// `words` as the detail), keeping `reason` to repeat to the peer; `false` when it was
    /// already done or ended.
    ///
    /// # Errors
    /// When the write fails.
    pub async fn end_transfer(
        &self,
        id: MessageId,
        words: &str,
        reason: &CancelReason,
    ) -> Result<bool, StoreError> {
        let encoded = serde_json::to_string(reason).ok();
        let done = sqlx::query(
            "UPDATE transfers SET state = ?, detail = ?, end_reason = ?, updated_at_ms = ? \
             WHERE id = ? AND state IN (0, 1)",
        )
        .bind(TransferState::Ended.code())
        .bind(words)
        .bind(encoded)
        .bind(ms(now_unix_ms()))
        .bind(id.0.as_bytes().as_slice())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Why transfer `id` ended, as kept by [`LocalStore::end_transfer`]; `None` when it did
    /// not end, ended without a kept reason, or is unknown.
    ///
    /// # Errors
    /// When the read fails.
    pub async fn end_reason(&self, id: MessageId) -> Result<Option<CancelReason>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT end_reason FROM transfers WHERE id = ?")
                .bind(id.0.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row
            .and_then(|(bytes,)| bytes)
            .and_then(|json| serde_json::from_str(&json).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(n: u128, outgoing: bool) -> Transfer {
        Transfer {
            id: MessageId(uuid::Uuid::from_u128(n)),
            peer: "bob".into(),
            outgoing,
            name: "a.txt".into(),
            size: 12,
            sha256: [7; 32],
            path: outgoing.then(|| PathBuf::from("/tmp/a.txt")),
            source_mtime_ms: outgoing.then_some(5),
            state: TransferState::Offered,
            detail: None,
            sent_at_ms: 99,
        }
    }

    #[tokio::test]
    async fn a_transfer_is_stored_once_and_ends_for_good() {
        let store = LocalStore::in_memory().await.unwrap();
        let ours = offer(1, true);
        assert!(store.insert_transfer(&ours).await.unwrap());
        assert!(!store.insert_transfer(&ours).await.unwrap());
        assert_eq!(store.transfer(ours.id).await.unwrap(), Some(ours.clone()));
        let theirs = offer(2, false);
        store.insert_transfer(&theirs).await.unwrap();
        assert_eq!(store.open_transfers("bob").await.unwrap().len(), 2);

        let part = std::path::Path::new("/d/a.txt.partial");
        assert!(
            store
                .set_transfer(theirs.id, TransferState::Accepted, Some(part), None)
                .await
                .unwrap()
        );
        let got = store.transfer(theirs.id).await.unwrap().unwrap();
        assert_eq!(
            (got.state, got.path.as_deref()),
            (TransferState::Accepted, Some(part))
        );
        assert!(
            store
                .set_transfer(theirs.id, TransferState::Ended, None, Some("cancelled"))
                .await
                .unwrap()
        );
        // Ended stays ended; the path is kept.
        assert!(
            !store
                .set_transfer(theirs.id, TransferState::Done, None, None)
                .await
                .unwrap()
        );
        let got = store.transfer(theirs.id).await.unwrap().unwrap();
        assert_eq!(got.state, TransferState::Ended);
        assert_eq!(got.detail.as_deref(), Some("cancelled"));
        assert_eq!(got.path.as_deref(), Some(part));
        assert_eq!(
            store.open_transfers("bob").await.unwrap(),
            vec![ours.clone()]
        );
        assert_eq!(
            store.all_open_transfers().await.unwrap(),
            vec![ours.clone()]
        );
        // An end keeps its reason, to be told again; an old end without one has none.
        assert_eq!(store.end_reason(theirs.id).await.unwrap(), None);
        let reason = p2p_chat_protocol::transfer::CancelReason::CannotStore {
            detail: "disk full".into(),
        };
        assert!(
            store
                .end_transfer(ours.id, "the receiver cannot store it", &reason)
                .await
                .unwrap()
        );
        assert!(!store.end_transfer(ours.id, "again", &reason).await.unwrap());
        assert_eq!(store.end_reason(ours.id).await.unwrap(), Some(reason));
        let got = store.transfer(ours.id).await.unwrap().unwrap();
        assert_eq!(got.state, TransferState::Ended);
        assert_eq!(got.detail.as_deref(), Some("the receiver cannot store it"));
        assert_eq!(store.recent_transfers(1).await.unwrap()[0].id, theirs.id);
    }
}
