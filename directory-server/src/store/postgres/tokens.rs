//! Token and password statements of the PostgreSQL backend, and the counts of wrong passwords.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;

use crate::store::convert::millis;
use crate::store::{NewToken, StoreError, TokenHash};

/// Stores a token, purging the owner's expired tokens in the same transaction.
pub(super) async fn insert(pool: &PgPool, token: &NewToken) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM tokens WHERE username = $1 AND expires_at <= $2")
        .bind(&token.username)
        .bind(millis(token.created_at))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO tokens (token_hash, username, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&token.hash[..])
    .bind(&token.username)
    .bind(millis(token.created_at))
    .bind(millis(token.expires_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The owner of an unexpired token.
pub(super) async fn owner(
    pool: &PgPool,
    hash: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT t.username FROM tokens t JOIN clients c ON c.username = t.username \
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND NOT c.disabled",
    )
    .bind(&hash[..])
    .bind(millis(now))
    .fetch_optional(pool)
    .await?)
}

/// Deletes one token; whether it existed.
pub(super) async fn delete(pool: &PgPool, hash: &TokenHash) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
        .bind(&hash[..])
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// New password hash and no more tokens, atomically: a token issued under the old password
/// must not survive the change.
pub(super) async fn set_password_hash(
    pool: &PgPool,
    username: &str,
    password_hash: &str,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("UPDATE clients SET password_hash = $1 WHERE username = $2")
        .bind(password_hash)
        .bind(username)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM tokens WHERE username = $1")
        .bind(username)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Counts a password check; the count before it (see `Store::count_password_check`).
pub(super) async fn count_password_check(
    pool: &PgPool,
    username: &str,
    now: DateTime<Utc>,
    forget_before: DateTime<Utc>,
) -> Result<u32, StoreError> {
    // ON CONFLICT takes the row's lock, so concurrent checks on any processes queue here and
    // each gets the next count.
    let counted: i32 = sqlx::query_scalar(
        "INSERT INTO password_failures AS f (username, failures, last_at) VALUES ($1, 1, $2) \
         ON CONFLICT (username) DO UPDATE SET \
         failures = CASE WHEN f.last_at <= $3 THEN 1 \
                         ELSE LEAST(f.failures, 2147483646) + 1 END, \
         last_at = excluded.last_at \
         RETURNING failures",
    )
    .bind(username)
    .bind(millis(now))
    .bind(millis(forget_before))
    .fetch_one(pool)
    .await?;
    Ok(count(counted - 1))
}

/// The unforgotten count of `username`.
pub(super) async fn password_failures(
    pool: &PgPool,
    username: &str,
    forget_before: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let counted: Option<i32> = sqlx::query_scalar(
        "SELECT failures FROM password_failures WHERE username = $1 AND last_at > $2",
    )
    .bind(username)
    .bind(millis(forget_before))
    .fetch_optional(pool)
    .await?;
    Ok(count(counted.unwrap_or(0)))
}

/// Forgets `username`'s count.
pub(super) async fn clear_password_failures(
    pool: &PgPool,
    username: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM password_failures WHERE username = $1")
        .bind(username)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes stale counts.
pub(super) async fn purge_password_failures(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM password_failures WHERE last_at <= $1")
        .bind(millis(before))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// A stored count as a `u32` (never negative).
fn count(stored: i32) -> u32 {
    u32::try_from(stored.max(0)).unwrap_or(0)
}
