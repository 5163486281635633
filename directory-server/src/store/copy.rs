//! Moving a directory from SQLite to PostgreSQL: every account, token and mailbox message,
//! copied exactly (`p2p-chat-directory migrate-to URL`).

use std::str::FromStr;

use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::{PgPool, SqlitePool, Transaction};

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{Backend, StoreError};

/// Rows per page read from SQLite and per `INSERT … SELECT FROM UNNEST(…)` into PostgreSQL: big enough that a million
/// accounts take about a thousand statements, small enough to keep a batch in a few MB.
const BATCH_ROWS: usize = 1000;

/// How many rows of each table were copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Accounts.
    pub clients: u64,
    /// Login tokens (expired ones are left behind).
    pub tokens: u64,
    /// Mailbox messages (expired ones are left behind).
    pub mail: u64,
    /// Invites, revoked and used-up ones too.
    pub invites: u64,
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source or the target is not the backend this copy moves from or to.
    #[error("{0}")]
    Backends(String),
    /// The target database has accounts already; copying would mix two directories.
    #[error(
        "the target database already has {0} accounts: migrate-to copies into an empty \
         database only (create a new one, or drop this one's tables first)"
    )]
    TargetNotEmpty(i64),
    /// A database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies everything from the SQLite database at `from` (migrated to the newest schema first)
/// into the PostgreSQL database at `to` (migrated, and empty). Reads one snapshot of the source
/// (a read transaction) and writes the target in one transaction, so a failed copy leaves the
/// target empty. Stop the directory first: what it writes during the copy is not copied.
///
/// # Errors
/// [`CopyError::Backends`] unless `from` is `sqlite:` and `to` is `postgres:`,
/// [`CopyError::TargetNotEmpty`], [`CopyError::Store`] for any database failure.
pub async fn sqlite_to_postgres(from: &str, to: &str) -> Result<CopyReport, CopyError> {
    let scheme = |url: &str| url.split(':').next().unwrap_or_default().to_owned();
    if Backend::of(from) != Some(Backend::Sqlite) {
        return Err(CopyError::Backends(format!(
            "migrate-to copies from a SQLite directory: --database must be sqlite://PATH, \
             not {}:…",
            scheme(from)
        )));
    }
    if Backend::of(to) != Some(Backend::Postgres) {
        return Err(CopyError::Backends(format!(
            "migrate-to copies into PostgreSQL: the target must be postgres://…, not {}:…",
            scheme(to)
        )));
    }
    let file = sqlx::sqlite::SqliteConnectOptions::from_str(from)
        .map_err(|err| StoreError::InvalidUrl(err.to_string()))?
        .get_filename()
        .to_owned();
    if !file.exists() {
        return Err(CopyError::Backends(format!(
            "there is no SQLite database at {}: name the one the directory uses with \
             --database sqlite://PATH",
            file.display()
        )));
    }
    let source = SqliteStore::open(from, 1).await?;
    let target = PostgresStore::open(to, 1).await?;
    let report = copy(source.pool(), target.pool()).await;
    source.pool().close().await;
    target.pool().close().await;
    report
}

async fn copy(from: &SqlitePool, to: &PgPool) -> Result<CopyReport, CopyError> {
    let mut write = to.begin().await.map_err(StoreError::from)?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(&mut *write)
        .await
        .map_err(StoreError::from)?;
    if existing > 0 {
        return Err(CopyError::TargetNotEmpty(existing));
    }
    // One read transaction: every page comes from the same snapshot of the source.
    let mut read = from.begin().await.map_err(StoreError::from)?;
    let now = chrono::Utc::now().timestamp_millis();
    let report = CopyReport {
        clients: copy_clients(&mut read, &mut write).await?,
        tokens: copy_tokens(&mut read, &mut write, now).await?,
        mail: copy_mail(&mut read, &mut write, now).await?,
        invites: copy_invites(&mut read, &mut write).await?,
    };
    read.rollback().await.map_err(StoreError::from)?;
    write.commit().await.map_err(StoreError::from)?;
    Ok(report)
}

type Read = Transaction<'static, Sqlite>;
type Write = Transaction<'static, Postgres>;

/// The columns of `clients`, in the order both statements below use.
type ClientColumns = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    Option<String>,
    Option<i64>,
    String,
    bool,
    bool,
);

async fn copy_clients(read: &mut Read, write: &mut Write) -> Result<u64, StoreError> {
    let mut copied = 0;
    let mut after = String::new();
    loop {
        let page: Vec<ClientColumns> = sqlx::query_as(
            "SELECT username, password_hash, host, port, registered_at, last_seen, public_key, \
             observed_host, heartbeat_at, candidates, relay_only, disabled FROM clients \
             WHERE username > ? ORDER BY username LIMIT ?",
        )
        .bind(&after)
        .bind(BATCH_ROWS as i64)
        .fetch_all(&mut **read)
        .await?;
        let Some(last) = page.last() else {
            return Ok(copied);
        };
        after = last.0.clone();
        copied += page.len() as u64;
        let mut columns = ClientArrays::default();
        for row in page {
            columns.push(row);
        }
        sqlx::query(
            "INSERT INTO clients (username, password_hash, host, port, registered_at, \
             last_seen, public_key, observed_host, heartbeat_at, candidates, relay_only, \
             disabled) \
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[]::INTEGER[], \
             $5::BIGINT[], $6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::BIGINT[], $10::TEXT[], \
             $11::BOOLEAN[], $12::BOOLEAN[])",
        )
        .bind(columns.username)
        .bind(columns.password_hash)
        .bind(columns.host)
        .bind(columns.port)
        .bind(columns.registered_at)
        .bind(columns.last_seen)
        .bind(columns.public_key)
        .bind(columns.observed_host)
        .bind(columns.heartbeat_at)
        .bind(columns.candidates)
        .bind(columns.relay_only)
        .bind(columns.disabled)
        .execute(&mut **write)
        .await?;
    }
}

