//! [`Settings`] and the shared [`AppState`] every handler receives.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ipnet::IpNet;

use crate::auth::PasswordHasher;
use crate::connections::ConnectionLimits;
use crate::error::ApiError;
use crate::limits::{Limiter, RateLimit};
use crate::mailbox::MailboxLimits;
use crate::metrics::Metrics;
use crate::registration::Registration;
use crate::relay::{Relay, RelayLimits};
use crate::signal::{Cluster, Hub};
use crate::store::{Store, StoreError};
use crate::throttle::LoginBackoff;

/// Default presence window: 60 s, twice the heartbeat interval a client is expected to use, so
/// one lost heartbeat does not flip a peer offline.
pub const DEFAULT_PRESENCE_WINDOW_SECS: u64 = 60;

/// Default lifetime of a login token: 30 days.
pub const DEFAULT_TOKEN_TTL_DAYS: u64 = 30;

/// Default bcrypt cost: 12 (2^12 rounds, roughly 0.25 s on one current core), the bcrypt
/// crate's own default.
pub const DEFAULT_BCRYPT_COST: u32 = bcrypt::DEFAULT_COST;

/// Smallest bcrypt cost the bcrypt crate accepts.
pub const MIN_BCRYPT_COST: u32 = 4;

/// Largest bcrypt cost the bcrypt crate accepts.
pub const MAX_BCRYPT_COST: u32 = 31;

/// Default handler timeout: 30 s, above the longest wait a handler makes on purpose (10 s
/// for the other side of a relayed session, then 5 s to pass it to another replica; 5 s for a
/// password-hashing thread, then the hash).
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

/// Seconds in a day, for `--token-ttl-days`.
pub const SECS_PER_DAY: u64 = 24 * 60 * 60;

/// Tunables of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// A client counts as online when its last sign of life is at most this old.
    pub presence_window: Duration,
    /// Lifetime of a login token.
    pub token_ttl: Duration,
    /// bcrypt cost (log2 of the rounds), clamped to
    /// [`MIN_BCRYPT_COST`]–[`MAX_BCRYPT_COST`] by [`AppState::new`].
    pub bcrypt_cost: u32,
    /// How many bcrypt computations may run at once on the blocking pool (at least 1).
    pub hash_concurrency: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`crate::client_ip`]).
    pub trusted_proxies: Vec<IpNet>,
    /// Per-address limit of the costly and revealing routes (see [`crate::limits`]); `None`
    /// disables it.
    pub rate_limit: Option<RateLimit>,
    /// Whether `GET /clients` answers without a token.
    pub public_listing: bool,
    /// Slow-down of repeated wrong passwords for one username.
    pub login_backoff: LoginBackoff,
    /// What the offline mailbox keeps per recipient, and for how long.
    pub mailbox: MailboxLimits,
    /// Limits on open connections and how long they may idle (used by [`crate::run`] and
    /// [`crate::run_tls`]).
    pub connections: ConnectionLimits,
    /// What the relay may carry (see [`crate::relay`]).
    pub relay: RelayLimits,
    /// Whether `POST /punch/{username}` arranges hole punches (see [`crate::signal::Hub::punch`]).
    pub hole_punching: bool,
    /// Who may register (see [`crate::registration::admit`]).
    pub registration: Registration,
    /// Longest a handler may run before it is stopped and answered 503.
    pub request_timeout: Duration,
}

impl Default for Settings {
    /// 60 s presence window, 30-day tokens, cost 12, one hash per CPU, no trusted proxy, the
    /// default rate limit and login backoff, listing only with a token, the default mailbox
    /// limits, the default connection limits, the relay on with its default limits, hole
    /// punching on, registration open, a 30 s request timeout. Open suits a directory embedded in one process (the
    /// client's demo, tests); the `p2p-chat-directory` binary defaults to
    /// [`crate::config::DEFAULT_REGISTRATION`] instead.
    fn default() -> Self {
        Self {
            presence_window: Duration::from_secs(DEFAULT_PRESENCE_WINDOW_SECS),
            token_ttl: Duration::from_secs(DEFAULT_TOKEN_TTL_DAYS * SECS_PER_DAY),
            bcrypt_cost: DEFAULT_BCRYPT_COST,
            hash_concurrency: default_hash_concurrency(),
            trusted_proxies: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            public_listing: false,
            login_backoff: LoginBackoff::default(),
            mailbox: MailboxLimits::default(),
            connections: ConnectionLimits::default(),
            relay: RelayLimits::default(),
            hole_punching: true,
            registration: Registration::Open,
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS),
        }
    }
}

