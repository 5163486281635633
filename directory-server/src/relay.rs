//! The relay: when two clients cannot reach each other directly, both connect to the
//! directory with a one-time ticket and the directory splices their two byte streams. It
//! carries only what the clients send over it — their Noise-encrypted session, which the
//! directory can neither read nor alter without the session noticing.
//!
//! A ticket is asked for by one user for another user who has a signaling connection open
//! (`POST /relay/{username}`); the directory pushes it to that user (`relay_offer`), and both
//! then open `GET /relay/{ticket}` with `Upgrade: p2p-chat-relay`. The first to arrive waits
//! up to [`PAIR_TIMEOUT`] for the other. The operator bounds the relay with
//! [`RelayLimits`]: on or off, sessions at once, bytes and idle time per session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use tokio::sync::Semaphore;

pub mod forward;
mod splice;

use splice::splice;

/// How long a ticket waits for its two sides: 10 s.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of [`RelayLimits::max_sessions`]: 100 relayed sessions at once.
pub const DEFAULT_RELAY_MAX_SESSIONS: usize = 100;
/// Default of [`RelayLimits::max_bytes`]: 64 MiB per relayed session, both directions
/// together — a year of chat, or a few seconds of a file (a transfer goes on over the next
/// session; clients learn the cap from the `101` answer's `p2p-chat-relay-max-bytes` header).
pub const DEFAULT_RELAY_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default of [`RelayLimits::idle_timeout`]: 5 minutes without a byte ends a relayed session
/// (the peers' keepalives send one every 15 s).
pub const DEFAULT_RELAY_IDLE: Duration = Duration::from_secs(5 * 60);
/// Most relayed sessions (and unused tickets) one user may have at once: 4, so one account
/// cannot take the whole relay.
pub const RELAY_MAX_PER_USER: usize = 4;
/// Longest a relayed session lasts: 1 hour; the peers then reconnect (directly, if a direct
/// path has opened meanwhile), so no session holds a relay slot for ever.
pub const RELAY_MAX_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// What the operator allows the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// Whether the relay runs at all (`--relay off` turns it off).
    pub enabled: bool,
    /// Most relayed sessions at once.
    pub max_sessions: usize,
    /// Most bytes one relayed session carries, both directions together.
    pub max_bytes: u64,
    /// A relayed session idle this long is ended.
    pub idle_timeout: Duration,
    /// Most sessions and unused tickets one user may have at once.
    pub max_per_user: usize,
    /// A relayed session is ended after this long, whatever it carries.
    pub max_lifetime: Duration,
}

impl Default for RelayLimits {
    /// On, [`DEFAULT_RELAY_MAX_SESSIONS`], [`DEFAULT_RELAY_MAX_BYTES`], [`DEFAULT_RELAY_IDLE`],
    /// [`RELAY_MAX_PER_USER`], [`RELAY_MAX_LIFETIME`].
    fn default() -> Self {
        Self {
            enabled: true,
            max_sessions: DEFAULT_RELAY_MAX_SESSIONS,
            max_bytes: DEFAULT_RELAY_MAX_BYTES,
            idle_timeout: DEFAULT_RELAY_IDLE,
            max_per_user: RELAY_MAX_PER_USER,
            max_lifetime: RELAY_MAX_LIFETIME,
        }
    }
}

/// A relay byte stream (an upgraded HTTP connection).
pub type RelayStream = TokioIo<hyper::upgrade::Upgraded>;

/// The tickets handed out and not yet used, and the relayed sessions running.
#[derive(Debug)]
pub struct Relay {
    limits: RelayLimits,
    /// The replica id that starts each ticket (`REPLICA.HEX`), in a cluster of replicas.
    issuer: Option<String>,
    state: Mutex<State>,
    sessions: Arc<Semaphore>,
    /// Sessions started, for the metrics.
    started: AtomicU64,
    /// Bytes carried by every session, for the metrics.
    carried: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    tickets: HashMap<String, Ticket>,
    /// Tickets and sessions per user, for [`RelayLimits::max_per_user`].
    per_user: HashMap<String, usize>,
}

impl State {
    fn count(&mut self, user: &str, delta: isize) {
        let count = self.per_user.entry(user.to_owned()).or_insert(0);
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.per_user.remove(user);
        }
    }

    /// Forgets expired tickets, giving their users' counts back.
    fn expire(&mut self) {
        let expired: Vec<String> = self
            .tickets
            .iter()
            .filter(|(_, t)| t.issued.elapsed() >= PAIR_TIMEOUT)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            if let Some(ticket) = self.tickets.remove(&key) {
                self.count(&ticket.users[0], -1);
                self.count(&ticket.users[1], -1);
            }
        }
    }
}

#[derive(Debug)]
struct Ticket {
    /// The two users it is for.
    users: [String; 2],
    issued: Instant,
    /// The first side to arrive, and who it is, parked until the other user comes.
    parked: Option<(String, RelayStream)>,
}

/// Why a relay request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The operator turned the relay off.
    Off,
    /// No such ticket (never issued, used, or expired), or not for this user.
    UnknownTicket,
    /// The relay carries [`RelayLimits::max_sessions`] sessions already, or one of the users
    /// has [`RelayLimits::max_per_user`].
    Busy,
}

impl Relay {
    /// A relay within `limits`.
    pub fn new(limits: RelayLimits) -> Self {
        Self {
            limits,
            issuer: None,
            state: Mutex::new(State::default()),
            sessions: Arc::new(Semaphore::new(limits.max_sessions.max(1))),
            started: AtomicU64::new(0),
            carried: AtomicU64::new(0),
        }
    }

