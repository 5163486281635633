//! [`Admin`] on PostgreSQL: invites, accounts as the operator sees them, mailbox totals. A
//! backup is `pg_dump`'s job (docs/deploy.md).

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnection;

use super::PostgresStore;
use crate::store::convert::{
    RawAccountRow, RawInviteRow, RawMailboxStats, RawUserCounts, account_row, invite_row,
    mailbox_stats, millis, user_counts,
};
use crate::store::{
    AccountRow, Admin, InviteRow, MailboxStats, NewInvite, StoreError, TokenHash, UserCounts,
};

/// An account's columns with its unexpired logins and mail at `$1`, from `clients c`.
macro_rules! select_account {
    ($rest:literal) => {
        concat!(
            "SELECT c.username, c.host, c.port::BIGINT, c.public_key, c.registered_at, ",
            "c.last_seen, c.heartbeat_at, c.disabled, ",
            "(SELECT COUNT(*) FROM tokens t WHERE t.username = c.username AND t.expires_at > $1), ",
            "(SELECT COUNT(*) FROM mailbox m WHERE m.recipient = c.username AND m.expires_at > $1), ",
            "(SELECT COALESCE(SUM(m.size), 0)::BIGINT FROM mailbox m ",
            "WHERE m.recipient = c.username AND m.expires_at > $1) ",
            "FROM clients c ",
            $rest
        )
    };
}

/// Uses up invite `hash` by one inside the caller's transaction, at `now` (ms); false when it
/// is unknown, used up, expired or revoked. The row lock of the `UPDATE` makes concurrent
/// registrations with the last use of a code take turns: one gets it.
pub(super) async fn use_invite(
    conn: &mut PgConnection,
    hash: &TokenHash,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE invites SET uses = uses + 1 WHERE code_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(&hash[..])
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl Admin for PostgresStore {
    async fn insert_invite(&self, invite: &NewInvite) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO invites (code_hash, note, max_uses, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&invite.code_hash[..])
        .bind(&invite.note)
        .bind(invite.max_uses.map(i64::from))
        .bind(millis(invite.created_at))
        .bind(invite.expires_at.map(millis))
        .fetch_one(self.pool())
        .await?)
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
        let done =
            sqlx::query("UPDATE invites SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(millis(now))
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn accounts(
        &self,
        after: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccountRow>, StoreError> {
        sqlx::query_as::<_, RawAccountRow>(select_account!(
            "WHERE c.username > $2 ORDER BY c.username LIMIT $3"
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
        sqlx::query_as::<_, RawAccountRow>(select_account!("WHERE c.username = $2"))
            .bind(millis(now))
            .bind(username)
            .fetch_optional(self.pool())
            .await?
            .map(account_row)
            .transpose()
    }

    async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET disabled = $1, \
             heartbeat_at = CASE WHEN $1 THEN NULL ELSE heartbeat_at END WHERE username = $2",
        )
        .bind(disabled)
        .bind(username)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn user_counts(&self, online_since: DateTime<Utc>) -> Result<UserCounts, StoreError> {
        let raw: RawUserCounts = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE disabled), \
             COUNT(*) FILTER (WHERE NOT disabled AND heartbeat_at >= $1) FROM clients",
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
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND c.disabled",
        )
        .bind(&hash[..])
        .bind(millis(now))
        .fetch_optional(self.pool())
        .await?)
    }

    async fn mailbox_stats(&self, now: DateTime<Utc>) -> Result<MailboxStats, StoreError> {
        let raw: RawMailboxStats = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE expires_at > $1), \
                 COALESCE(SUM(size) FILTER (WHERE expires_at > $1), 0)::BIGINT, \
                 COUNT(DISTINCT recipient) FILTER (WHERE expires_at > $1), \
                 COUNT(*) FILTER (WHERE expires_at <= $1), \
                 MIN(deposited_at) FILTER (WHERE expires_at > $1) FROM mailbox",
        )
        .bind(millis(now))
        .fetch_one(self.pool())
        .await?;
        mailbox_stats(raw)
    }

    async fn backup(&self, _path: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "backup copies SQLite databases only; back up PostgreSQL with pg_dump \
             (see docs/deploy.md)"
                .into(),
        ))
    }
}
