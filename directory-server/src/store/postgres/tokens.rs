//! Token and password statements of the PostgreSQL backend.

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
    Ok(
        sqlx::query_scalar("SELECT username FROM tokens WHERE token_hash = $1 AND expires_at > $2")
            .bind(&hash[..])
            .bind(millis(now))
            .fetch_optional(pool)
            .await?,
    )
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
