//! Turning a dial target into an address (and the key the directory lists), and the
//! reconnect backoff.

use std::time::Duration;

use crate::app::DialTarget;
use crate::net::PeerKey;
use crate::presence::Account;

/// First reconnect delay: 1 s; doubled per attempt up to [`MAX_RECONNECT_DELAY`].
const FIRST_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// Longest reconnect delay: 30 s.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(30);

/// Where to dial a peer, and the key the directory lists for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `host:port`.
    pub addr: String,
    /// The peer's key from the directory; `None` for an address target.
    pub key: Option<PeerKey>,
    /// Other addresses the peer published (`IP:PORT`, its LAN address, say), dialled beside
    /// `addr`.
    pub candidates: Vec<String>,
}

/// Why a target could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The directory has no such user (any more): messages to it cannot be delivered.
    #[error("{0}")]
    Gone(String),
    /// Anything else (no directory, directory unreachable): worth retrying.
    #[error("{0}")]
    Other(String),
}

/// Where to dial a target; usernames are looked up in the directory.
///
/// # Errors
/// [`ResolveError::Gone`] when the directory does not know the user, else a message for the
/// user when there is no directory or the lookup fails.
pub async fn resolve(
    account: Option<&Account>,
    target: &DialTarget,
) -> Result<Resolved, ResolveError> {
    match target {
        DialTarget::Addr(addr) => Ok(Resolved {
            addr: addr.clone(),
            key: None,
            candidates: Vec::new(),
        }),
        DialTarget::Username(name) => {
            let account = account.ok_or_else(|| {
                ResolveError::Other(format!("cannot look up {name}: no directory configured — register first, or use /connect --ip HOST:PORT"))
            })?;
            let record = account.client.lookup(name).await.map_err(|e| match e {
                crate::directory::DirectoryError::NotFound { .. } => {
                    ResolveError::Gone(e.to_string())
                }
                other => ResolveError::Other(other.to_string()),
            })?;
            let key = p2p_chat_protocol::validate::public_key(&record.public_key).ok();
            // A peer that withholds its addresses (relay only) has none to dial.
            let addr = if record.relay_only {
                String::new()
            } else {
                p2p_chat_protocol::api::host_port(&record.host, record.port)
            };
            Ok(Resolved {
                addr,
                key,
                candidates: record.candidates,
            })
        }
    }
}

/// Delay before reconnect attempt `attempt` (1-based): 1 s, 2 s, 4 s, … capped at 30 s, each
/// stretched by up to a quarter at random ("jitter", so peers that lost each other at the same
/// moment do not retry in lockstep).
pub fn reconnect_delay(attempt: u32) -> Duration {
    let base = crate::clock::backoff(FIRST_RECONNECT_DELAY, MAX_RECONNECT_DELAY, attempt);
    let mut byte = [0u8; 1];
    let jitter = if getrandom::fill(&mut byte).is_ok() {
        f64::from(byte[0]) / 255.0 / 4.0
    } else {
        0.0
    };
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_doubles_up_to_the_cap_with_bounded_jitter() {
        for (attempt, base) in [(1, 1), (2, 2), (5, 16), (6, 30), (u32::MAX, 30)] {
            let base = Duration::from_secs(base);
            let delay = reconnect_delay(attempt);
            assert!(
                delay >= base && delay <= base.mul_f64(1.25),
                "attempt {attempt}: {delay:?}"
            );
        }
    }
}