/// [`ClientColumns`] turned into one array per column, as `UNNEST` takes them.
#[derive(Default)]
struct ClientArrays {
    username: Vec<String>,
    password_hash: Vec<String>,
    host: Vec<String>,
    port: Vec<i64>,
    registered_at: Vec<i64>,
    last_seen: Vec<i64>,
    public_key: Vec<String>,
    observed_host: Vec<Option<String>>,
    heartbeat_at: Vec<Option<i64>>,
    candidates: Vec<String>,
    relay_only: Vec<bool>,
    disabled: Vec<bool>,
}

impl ClientArrays {
    fn push(&mut self, row: ClientColumns) {
        self.username.push(row.0);
        self.password_hash.push(row.1);
        self.host.push(row.2);
        self.port.push(row.3);
        self.registered_at.push(row.4);
        self.last_seen.push(row.5);
        self.public_key.push(row.6);
        self.observed_host.push(row.7);
        self.heartbeat_at.push(row.8);
        self.candidates.push(row.9);
        self.relay_only.push(row.10);
        self.disabled.push(row.11);
    }
}

/// Copies every invite with its number, and moves PostgreSQL's numbering past them. Few
/// enough to go in one statement.
async fn copy_invites(read: &mut Read, write: &mut Write) -> Result<u64, StoreError> {
    type Invite = (
        i64,
        Vec<u8>,
        String,
        Option<i64>,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Invite> = sqlx::query_as(
        "SELECT id, code_hash, note, max_uses, uses, created_at, expires_at, revoked_at \
         FROM invites ORDER BY id",
    )
    .fetch_all(&mut **read)
    .await?;
    for row in &rows {
        sqlx::query(
            "INSERT INTO invites (id, code_hash, note, max_uses, uses, created_at, expires_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(row.0)
        .bind(&row.1)
        .bind(&row.2)
        .bind(row.3)
        .bind(row.4)
        .bind(row.5)
        .bind(row.6)
        .bind(row.7)
        .execute(&mut **write)
        .await?;
    }
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('invites', 'id'), \
         (SELECT COALESCE(MAX(id), 0) + 1 FROM invites), false)",
    )
    .execute(&mut **write)
    .await?;
    Ok(rows.len() as u64)
}

/// Copies the tokens that expire after `now`.
async fn copy_tokens(read: &mut Read, write: &mut Write, now: i64) -> Result<u64, StoreError> {
    let mut copied = 0;
    let mut after: Vec<u8> = Vec::new();
    loop {
        let page: Vec<(Vec<u8>, String, i64, i64)> = sqlx::query_as(
            "SELECT token_hash, username, created_at, expires_at FROM tokens \
             WHERE token_hash > ? AND expires_at > ? ORDER BY token_hash LIMIT ?",
        )
        .bind(&after)
        .bind(now)
        .bind(BATCH_ROWS as i64)
        .fetch_all(&mut **read)
        .await?;
        let Some(last) = page.last() else {
            return Ok(copied);
        };
        after = last.0.clone();
        copied += page.len() as u64;
        let (hashes, owners, created, expires): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = unzip4(page);
        sqlx::query(
            "INSERT INTO tokens (token_hash, username, created_at, expires_at) \
             SELECT * FROM UNNEST($1::BYTEA[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[])",
        )
        .bind(hashes)
        .bind(owners)
        .bind(created)
        .bind(expires)
        .execute(&mut **write)
        .await?;
    }
}

/// Copies the mailbox messages that expire after `now`; the target's triggers add them to
/// its total.
async fn copy_mail(read: &mut Read, write: &mut Write, now: i64) -> Result<u64, StoreError> {
    let mut copied = 0;
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, Vec<u8>, i64, i64, i64)> = sqlx::query_as(
            "SELECT id, recipient, sealed, size, deposited_at, expires_at FROM mailbox \
             WHERE id > ? AND expires_at > ? ORDER BY id LIMIT ?",
        )
        .bind(&after)
        .bind(now)
        .bind(BATCH_ROWS as i64)
        .fetch_all(&mut **read)
        .await?;
        let Some(last) = page.last() else {
            return Ok(copied);
        };
        after = last.0.clone();
        copied += page.len() as u64;
        let mut ids = Vec::new();
        let mut recipients = Vec::new();
        let mut sealed = Vec::new();
        let mut sizes = Vec::new();
        let mut deposited = Vec::new();
        let mut expires = Vec::new();
        for row in page {
            ids.push(row.0);
            recipients.push(row.1);
            sealed.push(row.2);
            sizes.push(row.3);
            deposited.push(row.4);
            expires.push(row.5);
        }
        sqlx::query(
            "INSERT INTO mailbox (id, recipient, sealed, size, deposited_at, expires_at) \
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BYTEA[], $4::BIGINT[], \
             $5::BIGINT[], $6::BIGINT[])",
        )
        .bind(ids)
        .bind(recipients)
        .bind(sealed)
        .bind(sizes)
        .bind(deposited)
        .bind(expires)
        .execute(&mut **write)
        .await?;
    }
}

fn unzip4<A, B, C, D>(rows: Vec<(A, B, C, D)>) -> (Vec<A>, Vec<B>, Vec<C>, Vec<D>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (a, b, c, d) in rows {
        out.0.push(a);
        out.1.push(b);
        out.2.push(c);
        out.3.push(d);
    }
    out
}
