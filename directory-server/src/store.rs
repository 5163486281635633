//! Persistence: the [`Store`] trait every database backend implements, its error type and the
//! rows it returns.
//!
//! The backend is chosen by the scheme of the database URL in [`open_store`]. Today only SQLite
//! exists ([`sqlite::SqliteStore`]); a PostgreSQL backend can be added as a second module and a
//! second arm in [`open_store`] without touching the HTTP layer.

pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::ClientRecord;

/// Length of a stored token hash in bytes (SHA-256).
pub const TOKEN_HASH_BYTES: usize = 32;

/// A token as the store sees it: the SHA-256 of the secret the client holds.
pub type TokenHash = [u8; TOKEN_HASH_BYTES];

/// One registered peer as stored, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRow {
    /// Case-folded username, the primary key.
    pub username: String,
    /// Normalised host (see `p2p_chat_protocol::validate::host`).
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// When the account was created.
    pub registered_at: DateTime<Utc>,
    /// Last sign of life: registration, login, heartbeat or address update.
    pub last_seen: DateTime<Utc>,
}

impl ClientRow {
    /// The public record at time `now`: `online` is true when `last_seen` is at most
    /// `presence_window` before `now`.
    pub fn to_record(&self, now: DateTime<Utc>, presence_window: Duration) -> ClientRecord {
        let age = now.signed_duration_since(self.last_seen);
        // A last_seen in the future (clock stepped back) counts as online.
        let online = age.to_std().map_or(true, |age| age <= presence_window);
        ClientRecord {
            username: self.username.clone(),
            host: self.host.clone(),
            port: self.port,
            registered_at: self.registered_at,
            last_seen: self.last_seen,
            online,
        }
    }
}

/// A client to insert; all fields are already validated.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// Case-folded username.
    pub username: String,
    /// bcrypt hash in modular crypt format (`$2b$...`).
    pub password_hash: String,
    /// Normalised host.
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// Registration time; also the first `last_seen`.
    pub now: DateTime<Utc>,
}

/// A login token to insert.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// SHA-256 of the token's 32 random bytes.
    pub hash: TokenHash,
    /// Owner of the token.
    pub username: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `insert_client` found the username registered already.
    #[error("username {0:?} is already registered")]
    UsernameTaken(String),
    /// The database URL names a backend this build does not have.
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH or sqlite::memory: \
         (PostgreSQL support is planned but not available yet)"
    )]
    UnsupportedScheme {
        /// The scheme found in the URL (text before the first `:`).
        scheme: String,
    },
    /// The database URL could not be parsed.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached: pool closed or timed out, I/O error, crashed worker.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The database answered with an error.
    #[error("{0}")]
    Backend(sqlx::Error),
    /// The embedded migrations could not be applied.
    #[error("cannot apply database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// A stored value is out of range (e.g. a port above 65535 written by another tool).
    #[error("corrupt data in database: {0}")]
    Corrupt(String),
}

// The sqlx error is part of the message rather than a `source()`: sqlx repeats its cause in its
// own message, so a reported chain would print every cause twice.
impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(err)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolClosed
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err),
            other => StoreError::Backend(other),
        }
    }
}

/// The directory's persistence, one implementation per database backend.
///
/// Usernames passed in are already case-folded and validated. Every method fails with
/// [`StoreError::Unavailable`] when the database cannot be reached.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers a trivial query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Backend`].
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a new client and returns its row.
    ///
    /// # Errors
    /// [`StoreError::UsernameTaken`] when the username exists.
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

    /// Sets a client's address and `last_seen = now`; `None` when the client does not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn update_address(
        &self,
        username: &str,
        host: &str,
        port: u16,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientRow>, StoreError>;

    /// Sets `last_seen = now`; false when the client does not exist.
    ///
    /// # Errors
    /// Database failures only.
    async fn touch(&self, username: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Deletes a client and, with it, all its tokens; false when it did not exist.
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

    /// Closes all connections; every later call fails with [`StoreError::Unavailable`].
    /// Called on shutdown so SQLite can checkpoint its write-ahead log.
    async fn close(&self);
}

/// Opens the store named by `database_url`, creating the database if needed and applying the
/// embedded migrations.
///
/// Supported: `sqlite://PATH` (file, created on first use, WAL journal), `sqlite::memory:`
/// (private in-memory database, gone when the store is dropped).
///
/// # Errors
/// [`StoreError::UnsupportedScheme`] for any other scheme, [`StoreError::InvalidUrl`],
/// [`StoreError::Unavailable`] or [`StoreError::Backend`] when the database cannot be opened,
/// [`StoreError::Migrate`] when migrations fail.
pub async fn open_store(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let Some((scheme, _)) = database_url.split_once(':') else {
        return Err(StoreError::InvalidUrl(
            "expected a URL such as sqlite://PATH or sqlite::memory:".into(),
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Ok(Arc::new(sqlite::SqliteStore::open(database_url).await?)),
        _ => Err(StoreError::UnsupportedScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_seen: DateTime<Utc>) -> ClientRow {
        ClientRow {
            username: "alice".into(),
            host: "127.0.0.1".into(),
            port: 55555,
            registered_at: last_seen,
            last_seen,
        }
    }

    #[test]
    fn online_means_seen_within_the_window() {
        let now = Utc::now();
        let window = Duration::from_secs(60);
        assert!(row(now).to_record(now, window).online);
        let old = now - chrono::Duration::seconds(61);
        assert!(!row(old).to_record(now, window).online);
        let future = now + chrono::Duration::seconds(5);
        assert!(row(future).to_record(now, window).online);
        let edge = now - chrono::Duration::seconds(60);
        assert!(
            row(edge).to_record(now, window).online,
            "the window is inclusive"
        );
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_by_name() {
        for url in ["postgres://u@h/db", "mysql://h/db", "file:x.db"] {
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
