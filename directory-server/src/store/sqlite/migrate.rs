//! The embedded migrations of the SQLite backend.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The migrations, in order. Append only: a shipped migration is never edited.
pub(super) fn migrator() -> Migrator {
    let migrations = [
        (
            1,
            "clients and tokens",
            include_str!("../../../migrations/sqlite/0001_clients_and_tokens.sql"),
        ),
        (
            2,
            "identity keys and observed hosts",
            include_str!("../../../migrations/sqlite/0002_identity_keys_and_observed_hosts.sql"),
        ),
        (
            3,
            "mailbox",
            include_str!("../../../migrations/sqlite/0003_mailbox.sql"),
        ),
        (
            4,
            "heartbeats",
            include_str!("../../../migrations/sqlite/0004_heartbeats.sql"),
        ),
        (
            5,
            "mailbox total",
            include_str!("../../../migrations/sqlite/0005_mailbox_total.sql"),
        ),
        (
            6,
            "candidates",
            include_str!("../../../migrations/sqlite/0006_candidates.sql"),
        ),
        (
            7,
            "relay only",
            include_str!("../../../migrations/sqlite/0007_relay_only.sql"),
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
