//! The embedded migrations of each backend: `migrations/sqlite/` and `migrations/postgres/`.
//!
//! Append only: a shipped migration is never edited, a change is a new numbered file. sqlx
//! records what it applied in `_sqlx_migrations` and refuses to start on a database whose
//! applied migrations differ from these (an edited file, or a newer build's migrations).

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The SQLite migrations, in order.
pub(super) fn sqlite() -> Migrator {
    migrator(&[
        (
            1,
            "clients and tokens",
            include_str!("../../migrations/sqlite/0001_clients_and_tokens.sql"),
        ),
        (
            2,
            "identity keys and observed hosts",
            include_str!("../../migrations/sqlite/0002_identity_keys_and_observed_hosts.sql"),
        ),
        (
            3,
            "mailbox",
            include_str!("../../migrations/sqlite/0003_mailbox.sql"),
        ),
        (
            4,
            "heartbeats",
            include_str!("../../migrations/sqlite/0004_heartbeats.sql"),
        ),
        (
            5,
            "mailbox total",
            include_str!("../../migrations/sqlite/0005_mailbox_total.sql"),
        ),
        (
            6,
            "candidates",
            include_str!("../../migrations/sqlite/0006_candidates.sql"),
        ),
        (
            7,
            "relay only",
            include_str!("../../migrations/sqlite/0007_relay_only.sql"),
        ),
        (
            8,
            "password failures",
            include_str!("../../migrations/sqlite/0008_password_failures.sql"),
        ),
        (
            9,
            "invites and disabled accounts",
            include_str!("../../migrations/sqlite/0009_invites_and_disabled.sql"),
        ),
    ])
}

/// The PostgreSQL migrations, in order.
pub(super) fn postgres() -> Migrator {
    migrator(&[
        (
            1,
            "schema",
            include_str!("../../migrations/postgres/0001_schema.sql"),
        ),
        (
            2,
            "password failures",
            include_str!("../../migrations/postgres/0002_password_failures.sql"),
        ),
        (
            3,
            "replicas",
            include_str!("../../migrations/postgres/0003_replicas.sql"),
        ),
        (
            4,
            "invites and disabled accounts",
            include_str!("../../migrations/postgres/0004_invites_and_disabled.sql"),
        ),
    ])
}

/// A migrator over `(version, description, SQL)` triples.
fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
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
