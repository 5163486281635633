//! From the parsed options to the [`Settings`] the server runs with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use p2p_chat_protocol::api::MAX_SEALED_BYTES;

use super::Config;
use crate::connections::ConnectionLimits;
use crate::limits::RateLimit;
use crate::mailbox::MailboxLimits;
use crate::relay::RelayLimits;
use crate::state::{SECS_PER_DAY, Settings, default_hash_concurrency};
use crate::throttle::LoginBackoff;

impl Config {
    /// The [`Settings`] these options describe; bcrypt concurrency is one per CPU.
    pub fn settings(&self) -> Settings {
        Settings {
            presence_window: Duration::from_secs(self.presence_window_secs),
            token_ttl: Duration::from_secs(self.token_ttl_days * SECS_PER_DAY),
            bcrypt_cost: self.bcrypt_cost,
            hash_concurrency: default_hash_concurrency(),
            trusted_proxies: self.trusted_proxies.clone(),
            rate_limit: RateLimit::per_minute(self.rate_limit_per_minute, self.rate_limit_burst),
            public_listing: self.public_listing,
            login_backoff: LoginBackoff::default(),
            mailbox: MailboxLimits {
                max_messages: self.mailbox_max_messages,
                max_bytes: self.mailbox_max_bytes,
                max_total_bytes: self.mailbox_max_total_bytes,
                // The range check above keeps this within MAX_SEALED_BYTES.
                max_message_bytes: usize::try_from(self.mailbox_max_message_bytes)
                    .unwrap_or(MAX_SEALED_BYTES),
                ttl: Duration::from_secs(self.mailbox_ttl_days * SECS_PER_DAY),
            },
            hole_punching: self.hole_punching,
            registration: self.registration,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            relay: RelayLimits {
                enabled: self.relay,
                max_sessions: self.relay_max_sessions as usize,
                max_bytes: self.relay_max_bytes,
                ..RelayLimits::default()
            },
            connections: ConnectionLimits {
                max_connections: self.max_connections as usize,
                max_per_address: self.max_connections_per_address as usize,
                header_timeout: Duration::from_secs(self.header_timeout_secs),
            },
        }
    }

    /// The URL other replicas reach this one at: `--replica-url`, or `http://ADDR` of the
    /// address actually bound when it is a specific one (not 0.0.0.0 or [::]).
    pub fn replica_url(&self, bound: SocketAddr) -> Option<String> {
        self.replica_url
            .clone()
            .or_else(|| (!bound.ip().is_unspecified()).then(|| format!("http://{bound}")))
    }

    /// The certificate and key files when HTTPS is asked for (clap ensures both or neither).
    pub fn tls_files(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.tls_cert.as_ref().zip(self.tls_key.as_ref())
    }
}
