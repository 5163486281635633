//! Signaling across replicas: several directory processes sharing one PostgreSQL database
//! act as one directory for the clients connected to any of them.
//!
//! - **Who is connected where** is a table (`signal_connections`, migration 0003), so
//!   presence (a user's first and last running client), hole punches (where each side's
//!   signaling connection comes from, and its round trip) and relay offers see connections on
//!   every replica.
//! - **Pushes** to connections held by other replicas travel as [`Event`]s over PostgreSQL's
//!   `LISTEN/NOTIFY` on the channel [`CHANNEL`]; each replica applies the events of the others
//!   to its own connections. NOTIFY is delivered when the sending transaction commits, in
//!   about a millisecond on a LAN; a payload is at most 8000 bytes
//!   (<https://www.postgresql.org/docs/current/sql-notify.html>), far above any signal.
//! - **Liveness**: each replica refreshes its row in `replicas` every [`ALIVE_EVERY`]; one
//!   silent for [`REPLICA_TIMEOUT`] (killed, or cut off from the database) is deleted by the
//!   others together with its connections, whose clients reconnect to a live replica.
//!
//! Pushes stay best effort, as within one process: an event published while the listener is
//! reconnecting is lost, and clients catch up with their periodic reload.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use p2p_chat_protocol::api::signal::ServerSignal;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use crate::store::StoreError;

mod bus;

/// The `LISTEN/NOTIFY` channel of signaling events.
pub const CHANNEL: &str = "p2p_chat_signal";

/// How often a replica says it is alive: every 5 s.
pub const ALIVE_EVERY: Duration = Duration::from_secs(5);

/// A replica silent this long is taken for dead: 20 s (four missed refreshes), well under
/// the 60 s a client waits before it gives up on its signaling connection.
pub const REPLICA_TIMEOUT: Duration = Duration::from_secs(20);

/// Events queued for publishing before more are dropped: 1024.
const OUTBOX: usize = 1024;

/// Pooled connections of the cluster (beside the store's): 4.
const POOL: u32 = 4;

/// What one replica asks the others to do with their connections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Push `signal` to every running client of `username`.
    ToUser {
        /// Who it is for.
        username: String,
        /// What to push.
        signal: ServerSignal,
    },
    /// Push `signal` to one connection (the newest of a user with a port: a hole punch).
    ToConnection {
        /// The replica holding it.
        replica: String,
        /// Its id there.
        id: u64,
        /// What to push.
        signal: ServerSignal,
    },
    /// Push `signal` to every running client but those of `except`.
    Broadcast {
        /// Whose clients are left out.
        except: String,
        /// What to push.
        signal: ServerSignal,
    },
    /// Close every signaling connection of `username`.
    Disconnect {
        /// Whose.
        username: String,
    },
}

/// One signaling connection as the cluster records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The replica holding it.
    pub replica: String,
    /// Its id there.
    pub id: u64,
    /// `IP:PORT` it came from, when that replica saw the port.
    pub addr: Option<SocketAddr>,
    /// Its last measured round trip.
    pub rtt: Option<Duration>,
    /// A short command's connection.
    pub brief: bool,
}

/// A connection this replica holds, as recorded again after it was taken for dead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// Whose.
    pub username: String,
    /// Its id here.
    pub id: u64,
    /// `IP:PORT` it came from, when seen.
    pub addr: Option<SocketAddr>,
    /// A short command's connection.
    pub brief: bool,
}

