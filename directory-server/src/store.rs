//! Persistence: the [`Store`] trait every database backend implements, its error type and the
//! rows it returns.
//!
//! The backend is chosen by the scheme of the database URL in [`open_store`]:
//! [`sqlite::SqliteStore`] for one directory process, [`postgres::PostgresStore`] for one or
//! several processes sharing a PostgreSQL database. Both keep timestamps as milliseconds since
//! the Unix epoch and order usernames bytewise, so the HTTP layer cannot tell them apart.

pub mod admin;
mod convert;
pub mod copy;
mod error;
mod mail;
mod migrate;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use admin::{AccountRow, Admin, InviteRow, MailboxStats, NewInvite, UserCounts};
pub use error::{BoxError, StoreError};
pub use mail::{DepositOutcome, MailRow, MailboxQuota, NewMail};
pub use rows::{AddressUpdate, ClientRow, NewClient, NewToken};

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::MailId;

/// Length of a stored token hash in bytes (SHA-256).
pub const TOKEN_HASH_BYTES: usize = 32;

/// A token as the store sees it: the SHA-256 of the secret the client holds.
pub type TokenHash = [u8; TOKEN_HASH_BYTES];

/// The directory's persistence, one implementation per database backend; the operator's
/// commands use its [`Admin`] half.
///
/// Usernames passed in are already case-folded and validated. Every method fails with
/// [`StoreError::Unavailable`] when the database cannot be reached. Accounts the operator
/// disabled are absent to [`client`](Store::client), [`list_clients`](Store::list_clients),
/// [`token_owner`](Store::token_owner) and mailbox deposits; they still hold their username.
#[async_trait]
pub trait Store: Admin {
    /// Checks that the database answers a trivial query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Backend`].
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a new client and returns its row. With [`NewClient::invite`], uses that invite
    /// up by one in the same transaction: both happen or neither.
    ///
    /// # Errors
    /// [`StoreError::UsernameTaken`] when the username exists (the invite is not used up);
    /// [`StoreError::InviteRefused`] when the invite is unknown, used up, expired or revoked
    /// at [`NewClient::now`].
    async fn insert_client(&self, client: &NewClient) -> Result<ClientRow, StoreError>;

    /// The client called `username`, if registered.
    ///
    /// # Errors
    /// Database failures only.
    async fn client(&self, username: &str) -> Result<Option<ClientRow>, StoreError>;

    /// The bcrypt hash of `username`'s password, if registered. Only the auth layer calls this;
    /// the hash never reaches an HTTP response.
    ///
    /// # Errors
    /// Database failures only.
    async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError>;

