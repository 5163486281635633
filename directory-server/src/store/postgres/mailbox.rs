//! Mailbox statements of the PostgreSQL backend.

use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::MailId;
use sqlx::postgres::PgPool;

use crate::store::convert::{mail_row, millis};
use crate::store::{DepositOutcome, MailRow, MailboxQuota, NewMail, StoreError};

/// Stores `mail` unless the recipient is unknown or its mailbox is full, in one transaction.
///
/// The transaction locks the recipient's `clients` row first (`FOR NO KEY UPDATE`, which
/// still lets logins of the same user insert tokens), then the directory-wide total: two
/// deposits, on any processes, cannot both pass the checks and overfill a mailbox or the
/// whole store. Deleting a client takes the same locks in the same order.
pub(super) async fn deposit(
    pool: &PgPool,
    mail: &NewMail,
    quota: MailboxQuota,
) -> Result<DepositOutcome, StoreError> {
    let size = i64::try_from(mail.sealed.len())
        .map_err(|_| StoreError::Corrupt("sealed message size overflows".into()))?;
    let mut tx = pool.begin().await?;
    let known: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM clients WHERE username = $1 AND NOT disabled FOR NO KEY UPDATE",
    )
    .bind(&mail.recipient)
    .fetch_optional(&mut *tx)
    .await?;
    if known.is_none() {
        return Ok(DepositOutcome::UnknownRecipient);
    }
    // Expired messages no longer count; they go now rather than at the next purge.
    sqlx::query("DELETE FROM mailbox WHERE recipient = $1 AND expires_at <= $2")
        .bind(&mail.recipient)
        .bind(millis(mail.deposited_at))
        .execute(&mut *tx)
        .await?;
    let (count, bytes): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(size), 0)::BIGINT FROM mailbox WHERE recipient = $1",
    )
    .bind(&mail.recipient)
    .fetch_one(&mut *tx)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT bytes FROM mailbox_total WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    let outcome = quota.judge(count, bytes, total, size);
    if outcome == DepositOutcome::Stored {
        sqlx::query(
            "INSERT INTO mailbox (id, recipient, sealed, size, deposited_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(mail.id.to_string())
        .bind(&mail.recipient)
        .bind(&mail.sealed)
        .bind(size)
        .bind(millis(mail.deposited_at))
        .bind(millis(mail.expires_at))
        .execute(&mut *tx)
        .await?;
    }
    // Committed in every case, so the purge above sticks.
    tx.commit().await?;
    Ok(outcome)
}

/// Up to `limit` unexpired messages of `recipient` after `after`, by id.
pub(super) async fn fetch(
    pool: &PgPool,
    recipient: &str,
    after: Option<MailId>,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<MailRow>, StoreError> {
    // Hyphenated lower-case UUIDs have one length and sort bytewise ("C" collation) like
    // their bytes, and every id sorts after ''.
    let after = after.map(|id| id.to_string()).unwrap_or_default();
    let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT id, sealed, deposited_at FROM mailbox \
         WHERE recipient = $1 AND id > $2 AND expires_at > $3 ORDER BY id LIMIT $4",
    )
    .bind(recipient)
    .bind(after)
    .bind(millis(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, sealed, deposited_at)| mail_row(&id, sealed, deposited_at))
        .collect()
}

/// Deletes one message of `recipient`; true when it existed and had not expired (an expired
/// one is deleted too, but counts as gone already).
pub(super) async fn delete(
    pool: &PgPool,
    recipient: &str,
    id: MailId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let expires_at: Option<i64> = sqlx::query_scalar(
        "DELETE FROM mailbox WHERE id = $1 AND recipient = $2 RETURNING expires_at",
    )
    .bind(id.to_string())
    .bind(recipient)
    .fetch_optional(pool)
    .await?;
    Ok(expires_at.is_some_and(|at| at > millis(now)))
}
