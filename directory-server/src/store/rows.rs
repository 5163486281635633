//! The rows the [`Store`](super::Store) takes and returns.

use std::time::Duration;

use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::ClientRecord;

use super::TokenHash;

/// One registered peer as stored, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRow {
    /// Case-folded username, the primary key.
    pub username: String,
    /// Normalised host (see `p2p_chat_protocol::validate::host`).
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// X25519 identity public key as 64 lowercase hex digits; empty for accounts registered
    /// before keys existed that have not sent one since.
    pub public_key: String,
    /// The address the peer's last register, update or heartbeat came from, if any was seen.
    pub observed_host: Option<String>,
    /// When the account was created.
    pub registered_at: DateTime<Utc>,
    /// Last sign of life: registration, login, heartbeat or address update.
    pub last_seen: DateTime<Utc>,
    /// Last heartbeat or address update of a running client; `None` before the first one and
    /// after the client signed off.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Other addresses the client published, `IP:PORT`.
    pub candidates: Vec<String>,
    /// Whether the client asked to be reached only through the relay; its record then
    /// withholds every address.
    pub relay_only: bool,
}

impl ClientRow {
    /// The public record at time `now`: `online` is true when a running client's heartbeat
    /// ([`heartbeat_at`](Self::heartbeat_at)) is at most `presence_window` before `now`; the
    /// addresses are withheld when [`relay_only`](Self::relay_only).
    pub fn into_record(self, now: DateTime<Utc>, presence_window: Duration) -> ClientRecord {
        // A heartbeat in the future (clock stepped back) counts as online.
        let online = self.heartbeat_at.is_some_and(|at| {
            now.signed_duration_since(at)
                .to_std()
                .map_or(true, |age| age <= presence_window)
        });
        let record = ClientRecord {
            username: self.username,
            host: self.host,
            port: self.port,
            public_key: self.public_key,
            observed_host: self.observed_host,
            registered_at: self.registered_at,
            last_seen: self.last_seen,
            online,
            candidates: self.candidates,
            relay_only: false,
        };
        if self.relay_only {
            ClientRecord {
                host: String::new(),
                port: 0,
                observed_host: None,
                candidates: Vec::new(),
                relay_only: true,
                ..record
            }
        } else {
            record
        }
    }
}

/// A client to insert; all fields are already validated.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// Case-folded username.
    pub username: String,
    /// bcrypt hash in modular crypt format (`$2b$...`).
    pub password_hash: String,
    /// Normalised host.
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// Identity public key, 64 lowercase hex digits.
    pub public_key: String,
    /// The address the registration came from, when known.
    pub observed_host: Option<String>,
    /// Registration time; also the first `last_seen`.
    pub now: DateTime<Utc>,
    /// The hash of the invite code this registration uses up, when it needs one.
    pub invite: Option<TokenHash>,
}

/// A change of a client's address (and maybe key) by its owner; fields are validated.
#[derive(Clone, Debug)]
pub struct AddressUpdate {
    /// Case-folded username of the client to change.
    pub username: String,
    /// New normalised host.
    pub host: String,
    /// New TCP port, 1–65535.
    pub port: u16,
    /// New identity public key (64 lowercase hex digits); `None` keeps the current one.
    pub public_key: Option<String>,
    /// The address the request came from; `None` keeps the one recorded before.
    pub observed_host: Option<String>,
    /// New candidate addresses (validated `IP:PORT`); `None` keeps the earlier ones.
    pub candidates: Option<Vec<String>>,
    /// Whether to withhold the addresses from now on; `None` keeps the earlier choice.
    pub relay_only: Option<bool>,
    /// Time of the update; becomes `last_seen`.
    pub now: DateTime<Utc>,
}

/// A login token to insert.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// SHA-256 of the token's 32 random bytes.
    pub hash: TokenHash,
    /// Owner of the token.
    pub username: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_seen: DateTime<Utc>) -> ClientRow {
        ClientRow {
            username: "alice".into(),
            host: "127.0.0.1".into(),
            port: 55555,
            public_key: "ab".repeat(32),
            observed_host: None,
            registered_at: last_seen,
            last_seen,
            heartbeat_at: Some(last_seen),
            candidates: Vec::new(),
            relay_only: false,
        }
    }

    #[test]
    fn online_means_seen_within_the_window() {
        let now = Utc::now();
        let window = Duration::from_secs(60);
        assert!(row(now).into_record(now, window).online);
        let old = now - chrono::Duration::seconds(61);
        assert!(!row(old).into_record(now, window).online);
        let future = now + chrono::Duration::seconds(5);
        assert!(row(future).into_record(now, window).online);
        let edge = now - chrono::Duration::seconds(60);
        assert!(
            row(edge).into_record(now, window).online,
            "the window is inclusive"
        );
    }

    #[test]
    fn records_carry_key_and_observed_host() {
        let now = Utc::now();
        let mut row = row(now);
        row.observed_host = Some("203.0.113.9".into());
        let record = row.into_record(now, Duration::from_secs(60));
        assert_eq!(record.public_key, "ab".repeat(32));
        assert_eq!(record.observed_host.as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn a_relay_only_record_withholds_every_address() {
        let now = Utc::now();
        let mut row = row(now);
        row.observed_host = Some("203.0.113.9".into());
        row.candidates = vec!["192.0.2.7:55555".into()];
        row.relay_only = true;
        let record = row.into_record(now, Duration::from_secs(60));
        assert!(record.relay_only);
        assert_eq!((record.host.as_str(), record.port), ("", 0));
        assert_eq!(record.observed_host, None);
        assert!(record.candidates.is_empty());
        assert_eq!(record.public_key, "ab".repeat(32), "the key stays public");
        assert!(record.online, "and so does presence");
    }
}
