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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;

/// How long a ticket waits for its two sides: 10 s.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(10);

/// Default of [`RelayLimits::max_sessions`]: 100 relayed sessions at once.
pub const DEFAULT_RELAY_MAX_SESSIONS: usize = 100;
/// Default of [`RelayLimits::max_bytes`]: 64 MiB per relayed session, both directions
/// together — a year of chat, or a few minutes of a file (files are for later).
pub const DEFAULT_RELAY_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default of [`RelayLimits::idle_timeout`]: 5 minutes without a byte ends a relayed session
/// (the peers' keepalives send one every 15 s).
pub const DEFAULT_RELAY_IDLE: Duration = Duration::from_secs(5 * 60);

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
}

impl Default for RelayLimits {
    /// On, [`DEFAULT_RELAY_MAX_SESSIONS`], [`DEFAULT_RELAY_MAX_BYTES`], [`DEFAULT_RELAY_IDLE`].
    fn default() -> Self {
        Self {
            enabled: true,
            max_sessions: DEFAULT_RELAY_MAX_SESSIONS,
            max_bytes: DEFAULT_RELAY_MAX_BYTES,
            idle_timeout: DEFAULT_RELAY_IDLE,
        }
    }
}

/// A relay byte stream (an upgraded HTTP connection).
pub type RelayStream = TokioIo<hyper::upgrade::Upgraded>;

/// Size of each direction's copy buffer: 16 KiB (a peer frame is at most 64 KiB; smaller
/// reads just take more turns).
const BUFFER: usize = 16 * 1024;

/// The tickets handed out and not yet used, and the relayed sessions running.
#[derive(Debug)]
pub struct Relay {
    limits: RelayLimits,
    tickets: Mutex<HashMap<String, Ticket>>,
    sessions: Arc<Semaphore>,
}

#[derive(Debug)]
struct Ticket {
    /// The two users it is for.
    users: [String; 2],
    issued: Instant,
    /// The first side to arrive, parked until the second comes.
    parked: Option<RelayStream>,
}

/// Why a relay request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The operator turned the relay off.
    Off,
    /// No such ticket (never issued, used, or expired), or not for this user.
    UnknownTicket,
    /// The relay carries [`RelayLimits::max_sessions`] sessions already.
    Busy,
}

impl Relay {
    /// A relay within `limits`.
    pub fn new(limits: RelayLimits) -> Self {
        Self {
            limits,
            tickets: Mutex::new(HashMap::new()),
            sessions: Arc::new(Semaphore::new(limits.max_sessions.max(1))),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> &RelayLimits {
        &self.limits
    }

    /// Relayed sessions running now.
    pub fn sessions(&self) -> usize {
        self.limits.max_sessions.max(1) - self.sessions.available_permits()
    }

    /// A new ticket for `from` and `to`; expired tickets are forgotten on the way.
    ///
    /// # Errors
    /// [`Refusal::Off`], or [`Refusal::Busy`] when no session could start.
    pub fn issue(&self, from: &str, to: &str) -> Result<String, Refusal> {
        if !self.limits.enabled {
            return Err(Refusal::Off);
        }
        if self.sessions.available_permits() == 0 {
            return Err(Refusal::Busy);
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Refusal::Busy)?;
        let ticket: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.retain(|_, t| t.issued.elapsed() < PAIR_TIMEOUT);
        tickets.insert(
            ticket.clone(),
            Ticket {
                users: [from.to_owned(), to.to_owned()],
                issued: Instant::now(),
                parked: None,
            },
        );
        Ok(ticket)
    }

    /// Whether `username` may use `ticket` now (checked before the connection is upgraded).
    ///
    /// # Errors
    /// [`Refusal::Off`], [`Refusal::UnknownTicket`].
    pub fn check(&self, ticket: &str, username: &str) -> Result<(), Refusal> {
        if !self.limits.enabled {
            return Err(Refusal::Off);
        }
        let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        match tickets.get(ticket) {
            Some(t)
                if t.users.iter().any(|u| u == username) && t.issued.elapsed() < PAIR_TIMEOUT =>
            {
                Ok(())
            }
            _ => Err(Refusal::UnknownTicket),
        }
    }

    /// Joins one side of `ticket`. The first side is parked (and closed after
    /// [`PAIR_TIMEOUT`] if the second never comes: see [`Relay::expire`]); the second splices
    /// the two within the limits and returns when the session ends. True when this side was
    /// parked.
    pub async fn join(&self, ticket: &str, stream: RelayStream) -> bool {
        let first = {
            let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
            let Some(entry) = tickets.get_mut(ticket) else {
                return false;
            };
            match entry.parked.take() {
                Some(first) => {
                    tickets.remove(ticket);
                    first
                }
                None => {
                    entry.parked = Some(stream);
                    return true;
                }
            }
        };
        let Ok(_permit) = Arc::clone(&self.sessions).try_acquire_owned() else {
            return false;
        };
        let carried = splice(first, stream, &self.limits).await;
        tracing::debug!(bytes = carried, "relayed session ended");
        false
    }

    /// Forgets `ticket` if it is still waiting for its second side (closing the first).
    pub fn expire(&self, ticket: &str) {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        tickets.remove(ticket);
    }
}

/// Copies bytes both ways between `a` and `b` until either closes, the session has carried
/// `limits.max_bytes`, or nothing has moved for `limits.idle_timeout`; returns the bytes
/// carried.
async fn splice<A, B>(a: A, b: B, limits: &RelayLimits) -> u64
where
    A: AsyncRead + AsyncWrite,
    B: AsyncRead + AsyncWrite,
{
    let (mut a_read, mut a_write) = tokio::io::split(a);
    let (mut b_read, mut b_write) = tokio::io::split(b);
    let (mut from_a, mut from_b) = (vec![0u8; BUFFER], vec![0u8; BUFFER]);
    let mut carried = 0u64;
    while carried < limits.max_bytes {
        // Never more than the session may still carry.
        let room = usize::try_from(limits.max_bytes - carried)
            .unwrap_or(BUFFER)
            .min(BUFFER);
        let moved = tokio::time::timeout(limits.idle_timeout, async {
            tokio::select! {
                read = a_read.read(&mut from_a[..room]) => match read {
                    Ok(0) | Err(_) => None,
                    Ok(n) => b_write.write_all(&from_a[..n]).await.ok().map(|()| n),
                },
                read = b_read.read(&mut from_b[..room]) => match read {
                    Ok(0) | Err(_) => None,
                    Ok(n) => a_write.write_all(&from_b[..n]).await.ok().map(|()| n),
                },
            }
        })
        .await;
        match moved {
            Ok(Some(n)) => carried += n as u64,
            _ => break,
        }
    }
    if carried >= limits.max_bytes {
        tracing::info!(bytes = carried, "relayed session ended at its byte limit");
    }
    let _ = a_write.shutdown().await;
    let _ = b_write.shutdown().await;
    carried
}
