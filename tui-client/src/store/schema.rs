//! Opening the store: connection settings chosen for durability, and the embedded migrations.

use std::path::Path;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// How long a writer waits for another process's lock (a second client on the same profile):
/// 5 s.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pooled connections to the file: one writer at a time anyway, a few readers beside it.
const MAX_CONNECTIONS: u32 = 4;

/// The migrations, in order. Append only: a shipped migration is never edited.
fn migrator() -> Migrator {
    let migrations = [
        (
            1,
            "history and outbox",
            include_str!("../../migrations/0001_history_and_outbox.sql"),
        ),
        (
            2,
            "pins and contacts",
            include_str!("../../migrations/0002_pins_and_contacts.sql"),
        ),
        (
            3,
            "deposited",
            include_str!("../../migrations/0003_deposited.sql"),
        ),
        (
            4,
            "search",
            include_str!("../../migrations/0004_search.sql"),
        ),
        (
            5,
            "replies",
            include_str!("../../migrations/0005_replies.sql"),
        ),
        (
            6,
            "transfers",
            include_str!("../../migrations/0006_transfers.sql"),
        ),
        (
            7,
            "transfer end reason",
            include_str!("../../migrations/0007_transfer_end_reason.sql"),
        ),
        (
            8,
            "groups",
            include_str!("../../migrations/0008_groups.sql"),
        ),
        (
            9,
            "group deposited",
            include_str!("../../migrations/0009_group_deposited.sql"),
        ),
        (
            10,
            "group notices",
            include_str!("../../migrations/0010_group_notices.sql"),
        ),
    ];
    Migrator::with_migrations(
        migrations
            .into_iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Opens (creating) the database file in WAL mode with `synchronous = FULL`: in WAL mode
/// SQLite then syncs the log on every commit, so a committed write survives power loss
/// (SQLite documentation, "PRAGMA synchronous").
pub async fn open_file(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await?;
    migrator().run(&pool).await?;
    Ok(pool)
}

/// A private in-memory database: one connection that never expires (each connection to
/// `:memory:` would see its own database).
pub async fn open_memory() -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::new()
        .in_memory(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    migrator().run(&pool).await?;
    Ok(pool)
}
