//! The SQLite backend's reads on a database file: plain SQLite connections (rusqlite) used
//! directly on the async worker that serves the request, memory-mapped, with cached prepared
//! statements. No thread hand-off per query or per row: on a file of a million users a lookup
//! is 5.6× and a page of 100 is 7.6× as fast as through sqlx's worker threads
//! (`benches/sqlite_reads.rs`, docs/decisions/0002-sqlite-reads.md).
//!
//! Reading in WAL mode takes no lock a writer holds, so a read does not wait for writes; a
//! read that finds the database busy (a rare recovery of the write-ahead log) waits at most
//! [`BUSY_TIMEOUT`] and then fails as [`StoreError::Unavailable`]. Writes stay on sqlx's
//! pool (`write.rs`). The statements are shared with the sqlx path that serves in-memory
//! databases (which plain connections cannot share).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};

use crate::store::convert::{RawClientRow, client_row, mail_row};
use crate::store::{ClientRow, MailRow, StoreError};

/// The columns of a client row, in the order [`client_row`] reads them; a macro so that
/// statements stay `&'static str` literals built with `concat!`.
macro_rules! client_columns {
    () => {
        "username, host, port, public_key, observed_host, registered_at, last_seen, heartbeat_at, \
         candidates, relay_only"
    };
}
pub(super) use client_columns;

/// `SELECT` of the columns of a client row from `clients`, then `$rest`.
macro_rules! select_client {
    ($rest:literal) => {
        concat!("SELECT ", client_columns!(), " FROM clients ", $rest)
    };
}

/// One client by username.
pub(super) const CLIENT: &str = select_client!("WHERE username = ? AND disabled = 0");
/// A page of clients after a username, in byte order (SQLite compares TEXT bytewise).
pub(super) const PAGE: &str =
    select_client!("WHERE username > ? AND disabled = 0 ORDER BY username LIMIT ?");
/// A client's password hash.
pub(super) const PASSWORD_HASH: &str = "SELECT password_hash FROM clients WHERE username = ?";
/// The owner of an unexpired token.
pub(super) const TOKEN_OWNER: &str = "SELECT t.username FROM tokens t \
     JOIN clients c ON c.username = t.username \
     WHERE t.token_hash = ? AND t.expires_at > ? AND c.disabled = 0";
/// A page of a recipient's unexpired mail after an id.
pub(super) const MAIL_PAGE: &str = "SELECT id, sealed, deposited_at FROM mailbox \
     WHERE recipient = ? AND id > ? AND expires_at > ? ORDER BY id LIMIT ?";
/// The unforgotten count of wrong passwords of a username.
pub(super) const FAILURES: &str =
    "SELECT failures FROM password_failures WHERE username = ? AND last_at > ?";

/// Bytes of the file mapped into memory: 1 GiB, the whole file of a million users and more.
/// Address space only; the pages are the operating system's file cache, shared by all
/// connections. <https://www.sqlite.org/mmap.html>
const MMAP_BYTES: i64 = 1 << 30;

/// Longest wait of a read for a busy database: 10 ms, so that a read never holds an async
/// worker for long.
const BUSY_TIMEOUT: Duration = Duration::from_millis(10);

/// Read-only connections to one database file, opened as needed and kept for reuse. A
/// connection is held only while one statement runs, without an await in between, so about
/// as many exist as the runtime has worker threads.
pub(super) struct Readers {
    path: PathBuf,
    /// Connections not in use; `None` once closed.
    free: Mutex<Option<Vec<Connection>>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Readers {
    /// Readers of the database file at `path` (opened at the first read).
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            free: Mutex::new(Some(Vec::new())),
        }
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        Ok(conn)
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Option<Vec<Connection>>> {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Closes every connection; later reads fail with [`StoreError::Unavailable`].
    pub(super) fn close(&self) {
        self.free().take();
    }

    /// Runs `read` on a free connection (a new one when none is free), and keeps the
    /// connection unless the read failed.
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let free = match self.free().as_mut() {
            Some(free) => free.pop(),
            None => return Err(StoreError::Unavailable("the store is closed".into())),
        };
        let conn = match free {
            Some(conn) => conn,
            None => self.connect().map_err(store_error)?,
        };
        let out = read(&conn).map_err(store_error)?;
        if let Some(free) = self.free().as_mut() {
            free.push(conn);
        }
        Ok(out)
    }

    /// The client called `username`.
    pub(super) fn client(&self, username: &str) -> Result<Option<ClientRow>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(CLIENT)?
                .query_row([username], raw_client)
                .optional()
        })?
        .map(client_row)
        .transpose()
    }

    /// Up to `limit` clients after `after`.
    pub(super) fn page(&self, after: &str, limit: u32) -> Result<Vec<ClientRow>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(PAGE)?
                .query_map((after, i64::from(limit)), raw_client)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?
        .into_iter()
        .map(client_row)
        .collect()
    }

    /// The password hash of `username`.
    pub(super) fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(PASSWORD_HASH)?
                .query_row([username], |row| row.get(0))
                .optional()
        })
    }

    /// The owner of the token with `hash` if it expires after `now_ms`.
    pub(super) fn token_owner(
        &self,
        hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(TOKEN_OWNER)?
                .query_row((hash, now_ms), |row| row.get(0))
                .optional()
        })
    }

    /// Up to `limit` unexpired messages of `recipient` with ids after `after`.
    pub(super) fn mail(
        &self,
        recipient: &str,
        after: &str,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<MailRow>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(MAIL_PAGE)?
                .query_map((recipient, after, now_ms, i64::from(limit)), |row| {
                    Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<(String, Vec<u8>, i64)>>>()
        })?
        .into_iter()
        .map(|(id, sealed, at): (String, Vec<u8>, i64)| mail_row(&id, sealed, at))
        .collect()
    }

    /// The count of wrong passwords of `username` whose last one is after `since_ms`.
    pub(super) fn failures(&self, username: &str, since_ms: i64) -> Result<i64, StoreError> {
        Ok(self
            .with(|conn| {
                conn.prepare_cached(FAILURES)?
                    .query_row((username, since_ms), |row| row.get(0))
                    .optional()
            })?
            .unwrap_or(0))
    }
}

fn raw_client(row: &Row<'_>) -> rusqlite::Result<RawClientRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

/// What a failed read means: busy, locked, unopenable or an I/O error is
/// [`StoreError::Unavailable`], anything else [`StoreError::Backend`].
fn store_error(err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match err.sqlite_error_code() {
        Some(
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory,
        ) => StoreError::Unavailable(err.into()),
        _ => StoreError::Backend(err.into()),
    }
}
