//! The SQLite backend: one database file in WAL mode, or a private in-memory database.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

mod admin;
mod mailbox;
mod read;
mod tokens;
mod write;

use p2p_chat_protocol::api::MailId;

use super::convert::{RawClientRow, client_row, millis};
use super::{
    AddressUpdate, ClientRow, DepositOutcome, MailRow, MailboxQuota, NewClient, NewMail, NewToken,
    Store, StoreError, TokenHash,
};
use write::Writer;

/// Most pooled connections to a database file unless the operator chooses
/// (`--database-max-connections`). WAL lets readers run beside the single writer; a handful
/// is plenty for a directory that answers small queries.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// How long a writer waits for another writer's lock before failing: 5 s, far above the
/// duration of any of our statements.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a free pooled connection before the store counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// [`Store`] on SQLite through a sqlx pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Plain connections for reads of a database file; `None` for an in-memory database,
    /// which only the pool's one connection can see.
    readers: Option<std::sync::Arc<read::Readers>>,
}

impl SqliteStore {
    /// The pool, for whole-database work such as a copy.
    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Opens (creating if missing) the database at `url` with a pool of at most
    /// `max_connections` (at least one), and applies the migrations.
    ///
    /// An in-memory URL (`sqlite::memory:`) gets a pool of exactly one connection that never
    /// expires: each SQLite connection to `:memory:` would otherwise see its own empty database.
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`], [`StoreError::Unavailable`] / [`StoreError::Backend`] when the
    /// file cannot be opened, [`StoreError::Migrate`].
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| StoreError::InvalidUrl(err.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_private(options.get_filename());
        }
        let pool_options = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let pool_options = if in_memory {
            pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool_options.max_connections(max_connections.max(1))
        };
        let readers = (!in_memory)
            .then(|| std::sync::Arc::new(read::Readers::new(options.get_filename().to_owned())));
        let pool = pool_options.connect_with(options).await?;
        super::migrate::sqlite().run(&pool).await?;
        Ok(Self { pool, readers })
    }
}

/// Creates the database file readable only by its owner (mode 0600: it holds password
/// hashes and login tokens) unless it exists; SQLite gives its `-wal` and `-shm` files the
/// same mode. An existing file keeps the mode the operator chose. When the file cannot be
/// created (no such folder, no permission), SQLite's own open fails next and names the
/// problem.
fn create_private(path: &std::path::Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_client(&self, client: &NewClient) -> Result<ClientRow, StoreError> {
        let now = millis(client.now);
        let mut writer = match &client.invite {
            None => Writer::statement(&self.pool).await?,
            Some(hash) => {
                let mut writer = Writer::transaction(&self.pool).await?;
                if !admin::use_invite(writer.conn(), hash, now).await? {
                    writer.rollback().await?;
                    return Err(StoreError::InviteRefused);
                }
                writer
            }
        };
        let result = sqlx::query(
            "INSERT INTO clients (username, password_hash, host, port, public_key, observed_host, \
             registered_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&client.username)
        .bind(&client.password_hash)
        .bind(&client.host)
        .bind(i64::from(client.port))
        .bind(&client.public_key)
        .bind(&client.observed_host)
        .bind(now)
        .bind(now)
        .execute(writer.conn())
        .await;
        match result {
            Ok(_) => {
                writer.commit().await?;
                client_row((
                    client.username.clone(),
                    client.host.clone(),
                    i64::from(client.port),
                    client.public_key.clone(),
                    client.observed_host.clone(),
                    now,
                    now,
                    None,
                    String::new(),
                    false,
                ))
            }
            Err(err) if is_unique_violation(&err) => {
                // An invite used above stays unused.
                writer.rollback().await?;
                Err(StoreError::UsernameTaken(client.username.clone()))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn client(&self, username: &str) -> Result<Option<ClientRow>, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.client(username);
        }
        sqlx::query_as::<_, RawClientRow>(read::CLIENT)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(client_row)
            .transpose()
    }

    async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.password_hash(username);
        }
        Ok(sqlx::query_scalar(read::PASSWORD_HASH)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_clients(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRow>, StoreError> {
        // `username > ''` matches every row, so one statement serves both cases.
        let after = after.unwrap_or("");
        if let Some(readers) = &self.readers {
            return readers.page(after, limit);
        }
        sqlx::query_as::<_, RawClientRow>(read::PAGE)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(client_row)
            .collect()
    }

    async fn update_address(
        &self,
        update: &AddressUpdate,
    ) -> Result<Option<ClientRow>, StoreError> {
        // COALESCE keeps the stored key and observed host when the update carries none.
        let sql = concat!(
            "UPDATE clients SET host = ?, port = ?, public_key = COALESCE(?, public_key), ",
            "observed_host = COALESCE(?, observed_host), last_seen = ?, heartbeat_at = ?, ",
            "candidates = COALESCE(?, candidates), relay_only = COALESCE(?, relay_only) ",
            "WHERE username = ? ",
            "RETURNING ",
            read::client_columns!()
        );
        let mut writer = Writer::statement(&self.pool).await?;
        let row = sqlx::query_as::<_, RawClientRow>(sql)
            .bind(&update.host)
            .bind(i64::from(update.port))
            .bind(&update.public_key)
            .bind(&update.observed_host)
            .bind(millis(update.now))
            .bind(millis(update.now))
            .bind(update.candidates.as_ref().map(|list| list.join(" ")))
            .bind(update.relay_only)
            .bind(&update.username)
            .fetch_optional(writer.conn())
            .await?;
        writer.commit().await?;
        row.map(client_row).transpose()
    }

    async fn touch(
        &self,
        username: &str,
        now: DateTime<Utc>,
        observed_host: Option<&str>,
        heartbeat: bool,
    ) -> Result<bool, StoreError> {
        let mut writer = Writer::statement(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE clients SET last_seen = ?, observed_host = COALESCE(?, observed_host), \
             heartbeat_at = CASE WHEN ? THEN ? ELSE heartbeat_at END WHERE username = ? \
             AND disabled = 0",
        )
        .bind(millis(now))
        .bind(observed_host)
        .bind(heartbeat)
        .bind(millis(now))
        .bind(username)
        .execute(writer.conn())
        .await?;
        writer.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn sign_off(&self, username: &str) -> Result<bool, StoreError> {
        let mut writer = Writer::statement(&self.pool).await?;
        let done = sqlx::query("UPDATE clients SET heartbeat_at = NULL WHERE username = ?")
            .bind(username)
            .execute(writer.conn())
            .await?;
        writer.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_client(&self, username: &str) -> Result<bool, StoreError> {
        let mut writer = Writer::statement(&self.pool).await?;
        let done = sqlx::query("DELETE FROM clients WHERE username = ?")
            .bind(username)
            .execute(writer.conn())
            .await?;
        writer.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        tokens::set_password_hash(&self.pool, username, password_hash).await
    }

    async fn insert_token(&self, token: &NewToken) -> Result<(), StoreError> {
        tokens::insert(&self.pool, token).await
    }

    async fn token_owner(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(readers) = &self.readers {
            return readers.token_owner(&hash[..], millis(now));
        }
        tokens::owner(&self.pool, hash, now).await
    }

    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        tokens::delete(&self.pool, hash).await
    }

    async fn deposit_mail(
        &self,
        mail: &NewMail,
        quota: MailboxQuota,
    ) -> Result<DepositOutcome, StoreError> {
        mailbox::deposit(&self.pool, mail, quota).await
    }

    async fn fetch_mail(
        &self,
        recipient: &str,
        after: Option<MailId>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<MailRow>, StoreError> {
        // Hyphenated lower-case UUIDs have one length and sort as text like their bytes, and
        // every id sorts after ''.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        if let Some(readers) = &self.readers {
            return readers.mail(recipient, &after, millis(now), limit);
        }
        mailbox::fetch(&self.pool, recipient, &after, limit, now).await
    }

    async fn delete_mail(
        &self,
        recipient: &str,
        id: MailId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        mailbox::delete(&self.pool, recipient, id, now).await
    }

    async fn purge_expired_mail(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        mailbox::purge_expired(&self.pool, now).await
    }

    async fn count_password_check(
        &self,
        username: &str,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        tokens::count_password_check(&self.pool, username, now, forget_before).await
    }

    async fn password_failures(
        &self,
        username: &str,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        if let Some(readers) = &self.readers {
            return Ok(tokens::count(
                readers.failures(username, millis(forget_before))?,
            ));
        }
        tokens::password_failures(&self.pool, username, forget_before).await
    }

    async fn clear_password_failures(&self, username: &str) -> Result<(), StoreError> {
        tokens::clear_password_failures(&self.pool, username).await
    }

    async fn purge_password_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        tokens::purge_password_failures(&self.pool, before).await
    }

    async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close();
        }
        self.pool.close().await;
    }
}
