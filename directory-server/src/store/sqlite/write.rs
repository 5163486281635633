//! Writes that never leave a broken connection in the pool.
//!
//! When a write fails — a full disk above all — SQLite may leave the connection inside its
//! transaction, still holding the database's write lock. A pool that hands that connection out
//! again makes every other writer wait and fail with "database is locked", and the statements
//! run on it later are answered as done but never committed. So every write here runs on a
//! connection of its own, and a write that fails closes its connection (which rolls back
//! whatever it had begun) instead of returning it to the pool.

use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use crate::store::StoreError;

/// A connection taken for one write; unless [`Writer::commit`] succeeds, dropping it closes
/// the connection.
pub(super) struct Writer {
    conn: PoolConnection<Sqlite>,
    transaction: bool,
    committed: bool,
}

impl Writer {
    /// A connection for one statement (SQLite runs it as its own transaction).
    ///
    /// # Errors
    /// When no connection can be had.
    pub(super) async fn statement(pool: &SqlitePool) -> Result<Self, StoreError> {
        Ok(Self {
            conn: pool.acquire().await?,
            transaction: false,
            committed: false,
        })
    }

    /// A connection inside `BEGIN IMMEDIATE`: the write lock is taken at once, so the checks
    /// made in the transaction still hold when it writes.
    ///
    /// # Errors
    /// When no connection can be had or the lock cannot be taken in the busy timeout.
    pub(super) async fn transaction(pool: &SqlitePool) -> Result<Self, StoreError> {
        let mut writer = Self {
            conn: pool.acquire().await?,
            transaction: true,
            committed: false,
        };
        sqlx::query("BEGIN IMMEDIATE")
            .execute(writer.conn())
            .await?;
        Ok(writer)
    }

    /// The connection, to run statements on.
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Commits (for a transaction) and gives the connection back to the pool.
    ///
    /// # Errors
    /// When the commit fails; the connection is closed then, and nothing was written.
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        if self.transaction {
            sqlx::query("COMMIT").execute(self.conn()).await?;
        }
        // Healthy: back to the pool when dropped.
        self.committed = true;
        Ok(())
    }
}

impl Writer {
    /// Rolls back (for a transaction) and gives the connection back to the pool: for a write
    /// that decided not to happen. Dropping instead would close the connection, and with it
    /// an in-memory database.
    ///
    /// # Errors
    /// When the rollback fails; the connection is closed then.
    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        if self.transaction {
            sqlx::query("ROLLBACK").execute(self.conn()).await?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.committed {
            // Not committed: closed rather than reused.
            self.conn.close_on_drop();
        }
    }
}
