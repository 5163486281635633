//! The PostgreSQL backend: any number of directory processes may share one database.
//!
//! Everything that defines behaviour is in the database, and every check-then-write runs in
//! one transaction that locks the rows it depends on, so concurrent requests on different
//! processes give the same answers as on one.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::MailId;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

mod admin;
mod mailbox;
mod tokens;

use super::convert::{RawClientRow, client_row, millis};
use super::{
    AddressUpdate, ClientRow, DepositOutcome, MailRow, MailboxQuota, NewClient, NewMail, NewToken,
    Store, StoreError, TokenHash,
};

/// Pooled connections per directory process unless the operator chooses
/// (`--database-max-connections`): 10, sqlx's own default. PostgreSQL accepts 100 connections
/// by default, so about eight processes fit beside the database's own tools.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long a request waits for a free pooled connection before the store counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// [`Store`] on PostgreSQL through a sqlx pool.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Columns of [`ClientRow`], in the order [`client_row`] expects (the port widened to the
/// 64-bit integer the shared conversion reads).
macro_rules! client_columns {
    () => {
        "username, host, port::BIGINT, public_key, observed_host, registered_at, last_seen, \
         heartbeat_at, candidates, relay_only"
    };
}

impl PostgresStore {
    /// The pool, for whole-database work such as a copy.
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Connects to the database at `url` (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`, with
    /// libpq's query parameters such as `sslmode=require`) with a pool of at most
    /// `max_connections` (at least one), and applies the migrations. The database must exist; the tables are
    /// created. Several processes may start at once: sqlx serialises their migrations with an
    /// advisory lock.
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`], [`StoreError::Unavailable`] when the server cannot be
    /// reached, [`StoreError::Backend`] when it refuses (authentication, no such database),
    /// [`StoreError::Migrate`].
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = connect_options(url)?;
        // One connection first, so that a refused connection or a bad password is reported
        // as itself at once rather than as the pool's timeout ten seconds later.
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        super::migrate::postgres().run(&pool).await?;
        Ok(Self { pool })
    }
}

/// The connection options of `url`, without the server's notices (such as "relation …
/// already exists, skipping" while migrating: not worth a log line; warnings and errors still
/// are). Shared with the replicas' own pool (`signal::Cluster`).
///
/// # Errors
/// [`StoreError::InvalidUrl`].
pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|err: sqlx::Error| StoreError::InvalidUrl(err.to_string()))?;
    Ok(options.options([("client_min_messages", "warning")]))
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_client(&self, client: &NewClient) -> Result<ClientRow, StoreError> {
        let sql = concat!(
            "INSERT INTO clients (username, password_hash, host, port, public_key, ",
            "observed_host, registered_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ",
            "RETURNING ",
            client_columns!()
        );
        let mut tx = self.pool.begin().await?;
        if let Some(hash) = &client.invite
            && !admin::use_invite(&mut tx, hash, millis(client.now)).await?
        {
            // Dropped uncommitted: rolled back.
            return Err(StoreError::InviteRefused);
        }
        let result = sqlx::query_as::<_, RawClientRow>(sql)
            .bind(&client.username)
            .bind(&client.password_hash)
            .bind(&client.host)
            .bind(i32::from(client.port))
            .bind(&client.public_key)
            .bind(&client.observed_host)
            .bind(millis(client.now))
            .fetch_one(&mut *tx)
            .await;
        match result {
            Ok(row) => {
                tx.commit().await?;
                client_row(row)
            }
            Err(err) if is_unique_violation(&err) => {
                Err(StoreError::UsernameTaken(client.username.clone()))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn client(&self, username: &str) -> Result<Option<ClientRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE username = $1 AND NOT disabled"
        );
        sqlx::query_as::<_, RawClientRow>(sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .map(client_row)
            .transpose()
    }

    async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM clients WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn list_clients(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ClientRow>, StoreError> {
        // The column's "C" collation compares bytes, the documented page order; every
        // username sorts after ''.
        let sql = concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE username > $1 AND NOT disabled ORDER BY username LIMIT $2"
        );
        sqlx::query_as::<_, RawClientRow>(sql)
            .bind(after.unwrap_or(""))
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
        // COALESCE keeps the stored key, observed host, candidates and choice when the
        // update carries none.
        let sql = concat!(
            "UPDATE clients SET host = $1, port = $2, public_key = COALESCE($3, public_key), ",
            "observed_host = COALESCE($4, observed_host), last_seen = $5, heartbeat_at = $5, ",
            "candidates = COALESCE($6, candidates), relay_only = COALESCE($7, relay_only) ",
            "WHERE username = $8 RETURNING ",
            client_columns!()
        );
        sqlx::query_as::<_, RawClientRow>(sql)
            .bind(&update.host)
            .bind(i32::from(update.port))
            .bind(&update.public_key)
            .bind(&update.observed_host)
            .bind(millis(update.now))
            .bind(update.candidates.as_ref().map(|list| list.join(" ")))
            .bind(update.relay_only)
            .bind(&update.username)
            .fetch_optional(&self.pool)
            .await?
            .map(client_row)
            .transpose()
    }

    async fn touch(
        &self,
        username: &str,
        now: DateTime<Utc>,
        observed_host: Option<&str>,
        heartbeat: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE clients SET last_seen = $1, observed_host = COALESCE($2, observed_host), \
             heartbeat_at = CASE WHEN $3 THEN $1 ELSE heartbeat_at END WHERE username = $4 \
             AND NOT disabled",
        )
        .bind(millis(now))
        .bind(observed_host)
        .bind(heartbeat)
        .bind(username)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn sign_off(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE clients SET heartbeat_at = NULL WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        tokens::set_password_hash(&self.pool, username, password_hash).await
    }

    async fn delete_client(&self, username: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn insert_token(&self, token: &NewToken) -> Result<(), StoreError> {
        tokens::insert(&self.pool, token).await
    }

    async fn token_owner(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
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
        mailbox::fetch(&self.pool, recipient, after, limit, now).await
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
        let done = sqlx::query("DELETE FROM mailbox WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
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
        tokens::password_failures(&self.pool, username, forget_before).await
    }

    async fn clear_password_failures(&self, username: &str) -> Result<(), StoreError> {
        tokens::clear_password_failures(&self.pool, username).await
    }

    async fn purge_password_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        tokens::purge_password_failures(&self.pool, before).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
