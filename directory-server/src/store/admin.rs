//! What the operator's commands (`p2p-chat-directory invite …`, `users …`, `mailbox stats`,
//! `backup`) need from the database: the [`Admin`] trait every backend implements beside
//! [`Store`](super::Store), and its rows. They run in a process of their own against the same
//! database as a running directory, so each is one short statement or transaction.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{StoreError, TokenHash};

/// An invite code to store (see `crate::registration`).
#[derive(Clone, Debug)]
pub struct NewInvite {
    /// SHA-256 of the normalized code; the code itself is never stored.
    pub code_hash: TokenHash,
    /// The operator's note (who it is for), at most a line.
    pub note: String,
    /// How many registrations it allows; `None`: no limit.
    pub max_uses: Option<u32>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored invite, without its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRow {
    /// Its number, which `invite revoke` takes.
    pub id: i64,
    /// The operator's note.
    pub note: String,
    /// Registrations it allows; `None`: no limit.
    pub max_uses: Option<u32>,
    /// Registrations made with it so far.
    pub uses: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl InviteRow {
    /// Whether a registration could use it at `now`: not revoked, not expired, not used up.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|at| at > now)
            && self.max_uses.is_none_or(|max| self.uses < max)
    }
}

/// One account as the operator sees it, disabled ones included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// Case-folded username.
    pub username: String,
    /// The host it registered or last published.
    pub host: String,
    /// Its TCP port, 1–65535.
    pub port: u16,
    /// Identity public key, 64 lower-case hex digits (empty for old accounts without one).
    pub public_key: String,
    /// When it registered.
    pub registered_at: DateTime<Utc>,
    /// Its last sign of life: registration, login, heartbeat or address update.
    pub last_seen: DateTime<Utc>,
    /// Its running client's last heartbeat; `None` before the first and after signing off.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Whether the operator disabled it.
    pub disabled: bool,
    /// Unexpired login tokens.
    pub logins: u64,
    /// Unexpired messages waiting in its mailbox.
    pub mail_messages: u64,
    /// Their size in bytes (sealed, before base64).
    pub mail_bytes: u64,
}

/// The whole mailbox at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxStats {
    /// Unexpired messages.
    pub messages: u64,
    /// Their size in bytes (sealed, before base64).
    pub bytes: u64,
    /// Accounts with at least one of them.
    pub recipients: u64,
    /// Expired messages not purged yet (the directory purges them every few minutes).
    pub expired: u64,
    /// When the oldest unexpired message was deposited.
    pub oldest: Option<DateTime<Utc>>,
}

/// How many accounts there are, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserCounts {
    /// Every account, disabled ones too.
    pub registered: u64,
    /// Disabled accounts.
    pub disabled: u64,
    /// Enabled accounts whose running client's last heartbeat is recent enough to count as
    /// online (the record's `online`).
    pub online: u64,
}

/// The operator's view of the database. Every method fails with [`StoreError::Unavailable`]
/// when the database cannot be reached.
#[async_trait]
pub trait Admin: Send + Sync + 'static {
    /// Stores an invite and returns its number.
    ///
    /// # Errors
    /// Database failures only (a duplicate hash, 2^-96 likely, is one).
    async fn insert_invite(&self, invite: &NewInvite) -> Result<i64, StoreError>;

    /// Every invite, oldest first.
    ///
    /// # Errors
    /// Database failures only.
    async fn invites(&self) -> Result<Vec<InviteRow>, StoreError>;

    /// Revokes invite `id` at `now`; false when there is no such invite or it was revoked
    /// already.
    ///
    /// # Errors
    /// Database failures only.
    async fn revoke_invite(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Up to `limit` accounts with usernames after `after` in byte order, disabled ones too,
    /// counting what is unexpired at `now`.
    ///
    /// # Errors
    /// Database failures only.
    async fn accounts(
        &self,
        after: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AccountRow>, StoreError>;

    /// The account `username`, disabled or not.
    ///
    /// # Errors
    /// Database failures only.
    async fn account(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountRow>, StoreError>;

    /// Disables or enables `username`; false when there is no such account. A disabled
    /// account is signed off at once.
    ///
    /// # Errors
    /// Database failures only.
    async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError>;

    /// The accounts, counting as online those with a heartbeat at or after `online_since`.
    ///
    /// # Errors
    /// Database failures only.
    async fn user_counts(&self, online_since: DateTime<Utc>) -> Result<UserCounts, StoreError>;

    /// The owner of the token with this hash when it expires after `now` and its account is
    /// disabled (`Store::token_owner` answers for enabled ones).
    ///
    /// # Errors
    /// Database failures only.
    async fn disabled_token_owner(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;

    /// The mailbox's totals at `now`.
    ///
    /// # Errors
    /// Database failures only.
    async fn mailbox_stats(&self, now: DateTime<Utc>) -> Result<MailboxStats, StoreError>;

    /// Writes a consistent copy of the whole database to the new file `path`, while the
    /// directory keeps running (SQLite's `VACUUM INTO`).
    ///
    /// # Errors
    /// [`StoreError::Unsupported`] on PostgreSQL (use `pg_dump`); a database error when `path`
    /// exists or cannot be written.
    async fn backup(&self, path: &Path) -> Result<(), StoreError>;
}