    /// The relay of replica `replica` of a cluster: its tickets start with `replica.`, so
    /// that the other replicas pass requests for them on to this one
    /// ([`forward::forward`]).
    pub fn issued_by(self, replica: &str) -> Self {
        Self {
            issuer: Some(replica.to_owned()),
            ..self
        }
    }

    /// Whether `ticket` was issued by another replica, and which.
    pub fn foreign<'t>(&self, ticket: &'t str) -> Option<&'t str> {
        forward::issuer(ticket).filter(|&replica| self.issuer.as_deref() != Some(replica))
    }

    /// Its limits.
    pub fn limits(&self) -> &RelayLimits {
        &self.limits
    }

    /// Relayed sessions started since the process started.
    pub fn sessions_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Bytes the relay carried since the process started, both directions of every session,
    /// counted as they move.
    pub fn bytes_carried(&self) -> u64 {
        self.carried.load(Ordering::Relaxed)
    }

    /// Relayed sessions running now.
    pub fn sessions(&self) -> usize {
        self.limits.max_sessions.max(1) - self.sessions.available_permits()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new ticket for `from` and `to`; expired tickets are forgotten on the way. Each
    /// ticket counts for both users until it expires or its session ends.
    ///
    /// # Errors
    /// [`Refusal::Off`], or [`Refusal::Busy`] when no session could start or either user has
    /// [`RelayLimits::max_per_user`] already.
    pub fn issue(&self, from: &str, to: &str) -> Result<String, Refusal> {
        if !self.limits.enabled {
            return Err(Refusal::Off);
        }
        let mut state = self.lock();
        state.expire();
        let full =
            |user: &str| state.per_user.get(user).copied().unwrap_or(0) >= self.limits.max_per_user;
        if self.sessions.available_permits() == 0 || full(from) || full(to) {
            return Err(Refusal::Busy);
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Refusal::Busy)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let ticket = match &self.issuer {
            Some(replica) => format!("{replica}.{hex}"),
            None => hex,
        };
        state.tickets.insert(
            ticket.clone(),
            Ticket {
                users: [from.to_owned(), to.to_owned()],
                issued: Instant::now(),
                parked: None,
            },
        );
        state.count(from, 1);
        state.count(to, 1);
        Ok(ticket)
    }

    /// Whether `username` may join `ticket` now (checked before the connection is upgraded):
    /// one of its two users, and not the one already waiting on it.
    ///
    /// # Errors
    /// [`Refusal::Off`], [`Refusal::UnknownTicket`].
    pub fn check(&self, ticket: &str, username: &str) -> Result<(), Refusal> {
        if !self.limits.enabled {
            return Err(Refusal::Off);
        }
        let state = self.lock();
        match state.tickets.get(ticket) {
            Some(t)
                if t.users.iter().any(|u| u == username)
                    && t.issued.elapsed() < PAIR_TIMEOUT
                    && t.parked.as_ref().is_none_or(|(first, _)| first != username) =>
            {
                Ok(())
            }
            _ => Err(Refusal::UnknownTicket),
        }
    }

    /// Joins `username`'s side of `ticket`. The first side is parked, and `Some` tells how long
    /// is left until the ticket expires (the caller then calls [`Relay::expire`]); the second —
    /// which must be the other user — splices the two within the limits and returns `None`
    /// when the session ends.
    pub async fn join(
        &self,
        ticket: &str,
        username: &str,
        stream: RelayStream,
    ) -> Option<Duration> {
        let (first, users) = {
            let mut state = self.lock();
            let entry = state.tickets.get_mut(ticket)?;
            match entry.parked.take() {
                Some((first_user, first)) if first_user != username => {
                    let users = entry.users.clone();
                    state.tickets.remove(ticket);
                    (first, users)
                }
                Some(parked) => {
                    // The same user twice: the ticket is for meeting the other one.
                    entry.parked = Some(parked);
                    return None;
                }
                None => {
                    entry.parked = Some((username.to_owned(), stream));
                    return Some(PAIR_TIMEOUT.saturating_sub(entry.issued.elapsed()));
                }
            }
        };
        if let Ok(_permit) = Arc::clone(&self.sessions).try_acquire_owned() {
            self.started.fetch_add(1, Ordering::Relaxed);
            let carried = tokio::time::timeout(
                self.limits.max_lifetime,
                splice(first, stream, &self.limits, &self.carried),
            )
            .await
            .unwrap_or_else(|_| {
                tracing::debug!("relayed session ended at its longest lifetime");
                0
            });
            tracing::debug!(bytes = carried, "relayed session ended");
        }
        let mut state = self.lock();
        state.count(&users[0], -1);
        state.count(&users[1], -1);
        None
    }

    /// `username` declines `ticket` (a client that does not meet strangers): the ticket is
    /// forgotten at once, and a side already waiting on it is closed, so the other user's
    /// client stops waiting for [`PAIR_TIMEOUT`].
    ///
    /// # Errors
    /// [`Refusal::UnknownTicket`] when no waiting ticket is for `username`.
    pub fn decline(&self, ticket: &str, username: &str) -> Result<(), Refusal> {
        let ours = self
            .lock()
            .tickets
            .get(ticket)
            .is_some_and(|t| t.users.iter().any(|u| u == username));
        if !ours {
            return Err(Refusal::UnknownTicket);
        }
        self.expire(ticket);
        Ok(())
    }

    /// Forgets `ticket` if it is still waiting for its second side (closing the first).
    pub fn expire(&self, ticket: &str) {
        let mut state = self.lock();
        if let Some(t) = state.tickets.remove(ticket) {
            state.count(&t.users[0], -1);
            state.count(&t.users[1], -1);
        }
    }
}
