//! The conformance story of the [`Store`] trait: every behaviour the HTTP layer relies on,
//! run against each backend — a SQLite file and a fresh PostgreSQL database (started by
//! `support/postgres.rs`) — through the same test functions.

mod admin;
mod clients;
mod mailbox;
mod migrate;
mod tokens;

#[path = "../support/postgres.rs"]
mod postgres;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use p2p_chat_directory::store::{NewClient, NewToken};
use p2p_chat_directory::{Store, open_store};

/// A store under test, and what must live as long as it (the SQLite file's folder).
pub struct Backend {
    /// The store, shared with tasks a test spawns.
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for Backend {
    type Target = dyn Store;
    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

impl Backend {
    /// Whether this is the SQLite backend (the only one with a folder of its own).
    pub fn is_sqlite(&self) -> bool {
        self._dir.is_some()
    }
}

/// A SQLite file in a new folder, with the default pool (several connections, as served).
pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}", dir.path().join("directory.db").display());
    Backend {
        store: open_store(&url).await.expect("open SQLite store"),
        _dir: Some(dir),
    }
}

/// A new database on the test PostgreSQL server.
pub async fn postgres() -> Backend {
    let url = tokio::task::spawn_blocking(postgres::database)
        .await
        .expect("create database");
    Backend {
        store: open_store(&url).await.expect("open PostgreSQL store"),
        _dir: None,
    }
}

/// Runs each named `async fn(Backend)` of the current module once per backend, as tests
/// `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::postgres().await).await;
                }
            )*
        }
    };
}

/// A fixed, whole-millisecond time (the stores keep milliseconds).
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_790_000_000_000).expect("valid time")
}

/// A client registered at `now` from 198.51.100.7, port 55555.
pub fn new_client(username: &str, now: DateTime<Utc>) -> NewClient {
    NewClient {
        username: username.into(),
        password_hash: format!("$2b$04$hash-of-{username}"),
        host: "192.0.2.1".into(),
        port: 55555,
        public_key: "ab".repeat(32),
        observed_host: Some("198.51.100.7".into()),
        now,
        invite: None,
    }
}

/// A token with hash `[byte; 32]` for `username`, issued at `at`, valid for `days`.
pub fn new_token(byte: u8, username: &str, at: DateTime<Utc>, days: i64) -> NewToken {
    NewToken {
        hash: [byte; 32],
        username: username.into(),
        created_at: at,
        expires_at: at + Duration::days(days),
    }
}
