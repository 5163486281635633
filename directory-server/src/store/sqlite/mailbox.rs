//! Mailbox statements of the SQLite backend.

use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::MailId;
use sqlx::sqlite::SqlitePool;

use super::write::Writer;
use crate::store::convert::{mail_row, millis};
use crate::store::{DepositOutcome, MailRow, MailboxQuota, NewMail, StoreError};

/// Stores `mail` unless the recipient is unknown or its mailbox is full, in one transaction.
///
/// The transaction takes SQLite's write lock at its start (`BEGIN IMMEDIATE`): two deposits
/// for the same recipient cannot both pass the checks and overfill the mailbox.
pub(super) async fn deposit(
    pool: &SqlitePool,
    mail: &NewMail,
    quota: MailboxQuota,
) -> Result<DepositOutcome, StoreError> {
    let size = i64::try_from(mail.sealed.len())
        .map_err(|_| StoreError::Corrupt("sealed message size overflows".into()))?;
    let mut tx = Writer::transaction(pool).await?;
    // Expired messages no longer count; they go now rather than at the next purge.
    sqlx::query("DELETE FROM mailbox WHERE recipient = ? AND expires_at <= ?")
        .bind(&mail.recipient)
        .bind(millis(mail.deposited_at))
        .execute(tx.conn())
        .await?;
    let (known, count, bytes, total): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM clients WHERE username = ? AND disabled = 0), COUNT(*), \
         COALESCE(SUM(size), 0), (SELECT bytes FROM mailbox_total WHERE id = 1) \
         FROM mailbox WHERE recipient = ?",
    )
    .bind(&mail.recipient)
    .bind(&mail.recipient)
    .fetch_one(tx.conn())
    .await?;
    let outcome = if known == 0 {
        DepositOutcome::UnknownRecipient
    } else {
        quota.judge(count, bytes, total, size)
    };
    if outcome == DepositOutcome::Stored {
        insert(&mut tx, mail, size).await?;
    }
    // Committed in every case, so the purge above sticks.
    tx.commit().await?;
    Ok(outcome)
}

async fn insert(tx: &mut Writer, mail: &NewMail, size: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mailbox (id, recipient, sealed, size, deposited_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(mail.id.to_string())
    .bind(&mail.recipient)
    .bind(&mail.sealed)
    .bind(size)
    .bind(millis(mail.deposited_at))
    .bind(millis(mail.expires_at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Up to `limit` unexpired messages of `recipient` after the id `after` (text; `""` for all),
/// by id.
pub(super) async fn fetch(
    pool: &SqlitePool,
    recipient: &str,
    after: &str,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<MailRow>, StoreError> {
    let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(super::read::MAIL_PAGE)
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
    pool: &SqlitePool,
    recipient: &str,
    id: MailId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut writer = Writer::statement(pool).await?;
    let expires_at: Option<i64> = sqlx::query_scalar(
        "DELETE FROM mailbox WHERE id = ? AND recipient = ? RETURNING expires_at",
    )
    .bind(id.to_string())
    .bind(recipient)
    .fetch_optional(writer.conn())
    .await?;
    writer.commit().await?;
    Ok(expires_at.is_some_and(|at| at > millis(now)))
}

/// Deletes every expired message; how many there were.
pub(super) async fn purge_expired(
    pool: &SqlitePool,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut writer = Writer::statement(pool).await?;
    let done = sqlx::query("DELETE FROM mailbox WHERE expires_at <= ?")
        .bind(millis(now))
        .execute(writer.conn())
        .await?;
    writer.commit().await?;
    Ok(done.rows_affected())
}
