//! Token and password statements of the SQLite backend.

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
    Ok(
        sqlx::query_scalar("SELECT username FROM tokens WHERE token_hash = ? AND expires_at > ?")
            .bind(&hash[..])
            .bind(millis(now))
            .fetch_optional(pool)
            .await?,
    )
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