/// This process's membership in a cluster of replicas.
pub struct Cluster {
    pool: PgPool,
    replica: String,
    url: Option<String>,
    outbox: mpsc::Sender<Event>,
    pending: Mutex<Option<mpsc::Receiver<Event>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Cluster {
    /// Joins the cluster of the PostgreSQL database at `database_url` (already migrated by
    /// [`crate::open_store`]) as a new replica with a random id, reachable by the others at
    /// `url` (for relayed sessions; `None` when it cannot be reached).
    ///
    /// # Errors
    /// When the database cannot be reached or the random id cannot be drawn.
    pub async fn join(database_url: &str, url: Option<String>) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL)
            .connect_with(crate::store::postgres::connect_options(database_url)?)
            .await?;
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|err| StoreError::Corrupt(format!("no random replica id: {err}")))?;
        let replica: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO replicas (replica, url, seen_at) VALUES ($1, $2, $3)")
            .bind(&replica)
            .bind(&url)
            .bind(Utc::now().timestamp_millis())
            .execute(&pool)
            .await?;
        let (outbox, pending) = mpsc::channel(OUTBOX);
        Ok(Self {
            pool,
            replica,
            url,
            outbox,
            pending: Mutex::new(Some(pending)),
        })
    }

    /// This replica's id (16 hex digits).
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Queues `event` for the other replicas; dropped (and logged) when the queue is full.
    pub fn publish(&self, event: Event) {
        if self.outbox.try_send(event).is_err() {
            tracing::warn!("signaling events for other replicas are piling up; one dropped");
        }
    }

    /// Records connection `id` of `username`; true when it is the user's first running
    /// client on any replica (a brief one never is).
    ///
    /// # Errors
    /// Database failures.
    pub async fn opened(
        &self,
        username: &str,
        id: u64,
        addr: Option<SocketAddr>,
        brief: bool,
    ) -> Result<bool, StoreError> {
        // The SELECT sees the table as it was before the INSERT (one snapshot).
        let running: i64 = sqlx::query_scalar(
            "WITH added AS (INSERT INTO signal_connections \
             (replica, id, username, addr, brief, opened_at) VALUES ($1, $2, $3, $4, $5, $6)) \
             SELECT COUNT(*) FROM signal_connections WHERE username = $3 AND NOT brief",
        )
        .bind(&self.replica)
        .bind(id_column(id))
        .bind(username)
        .bind(addr.map(|a| a.to_string()))
        .bind(brief)
        .bind(Utc::now().timestamp_millis())
        .fetch_one(&self.pool)
        .await?;
        Ok(!brief && running == 0)
    }

    /// Forgets connection `id` of `username`; true when it was the user's last running
    /// client on any replica.
    ///
    /// # Errors
    /// Database failures.
    pub async fn closed(&self, username: &str, id: u64) -> Result<bool, StoreError> {
        let (brief, others): (Option<bool>, i64) = sqlx::query_as(
            "WITH gone AS (DELETE FROM signal_connections WHERE replica = $1 AND id = $2 \
             RETURNING brief) \
             SELECT (SELECT brief FROM gone), (SELECT COUNT(*) FROM signal_connections \
             WHERE username = $3 AND NOT brief AND NOT (replica = $1 AND id = $2))",
        )
        .bind(&self.replica)
        .bind(id_column(id))
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok(brief == Some(false) && others == 0)
    }

    /// Records the round trip just measured on connection `id`.
    ///
    /// # Errors
    /// Database failures.
    pub async fn measured(&self, id: u64, rtt: Duration) -> Result<(), StoreError> {
        sqlx::query("UPDATE signal_connections SET rtt_ms = $3 WHERE replica = $1 AND id = $2")
            .bind(&self.replica)
            .bind(id_column(id))
            .bind(i32::try_from(rtt.as_millis()).unwrap_or(i32::MAX))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The signaling connections of `username` on every replica, oldest first.
    ///
    /// # Errors
    /// Database failures.
    pub async fn connections(&self, username: &str) -> Result<Vec<Recorded>, StoreError> {
        type Row = (String, i64, Option<String>, Option<i32>, bool);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT replica, id, addr, rtt_ms, brief FROM signal_connections \
             WHERE username = $1 ORDER BY opened_at, id",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(replica, id, addr, rtt, brief)| Recorded {
                replica,
                id: u64::try_from(id).unwrap_or_default(),
                addr: addr.and_then(|a| a.parse().ok()),
                rtt: rtt.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
                brief,
            })
            .collect())
    }

    /// The URL at which `replica` said other replicas reach it, if it is alive and said one.
    ///
    /// # Errors
    /// Database failures.
    pub async fn url_of(&self, replica: &str) -> Result<Option<String>, StoreError> {
        let url: Option<Option<String>> =
            sqlx::query_scalar("SELECT url FROM replicas WHERE replica = $1")
                .bind(replica)
                .fetch_optional(&self.pool)
                .await?;
        Ok(url.flatten())
    }

    /// Leaves the cluster: this replica's row and connections are deleted at once (a clean
    /// shutdown), rather than after [`REPLICA_TIMEOUT`].
    pub async fn leave(&self) {
        let done = sqlx::query("DELETE FROM replicas WHERE replica = $1")
            .bind(&self.replica)
            .execute(&self.pool)
            .await;
        if let Err(err) = done {
            tracing::warn!(%err, "cannot leave the cluster of replicas");
        }
        self.pool.close().await;
    }
}

/// A connection id as stored (ids count up from 0 in each process, far below `i64::MAX`).
fn id_column(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}
