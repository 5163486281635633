//! Conversions between database columns and store rows, shared by both backends: timestamps
//! are stored as milliseconds since the Unix epoch, ports as 64-bit integers.

use chrono::{DateTime, Utc};

use crate::store::{
    AccountRow, ClientRow, InviteRow, MailRow, MailboxStats, StoreError, UserCounts,
};

/// The columns of `client_columns!`, in order.
pub(super) type RawClientRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    String,
    bool,
);

/// A timestamp as stored: milliseconds since the Unix epoch.
pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored timestamp back as a time.
pub(super) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} ms is out of range")))
}

/// A client row from its columns, checking the port.
pub(super) fn client_row(raw: RawClientRow) -> Result<ClientRow, StoreError> {
    let (
        username,
        host,
        port,
        public_key,
        observed_host,
        registered_at,
        last_seen,
        heartbeat_at,
        candidates,
        relay_only,
    ) = raw;
    let port = u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| StoreError::Corrupt(format!("port {port} of {username:?}")))?;
    Ok(ClientRow {
        username,
        host,
        port,
        public_key,
        observed_host,
        registered_at: from_millis(registered_at)?,
        last_seen: from_millis(last_seen)?,
        heartbeat_at: heartbeat_at.map(from_millis).transpose()?,
        candidates: candidates.split_whitespace().map(str::to_owned).collect(),
        relay_only,
    })
}

/// A mailbox row from its columns (`id` as hyphenated text).
pub(super) fn mail_row(
    id: &str,
    sealed: Vec<u8>,
    deposited_at: i64,
) -> Result<MailRow, StoreError> {
    Ok(MailRow {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("mailbox id {id:?}")))?,
        sealed,
        deposited_at: from_millis(deposited_at)?,
    })
}

/// The columns of an account row: username, host, port, public key, registered, last seen,
/// heartbeat, disabled, logins, mail messages, mail bytes.
pub(super) type RawAccountRow = (
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    bool,
    i64,
    i64,
    i64,
);

/// An account row from its columns.
pub(super) fn account_row(raw: RawAccountRow) -> Result<AccountRow, StoreError> {
    let (username, host, port, public_key, registered, seen, heartbeat, disabled, logins, n, b) =
        raw;
    let port = u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| StoreError::Corrupt(format!("port {port} of {username:?}")))?;
    Ok(AccountRow {
        host,
        port,
        public_key,
        registered_at: from_millis(registered)?,
        last_seen: from_millis(seen)?,
        heartbeat_at: heartbeat.map(from_millis).transpose()?,
        disabled,
        logins: count(logins)?,
        mail_messages: count(n)?,
        mail_bytes: count(b)?,
        username,
    })
}

/// The columns of an invite row: id, note, max uses, uses, created, expires, revoked.
pub(super) type RawInviteRow = (i64, String, Option<i64>, i64, i64, Option<i64>, Option<i64>);

/// An invite row from its columns.
pub(super) fn invite_row(raw: RawInviteRow) -> Result<InviteRow, StoreError> {
    let (id, note, max_uses, uses, created_at, expires_at, revoked_at) = raw;
    let count = |v: i64| u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("uses {v}")));
    Ok(InviteRow {
        id,
        note,
        max_uses: max_uses.map(count).transpose()?,
        uses: count(uses)?,
        created_at: from_millis(created_at)?,
        expires_at: expires_at.map(from_millis).transpose()?,
        revoked_at: revoked_at.map(from_millis).transpose()?,
    })
}

/// A count as stored (SQL's `COUNT` and `SUM` are signed).
fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative count {value}")))
}

/// The columns of the mailbox totals: messages, bytes, recipients, expired, oldest deposit.
pub(super) type RawMailboxStats = (i64, i64, i64, i64, Option<i64>);

/// Mailbox totals from their columns.
pub(super) fn mailbox_stats(raw: RawMailboxStats) -> Result<MailboxStats, StoreError> {
    let (messages, bytes, recipients, expired, oldest) = raw;
    Ok(MailboxStats {
        messages: count(messages)?,
        bytes: count(bytes)?,
        recipients: count(recipients)?,
        expired: count(expired)?,
        oldest: oldest.map(from_millis).transpose()?,
    })
}

/// The columns of the account counts: registered, disabled, online.
pub(super) type RawUserCounts = (i64, i64, i64);

/// Account counts from their columns.
pub(super) fn user_counts(raw: RawUserCounts) -> Result<UserCounts, StoreError> {
    let (registered, disabled, online) = raw;
    Ok(UserCounts {
        registered: count(registered)?,
        disabled: count(disabled)?,
        online: count(online)?,
    })
}
