//! Reaching a peer through the directory's relay when a direct connection does not open:
//! [`connect`] races a direct dial against the relay (started after [`RELAY_AFTER`], or at
//! once when the direct dial fails), and [`answer`] joins a relay another peer offered us. The
//! session over the relay is the same Noise session as over TCP, end to end: the directory
//! only copies its ciphertext.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore};

use crate::net::{self, DialError, EventSender, LocalPeer, PeerKey, SessionHandle, SessionPath};
use crate::presence::Account;

/// How long a direct dial has before the relay is tried too: 2 s (magic-wormhole starts its
/// relay after 2 s; a direct connection that works opens well within it).
pub const RELAY_AFTER: Duration = Duration::from_secs(2);

/// Opens a session with `peer` at `addr` or one of its `candidates` (dialled at once, in
/// parallel): directly, or — when `account` can reach a directory and no direct session
/// opened within [`RELAY_AFTER`] (or every direct dial failed) — through the directory's
/// relay. The first session to open wins; the other attempts are dropped. `expected` is the
/// key the peer must prove (its pin, else the directory's key).
///
/// # Errors
/// The direct dial's [`DialError`] when there is no relay to try; [`DialError::NoPath`] when
/// both failed.
#[allow(clippy::too_many_arguments)]
pub async fn connect(
    account: Option<&Account>,
    peer: &str,
    addr: &str,
    candidates: &[String],
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let Some(account) = account else {
        return dial_any(addr, candidates, me, expected, request, events).await;
    };
    let direct_failed = Notify::new();
    let direct = async {
        let outcome = dial_any(addr, candidates, me, expected, request, events.clone()).await;
        if outcome.is_err() {
            direct_failed.notify_one();
        }
        outcome
    };
    let relayed = async {
        tokio::select! {
            () = tokio::time::sleep(RELAY_AFTER) => {}
            () = direct_failed.notified() => {}
        }
        dial(account, peer, me, expected, request, events.clone()).await
    };
    tokio::pin!(direct, relayed);
    let (mut direct_error, mut relay_error) = (None, None);
    loop {
        tokio::select! {
            outcome = &mut direct, if direct_error.is_none() => match outcome {
                Ok(handle) => return Ok(handle),
                Err(e) => direct_error = Some(e),
            },
            outcome = &mut relayed, if relay_error.is_none() => match outcome {
                Ok(handle) => return Ok(handle),
                Err(e) => relay_error = Some(e),
            },
        }
        (direct_error, relay_error) = match (direct_error, relay_error) {
            (Some(direct), Some(relay)) => {
                return Err(DialError::NoPath {
                    direct: Box::new(direct),
                    relay: relay.to_string(),
                });
            }
            pending => pending,
        };
    }
}

/// Dials `addr` and every candidate at once and keeps the first session that opens (the
/// others are dropped, closing their connections).
///
/// # Errors
/// The error of the dial to `addr` when none opened.
async fn dial_any(
    addr: &str,
    candidates: &[String],
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let mut dials: FuturesUnordered<_> = std::iter::once(addr)
        .chain(candidates.iter().map(String::as_str).filter(|c| *c != addr))
        .map(|target| {
            let events = events.clone();
            async move {
                (
                    target == addr,
                    net::dial(target, me, expected, request, events).await,
                )
            }
        })
        .collect();
    let mut published_error = None;
    while let Some((published, outcome)) = dials.next().await {
        match outcome {
            Ok(handle) => return Ok(handle),
            Err(e) if published => published_error = Some(e),
            Err(_) => {}
        }
    }
    Err(published_error.unwrap_or_else(|| DialError::Unreachable {
        addr: addr.to_owned(),
        detail: "no address answered".into(),
    }))
}

/// Meets `peer` on the directory's relay and runs the dialling side's handshake there.
///
/// # Errors
/// [`DialError::Unreachable`] naming the relay when the directory gives no ticket or the
/// relay cannot be joined; the handshake's errors.
pub async fn dial(
    account: &Account,
    peer: &str,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
    request: u64,
    events: EventSender,
) -> Result<SessionHandle, DialError> {
    let label = format!("{peer} through the directory's relay");
    let unreachable = |detail: String| DialError::Unreachable {
        addr: label.clone(),
        detail,
    };
    let ticket = account
        .client
        .relay_ticket(peer, &account.token)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (stream, relay) = account
        .client
        .join_relay(&ticket, &account.token)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let path = SessionPath::Relayed;
    net::open_outgoing(stream, path, &label, relay, me, expected, request, events).await
}

/// Relay offers answered at once: 4; more offers meanwhile are ignored (a flood of offers
/// must not tie up our connections to the directory).
pub const MAX_ANSWERS: usize = 4;

/// Answers `ticket`, offered by a peer over signaling: joins the relay and runs the answering
/// side's handshake there; the session is reported on `events` like one our listener
/// accepted (and judged by the same trust rule). At most [`MAX_ANSWERS`] at once. Failures are
/// logged; the peer then falls back to the mailbox.
pub async fn answer(account: Account, ticket: String, me: LocalPeer, events: EventSender) {
    // Offers come from anyone logged in to the directory: a few at a time, the rest ignored.
    static ANSWERING: Semaphore = Semaphore::const_new(MAX_ANSWERS);
    let Ok(_answering) = ANSWERING.try_acquire() else {
        tracing::info!("ignoring a relay offer: too many being answered already");
        return;
    };
    match account.client.join_relay(&ticket, &account.token).await {
        Ok((stream, relay)) => net::accept_relayed(stream, relay, me, events).await,
        Err(e) => tracing::info!(error = %e, "cannot join the relay a peer offered"),
    }
}