    /// Up to `limit` clients with usernames sorted strictly after `after` (all when `None`), in
    /// ascending byte order of the username.
    ///
    /// # Errors
    /// Database failures only.
    async fn list_clients(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRow>, StoreError>;

    /// Applies `update` (address, maybe key and observed host) and sets `last_seen` and
    /// `heartbeat_at` (only a running client updates its address); `None`
    /// when the client does not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn update_address(&self, update: &AddressUpdate)
    -> Result<Option<ClientRow>, StoreError>;

    /// Sets `last_seen = now`, `observed_host` when one is given, and with `heartbeat` (a
    /// running client's heartbeat, not a login) also `heartbeat_at = now`; false when the
    /// client does not exist or is disabled (and then nothing changes).
    ///
    /// # Errors
    /// Database failures only.
    async fn touch(
        &self,
        username: &str,
        now: DateTime<Utc>,
        observed_host: Option<&str>,
        heartbeat: bool,
    ) -> Result<bool, StoreError>;

    /// Clears `heartbeat_at`: the client signed off and is offline at once. False when the
    /// client does not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn sign_off(&self, username: &str) -> Result<bool, StoreError>;

    /// Replaces `username`'s password hash and deletes all its tokens, in one transaction;
    /// false when the client does not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError>;

    /// Deletes a client and, with it, all its tokens and its mailbox; false when it did not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn delete_client(&self, username: &str) -> Result<bool, StoreError>;

    /// Stores a login token. Expired tokens of the same user are purged on the way.
    ///
    /// # Errors
    /// Database failures, including a foreign-key failure if the user vanished meanwhile.
    async fn insert_token(&self, token: &NewToken) -> Result<(), StoreError>;

    /// The owner of the token with this hash, if it exists and expires after `now`.
    ///
    /// # Errors
    /// Database failures only.
    async fn token_owner(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;

    /// Deletes the token with this hash (logout); false when there was none.
    ///
    /// # Errors
    /// Database failures only.
    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Stores a sealed message for `mail.recipient` when the recipient exists and its mailbox
    /// has room under `quota` (counting unexpired messages only). The check and the insert
    /// must be atomic, so concurrent deposits cannot overfill a mailbox (SQLite: one write
    /// transaction; PostgreSQL: lock the recipient's `clients` row first). The recipient's
    /// expired messages may be purged on the way.
    ///
    /// # Errors
    /// Database failures only; a missing recipient or a full mailbox is a [`DepositOutcome`].
    async fn deposit_mail(
        &self,
        mail: &NewMail,
        quota: MailboxQuota,
    ) -> Result<DepositOutcome, StoreError>;

    /// Up to `limit` messages of `recipient` that expire after `now`, with ids greater than
    /// `after` (all when `None`; `after` need not exist), in ascending id order.
    ///
    /// # Errors
    /// Database failures only.
    async fn fetch_mail(
        &self,
        recipient: &str,
        after: Option<MailId>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<MailRow>, StoreError>;

    /// Deletes message `id` if it belongs to `recipient`; true when it existed and had not
    /// expired at `now`. Another recipient's message is never touched.
    ///
    /// # Errors
    /// Database failures only.
    async fn delete_mail(
        &self,
        recipient: &str,
        id: MailId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes every message that expired at or before `now`; returns how many.
    ///
    /// # Errors
    /// Database failures only.
    async fn purge_expired_mail(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Counts one password check of `username` that is about to run and returns how many
    /// were counted before it: checks that failed, or are running now. A count whose last
    /// check was at or before `forget_before` starts over. Atomic, so concurrent checks on
    /// any number of processes each see a different count. `username` may be unregistered
    /// (or `""` for every invalid name).
    ///
    /// # Errors
    /// Database failures only.
    async fn count_password_check(
        &self,
        username: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError>;

    /// The checks counted for `username` whose last one was after `forget_before`.
    ///
    /// # Errors
    /// Database failures only.
    async fn password_failures(
        &self,
        username: &str,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError>;

    /// Forgets `username`'s counted checks: its password was right.
    ///
    /// # Errors
    /// Database failures only.
    async fn clear_password_failures(&self, username: &str) -> Result<(), StoreError>;

    /// Deletes the counts whose last check was at or before `before`; returns how many.
    ///
    /// # Errors
    /// Database failures only.
    async fn purge_password_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Closes all connections; every later call fails with [`StoreError::Unavailable`].
    /// Called on shutdown so SQLite can checkpoint its write-ahead log.
    async fn close(&self);
}

/// How to open a store, beyond its URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Most pooled database connections of this process; `None` for the backend's default
    /// ([`sqlite::DEFAULT_MAX_CONNECTIONS`], [`postgres::DEFAULT_MAX_CONNECTIONS`]). An
    /// in-memory SQLite database always has exactly one.
    pub max_connections: Option<u32>,
}

/// Opens the store named by `database_url` with default [`StoreOptions`], creating the
/// database if needed and applying the embedded migrations.
///
/// Supported: `sqlite://PATH` (file, created on first use, WAL journal), `sqlite::memory:`
/// (private in-memory database, gone when the store is dropped), `postgres://` or
/// `postgresql://` URLs (an existing database; the tables are created).
///
/// # Errors
/// [`StoreError::UnsupportedScheme`] for any other scheme, [`StoreError::InvalidUrl`],
/// [`StoreError::Unavailable`] or [`StoreError::Backend`] when the database cannot be opened,
/// [`StoreError::Migrate`] when migrations fail.
pub async fn open_store(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_store_with(database_url, StoreOptions::default()).await
}

/// The database backends, as a URL's scheme names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

impl Backend {
    /// The backend `url` names, from its scheme (any case); `None` for another scheme or no
    /// scheme at all.
    pub fn of(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once(':')?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// Checks that `database_url` names a backend and parses as its URL, without connecting
/// (`check-config`).
///
/// # Errors
/// [`StoreError::InvalidUrl`] or [`StoreError::UnsupportedScheme`], as [`open_store`] would.
pub fn check_url(database_url: &str) -> Result<(), StoreError> {
    use std::str::FromStr;
    let invalid = |err: sqlx::Error| StoreError::InvalidUrl(err.to_string());
    match Backend::of(database_url) {
        Some(Backend::Sqlite) => sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
            .map(drop)
            .map_err(invalid),
        Some(Backend::Postgres) => sqlx::postgres::PgConnectOptions::from_str(database_url)
            .map(drop)
            .map_err(invalid),
        None => Err(match database_url.split_once(':') {
            Some((scheme, _)) => StoreError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            },
            None => StoreError::InvalidUrl(
                "expected a URL such as sqlite://PATH, sqlite::memory: or postgres://HOST/DATABASE"
                    .into(),
            ),
        }),
    }
}

/// [`open_store`] with `options`.
///
/// # Errors
/// As [`open_store`].
pub async fn open_store_with(
    database_url: &str,
    options: StoreOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let Some((scheme, _)) = database_url.split_once(':') else {
        return Err(StoreError::InvalidUrl(
            "expected a URL such as sqlite://PATH, sqlite::memory: or postgres://HOST/DATABASE"
                .into(),
        ));
    };
    match Backend::of(database_url) {
        Some(Backend::Sqlite) => Ok(Arc::new(
            sqlite::SqliteStore::open(
                database_url,
                options
                    .max_connections
                    .unwrap_or(sqlite::DEFAULT_MAX_CONNECTIONS),
            )
            .await?,
        )),
        Some(Backend::Postgres) => Ok(Arc::new(
            postgres::PostgresStore::open(
                database_url,
                options
                    .max_connections
                    .unwrap_or(postgres::DEFAULT_MAX_CONNECTIONS),
            )
            .await?,
        )),
        None => Err(StoreError::UnsupportedScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_schemes_are_refused_by_name() {
        for url in ["mysql://h/db", "file:x.db", "redis://h"] {
            let err = open_store(url).await.err().map(|e| e.to_string());
            let msg = err.unwrap_or_default();
            assert!(
                msg.contains("unsupported database URL scheme"),
                "{url}: {msg}"
            );
        }
        let err = open_store("directory.db")
            .await
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("sqlite://PATH"));
    }
}
