//! Token and password statements of the SQLite backend, and the counts of wrong passwords.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;

use super::write::Writer;
use crate::store::convert::millis;
use crate::store::{NewToken, StoreError, TokenHash};

/// Stores a token, purging the owner's expired tokens in the same transaction.
pub(super) async fn insert(pool: &SqlitePool, token: &NewToken) -> Result<(), StoreError> {
    let mut tx = Writer::transaction(pool).await?;
    sqlx::query("DELETE FROM tokens WHERE username = ? AND expires_at <= ?")
        .bind(&token.username)
        .bind(millis(token.created_at))
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO tokens (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(&token.hash[..])
    .bind(&token.username)
    .bind(millis(token.created_at))
    .bind(millis(token.expires_at))
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// The owner of an unexpired token.
pub(super) async fn owner(
    pool: &SqlitePool,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(super::read::TOKEN_OWNER)
        .bind(&hash[..])
        .bind(millis(now))
        .fetch_optional(pool)
        .await?)
}

/// Deletes one token; whether it existed.
pub(super) async fn delete(pool: &SqlitePool, hash: &TokenHash) -> Result<bool, StoreError> {
    let mut writer = Writer::statement(pool).await?;
    let done = sqlx::query("DELETE FROM tokens WHERE token_hash = ?")
        .bind(&hash[..])
        .execute(writer.conn())
        .await?;
    writer.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// New password hash and no more tokens, atomically: a token issued under the old password
/// must not survive the change.
pub(super) async fn set_password_hash(
    pool: &SqlitePool,
    username: &str,
    password_hash: &str,
) -> Result<bool, StoreError> {
    let mut tx = Writer::transaction(pool).await?;
    let done = sqlx::query("UPDATE clients SET password_hash = ? WHERE username = ?")
        .bind(password_hash)
        .bind(username)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        tx.commit().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM tokens WHERE username = ?")
        .bind(username)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a password check; the count before it (see `Store::count_password_check`).
pub(super) async fn count_password_check(
    pool: &SqlitePool,
    username: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let mut writer = Writer::statement(pool).await?;
    let counted: i64 = sqlx::query_scalar(
        "INSERT INTO password_failures (username, failures, last_at) VALUES (?, 1, ?) \
         ON CONFLICT (username) DO UPDATE SET \
         failures = CASE WHEN last_at <= ? THEN 1 ELSE failures + 1 END, \
         last_at = excluded.last_at \
         RETURNING failures",
    )
    .bind(username)
    .bind(millis(now))
    .bind(millis(forget_before))
    .fetch_one(writer.conn())
    .await?;
    writer.commit().await?;
    Ok(count(counted - 1))
}

/// The unforgotten count of `username`.
pub(super) async fn password_failures(
    pool: &SqlitePool,
    username: &str,
    forget_before: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let counted: Option<i64> = sqlx::query_scalar(super::read::FAILURES)
        .bind(username)
        .bind(millis(forget_before))
        .fetch_optional(pool)
        .await?;
    Ok(count(counted.unwrap_or(0)))
}

/// Forgets `username`'s count.
pub(super) async fn clear_password_failures(
    pool: &SqlitePool,
    username: &str,
) -> Result<(), StoreError> {
    let mut writer = Writer::statement(pool).await?;
    sqlx::query("DELETE FROM password_failures WHERE username = ?")
        .bind(username)
        .execute(writer.conn())
        .await?;
    writer.commit().await
}

/// Deletes stale counts.
pub(super) async fn purge_password_failures(
    pool: &SqlitePool,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut writer = Writer::statement(pool).await?;
    let done = sqlx::query("DELETE FROM password_failures WHERE last_at <= ?")
        .bind(millis(before))
        .execute(writer.conn())
        .await?;
    writer.commit().await?;
    Ok(done.rows_affected())
}

/// A stored count as a `u32` (saturating; never negative).
pub(super) fn count(stored: i64) -> u32 {
    u32::try_from(stored.max(0)).unwrap_or(u32::MAX)
}
