//! [`Admin`] on SQLite: invites, accounts as the operator sees them, mailbox totals, backups.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;

use super::SqliteStore;
use super::write::Writer;
use crate::store::convert::{
    RawAccountRow, RawInviteRow, RawMailboxStats, RawUserCounts, account_row, invite_row,
    mailbox_stats, millis, user_counts,
};
use crate::store::{
    AccountRow, Admin, InviteRow, MailboxStats, NewInvite, StoreError, TokenHash, UserCounts,
};

/// An account's columns with its unexpired logins and mail at `?1`, from `clients c`.
macro_rules! select_account {
    ($rest:literal) => {
        concat!(
            "SELECT c.username, c.host, c.port, c.public_key, c.registered_at, c.last_seen, ",
            "c.heartbeat_at, c.disabled, ",
            "(SELECT COUNT(*) FROM tokens t WHERE t.username = c.username AND t.expires_at > ?1), ",
            "(SELECT COUNT(*) FROM mailbox m WHERE m.recipient = c.username AND m.expires_at > ?1), ",
            "(SELECT COALESCE(SUM(m.size), 0) FROM mailbox m ",
            "WHERE m.recipient = c.username AND m.expires_at > ?1) ",
            "FROM clients c ",
            $rest
        )
    };
}

/// Uses up invite `hash` by one inside the caller's transaction, at `now` (ms); false when it
/// is unknown, used up, expired or revoked.
pub(super) async fn use_invite(
    conn: &mut SqliteConnection,
    hash: &TokenHash,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invites SET uses = uses + 1 WHERE code_hash = ? AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(&hash[..])
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl Admin for SqliteStore {
    async fn insert_invite(&self, invite: &NewInvite) -> Result<i64, StoreError> {
        let mut writer = Writer::statement(self.pool()).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO invites (code_hash, note, max_uses, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&invite.code_hash[..])
        .bind(&invite.note)
        .bind(invite.max_uses.map(i64::from))
        .bind(millis(invite.created_at))
        .bind(invite.expires_at.map(millis))
        .fetch_one(writer.conn())
        .await?;
        writer.commit().await?;
        Ok(id)
    }

    async fn invites(&self) -> Result<Vec<InviteRow>, StoreError> {
        sqlx::query_as::<_, RawInviteRow>(
            "SELECT id, note, max_uses, uses, created_at, expires_at, revoked_at \
             FROM invites ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(invite_row)
        .collect()
    }

    async fn revoke_invite(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut writer = Writer::statement(self.pool()).await?;
        let done =
            sqlx::query("UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(writer.conn())
                .await?;
        writer.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn accounts(
        &self,
        after: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccountRow>, StoreError> {
        sqlx::query_as::<_, RawAccountRow>(select_account!(
            "WHERE c.username > ?2 ORDER BY c.username LIMIT ?3"
        ))
        .bind(millis(now))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(account_row)
        .collect()
    }

    async fn account(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountRow>, StoreError> {
        sqlx::query_as::<_, RawAccountRow>(select_account!("WHERE c.username = ?2"))
            .bind(millis(now))
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .map(account_row)
            .transpose()
    }

    async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        let mut writer = Writer::statement(self.pool()).await?;
        let done = sqlx::query(
            "UPDATE clients SET disabled = ?1, \
             heartbeat_at = CASE WHEN ?1 THEN NULL ELSE heartbeat_at END WHERE username = ?2",
        )
        .bind(disabled)
        .bind(username)
        .execute(writer.conn())
        .await?;
        writer.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn user_counts(&self, online_since: DateTime<Utc>) -> Result<UserCounts, StoreError> {
        let raw: RawUserCounts = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE disabled = 1), \
             COUNT(*) FILTER (WHERE disabled = 0 AND heartbeat_at >= ?) FROM clients",
        )
        .bind(millis(online_since))
        .fetch_one(self.pool())
        .await?;
        user_counts(raw)
    }

    async fn disabled_token_owner(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT t.username FROM tokens t JOIN clients c ON c.username = t.username \
             WHERE t.token_hash = ? AND t.expires_at > ? AND c.disabled = 1",
        )
        .bind(&hash[..])
        .bind(millis(now))
        .fetch_optional(self.pool())
        .await?)
    }

    async fn mailbox_stats(&self, now: DateTime<Utc>) -> Result<MailboxStats, StoreError> {
        let raw: RawMailboxStats = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE expires_at > ?1), \
                 COALESCE(SUM(size) FILTER (WHERE expires_at > ?1), 0), \
                 COUNT(DISTINCT recipient) FILTER (WHERE expires_at > ?1), \
                 COUNT(*) FILTER (WHERE expires_at <= ?1), \
                 MIN(deposited_at) FILTER (WHERE expires_at > ?1) FROM mailbox",
        )
        .bind(millis(now))
        .fetch_one(self.pool())
        .await?;
        mailbox_stats(raw)
    }

    async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        let name = path.to_str().ok_or_else(|| {
            StoreError::Unsupported(format!("{} is not a UTF-8 path", path.display()))
        })?;
        // Made empty and private (0600) first: the copy holds password hashes, and VACUUM INTO
        // keeps the mode of an empty file it is given (it refuses a file that is not empty).
        create_private(path)?;
        // VACUUM INTO reads one snapshot of the database, so writers may go on meanwhile.
        let copied = sqlx::query("VACUUM INTO ?")
            .bind(name)
            .execute(self.pool())
            .await;
        if let Err(err) = copied {
            let _ = std::fs::remove_file(path);
            return Err(err.into());
        }
        Ok(())
    }
}

/// Creates `path` empty, readable and writable by its owner only; fails when it exists.
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|err| StoreError::Unsupported(format!("cannot create {}: {err}", path.display())))
}
