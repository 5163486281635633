//! Pinned keys and the cached contact list in the local store.

use p2p_chat_protocol::api::ClientRecord;
use sqlx::Row;

use super::{LocalStore, StoreError, ms};
use crate::pins::{Pin, Pins};

impl LocalStore {
    /// Every pinned key.
    ///
    /// # Errors
    /// When the read fails or a stored key is not 32 bytes.
    pub async fn pins(&self) -> Result<Pins, StoreError> {
        let rows = sqlx::query("SELECT peer, public_key, verified FROM pins")
            .fetch_all(&self.pool)
            .await?;
        let mut pins = Pins::default();
        for row in rows {
            let peer: String = row.try_get("peer")?;
            let key: Vec<u8> = row.try_get("public_key")?;
            let key: [u8; 32] = key.try_into().map_err(|_| {
                StoreError(sqlx::Error::Decode("a pinned key is not 32 bytes".into()))
            })?;
            let verified = row.try_get::<i64, _>("verified")? == 1;
            pins.insert(&peer, Pin { key, verified });
        }
        Ok(pins)
    }

    /// Stores the pin of `peer` (only that row: pins changed by another process meanwhile
    /// stay as they are).
    ///
    /// # Errors
    /// When the write fails.
    pub async fn save_pin(&self, peer: &str, pin: &Pin) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pins (peer, public_key, verified, pinned_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (peer) DO UPDATE SET public_key = excluded.public_key, verified = excluded.verified, \
             pinned_at_ms = CASE WHEN pins.public_key = excluded.public_key THEN pins.pinned_at_ms ELSE excluded.pinned_at_ms END",
        )
        .bind(peer)
        .bind(pin.key.as_slice())
        .bind(i64::from(pin.verified))
        .bind(ms(crate::clock::now_ms()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The contact list last seen from the directory, sorted by username.
    ///
    /// # Errors
    /// When the read fails. Records that no longer parse are skipped.
    pub async fn cached_contacts(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = sqlx::query("SELECT record FROM contacts ORDER BY username")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String, _>("record").ok())
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    /// Replaces the cached contact list.
    ///
    /// # Errors
    /// When the write fails; the old list stays then.
    pub async fn cache_contacts(&self, records: &[ClientRecord]) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM contacts")
            .execute(&mut *tx)
            .await?;
        for record in records {
            let json = serde_json::to_string(record)
                .map_err(|e| StoreError(sqlx::Error::Encode(Box::new(e))))?;
            sqlx::query("INSERT INTO contacts (username, record, updated_at_ms) VALUES (?, ?, ?)")
                .bind(&record.username)
                .bind(json)
                .bind(ms(crate::clock::now_ms()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
