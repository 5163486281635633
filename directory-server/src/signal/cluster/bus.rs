//! The event bus between replicas: each replica publishes its [`Event`]s with `pg_notify`,
//! listens for the others', says every [`ALIVE_EVERY`] that it is alive, and forgets replicas
//! silent for [`REPLICA_TIMEOUT`].

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;

use super::{ALIVE_EVERY, CHANNEL, Cluster, Event, Held, REPLICA_TIMEOUT, ms};

/// An event with the replica it came from, as it travels.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

impl Cluster {
    /// Runs the replica's side of the cluster until aborted: publishes queued events,
    /// applies the other replicas' events with `apply`, says every [`ALIVE_EVERY`] that this
    /// replica is alive (re-joining with `rejoin` if it was taken for dead), and deletes
    /// replicas silent for [`REPLICA_TIMEOUT`]. Call once.
    pub async fn run(
        &self,
        apply: impl Fn(Event) + Send + Sync,
        rejoin: impl Fn() -> Vec<Held> + Send + Sync,
    ) {
        let Some(mut pending) = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        else {
            return;
        };
        let mut listener = None;
        let mut alive = tokio::time::interval(ALIVE_EVERY);
        alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if listener.is_none() {
                listener = self.listen().await;
            }
            tokio::select! {
                event = pending.recv() => match event {
                    Some(event) => self.notify(event).await,
                    None => return,
                },
                _ = alive.tick() => self.keep_alive(&rejoin).await,
                note = next_notification(&mut listener) => match note {
                    Some(payload) => match serde_json::from_str::<Envelope>(&payload) {
                        Ok(envelope) if envelope.origin != self.replica => apply(envelope.event),
                        Ok(_) => {}
                        Err(err) => tracing::warn!(%err, "unreadable signaling event"),
                    },
                    None => {
                        listener = None;
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(%err, "cannot listen for other replicas' signaling events");
                return None;
            }
        };
        match listener.listen(CHANNEL).await {
            Ok(()) => Some(listener),
            Err(err) => {
                tracing::warn!(%err, "cannot listen for other replicas' signaling events");
                None
            }
        }
    }

    async fn notify(&self, event: Event) {
        let envelope = Envelope {
            origin: self.replica.clone(),
            event,
        };
        let Ok(payload) = serde_json::to_string(&envelope) else {
            return;
        };
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, "cannot publish a signaling event to other replicas");
        }
    }

    async fn keep_alive(&self, rejoin: &(impl Fn() -> Vec<Held> + Send + Sync)) {
        let now = Utc::now().timestamp_millis();
        let result: Result<(), sqlx::Error> = async {
            let refreshed = sqlx::query("UPDATE replicas SET seen_at = $2 WHERE replica = $1")
                .bind(&self.replica)
                .bind(now)
                .execute(&self.pool)
                .await?;
            let forgotten = sqlx::query("DELETE FROM replicas WHERE seen_at < $1")
                .bind(now - ms(REPLICA_TIMEOUT))
                .execute(&self.pool)
                .await?
                .rows_affected();
            if forgotten > 0 {
                tracing::info!(
                    forgotten,
                    "forgot replicas silent for {} s, with their connections",
                    REPLICA_TIMEOUT.as_secs()
                );
            }
            if refreshed.rows_affected() == 0 {
                // Taken for dead (cut off from the database for a while): back in, with the
                // connections this replica still holds.
                tracing::warn!("this replica was taken for dead by the others; rejoining");
                sqlx::query("INSERT INTO replicas (replica, url, seen_at) VALUES ($1, $2, $3)")
                    .bind(&self.replica)
                    .bind(&self.url)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                for held in rejoin() {
                    let _ = self
                        .opened(&held.username, held.id, held.addr, held.brief)
                        .await;
                }
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(%err, "cannot tell other replicas this one is alive");
        }
    }
}

/// The next notification's payload; `None` when the listener is gone or failed (then the
/// caller connects again).
async fn next_notification(listener: &mut Option<PgListener>) -> Option<String> {
    match listener {
        Some(l) => match l.try_recv().await {
            Ok(Some(note)) => Some(note.payload().to_owned()),
            Ok(None) | Err(_) => None,
        },
        None => std::future::pending().await,
    }
}