/// One bcrypt computation per two CPUs the process may use, at least one: a registration or
/// login storm then takes at most half the machine and leaves the rest to the requests that
/// need no hashing (lookups, heartbeats, signaling); further hashes wait their turn.
pub fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |cpus| (usize::from(cpus) / 2).max(1))
}

/// Everything a handler needs; cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    settings: Settings,
    hasher: PasswordHasher,
    limiter: Option<Limiter>,
    hub: Hub,
    relay: Relay,
    metrics: Metrics,
}

impl AppState {
    /// Builds the state from a store (see [`crate::open_store`]) and settings. The bcrypt cost
    /// is clamped to the range bcrypt accepts, a concurrency of 0 counts as 1, and the mailbox
    /// limits are [clamped](MailboxLimits::clamped).
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self::with_hub(store, settings, Hub::default())
    }

    /// [`AppState::new`] for one replica of `cluster`: several directory processes sharing
    /// one PostgreSQL database (see [`crate::signal::Cluster`]).
    pub fn clustered(store: Arc<dyn Store>, settings: Settings, cluster: Arc<Cluster>) -> Self {
        Self::with_hub(store, settings, Hub::clustered(cluster))
    }

    fn with_hub(store: Arc<dyn Store>, mut settings: Settings, hub: Hub) -> Self {
        settings.bcrypt_cost = settings.bcrypt_cost.clamp(MIN_BCRYPT_COST, MAX_BCRYPT_COST);
        settings.hash_concurrency = settings.hash_concurrency.max(1);
        settings.mailbox = settings.mailbox.clamped();
        let hasher = PasswordHasher::new(settings.bcrypt_cost, settings.hash_concurrency);
        let limiter = settings.rate_limit.map(Limiter::new);
        let relay = match hub.cluster() {
            Some(cluster) => Relay::new(settings.relay).issued_by(cluster.replica()),
            None => Relay::new(settings.relay),
        };
        Self {
            inner: Arc::new(Inner {
                store,
                settings,
                hasher,
                limiter,
                hub,
                relay,
                metrics: Metrics::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The relay's tickets and sessions.
    pub fn relay(&self) -> &Relay {
        &self.inner.relay
    }

    /// The metrics this process counts (see [`crate::metrics`]).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The signaling connections of running clients.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The effective settings (after clamping).
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Hashing slots taken right now, at most `hash_concurrency`: bcrypt computations running
    /// on the hashing threads, or threads resting as their time budget demands. Useful for
    /// metrics, and for tests that check hashing is off the async workers.
    pub fn hashes_in_flight(&self) -> usize {
        self.inner.hasher.in_flight()
    }

    /// Password checks and hashes waiting for a free hashing slot now (the hashing queue).
    pub fn hashes_waiting(&self) -> usize {
        self.inner.hasher.waiting()
    }

    /// How long the next password check for `username` would be held back because of
    /// earlier wrong passwords (see [`crate::throttle`]); zero for most users.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn login_delay(&self, username: &str) -> Result<Duration, StoreError> {
        let backoff = self.inner.settings.login_backoff;
        let failures = self
            .inner
            .store
            .password_failures(username, backoff.forget_before(Utc::now()))
            .await?;
        Ok(backoff.delay_after(failures))
    }

    pub(crate) fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub(crate) fn limiter(&self) -> Option<&Limiter> {
        self.inner.limiter.as_ref()
    }

    /// Checks `password` of `username` against `stored_hash` (`None`: unknown user, still
    /// costs a hash), after the backoff delay its earlier failures earned, and records the
    /// outcome.
    ///
    /// # Errors
    /// 500 when the stored hash is malformed.
    pub(crate) async fn check_password(
        &self,
        username: &str,
        password: String,
        stored_hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let backoff = self.inner.settings.login_backoff;
        let now = Utc::now();
        let earlier = self
            .inner
            .store
            .count_password_check(username, now, backoff.forget_before(now))
            .await?;
        let delay = backoff.delay_after(earlier);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let matches = self.inner.hasher.verify(password, stored_hash).await?;
        if matches {
            self.inner.store.clear_password_failures(username).await?;
        }
        Ok(matches)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}
