//! Reaching a peer: [`connect`] races direct dials and a hole punch against the directory's
//! relay (started after [`RELAY_AFTER`], or at once when the others failed), and [`answer`]
//! joins a relay another peer offered us. The
//! session over the relay is the same Noise session as over TCP, end to end: the directory
//! only copies its ciphertext.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Notify, Semaphore};

use crate::net::{self, DialError, EventSender, LocalPeer, PeerKey, SessionHandle, SessionPath};
use crate::presence::{Account, SignalReport};

/// Why a client with `--relay-only` dials no address (`--ip HOST:PORT`, `/connect --ip`).
pub const RELAY_ONLY_DIALS_NO_ADDRESS: &str = "--relay-only: this client dials no address, since the peer would see yours; reach users by name, through the directory's relay";

/// How long a direct dial has before the relay is tried too: 2 s (magic-wormhole starts its
/// relay after 2 s; a direct connection that works opens well within it).
pub const RELAY_AFTER: Duration = Duration::from_secs(2);

/// How long a direct dial has before a hole punch is tried too: 500 ms (a dial that works
/// takes a round trip and a handshake; one towards a router that drops it would wait for its
/// timeout). A direct dial that fails starts the punch at once.
pub const PUNCH_AFTER: Duration = Duration::from_millis(500);

/// First wait before a chat window tries to move a session it opened through the relay to a
/// direct one ([`Ways::DirectOnly`]): 10 s; each later try waits twice as long, up to
/// [`UPGRADE_MAX`].
pub const UPGRADE_FIRST: Duration = Duration::from_secs(10);

/// Longest wait between two tries to move a relayed session to a direct one: 5 min.
pub const UPGRADE_MAX: Duration = Duration::from_secs(300);

/// Wait before try `attempt` (1-based) to move a relayed session to a direct one:
/// [`UPGRADE_FIRST`], doubling, at most [`UPGRADE_MAX`].
pub fn upgrade_delay(attempt: u32) -> Duration {
    crate::clock::backoff(UPGRADE_FIRST, UPGRADE_MAX, attempt)
}

/// Which ways [`connect`] may try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ways {
    /// Direct dials, hole punching, and the relay.
    All,
    /// Direct dials and hole punching only: moving a relayed session to a direct one.
    DirectOnly,
}

/// Opens a session with `peer` at `addr` or one of its `candidates` (dialled at once, in
/// parallel), and — when `account` can reach a directory — by a hole punch the directory times
/// ([`crate::punch::dial`], after [`PUNCH_AFTER`] or once the direct dials failed) or, when
/// neither opened a session within
/// [`RELAY_AFTER`] (or both failed before), through the directory's relay (unless `ways` is
/// [`Ways::DirectOnly`]). The first session to open wins; the other attempts are dropped. With
/// [`Account::relay_only`] only the relay is tried. `expected` is the key the peer must prove
/// (its pin, else the directory's key).
///
/// # Errors
/// The direct dial's [`DialError`] when there is no relay to try; [`DialError::NoPath`] when
/// every way failed.
#[allow(clippy::too_many_arguments)]
pub async fn connect(
    account: Option<&Account>,
    ways: Ways,
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
    // We dial no address (--relay-only), or the peer publishes none (it is relay only).
    let peer_relay_only = addr.is_empty() && candidates.is_empty();
    match (account.relay_only || peer_relay_only, ways) {
        (true, Ways::All) => {
            return dial(account, peer, me, expected, request, events)
                .await
                .map_err(|e| match e {
                    DialError::Unreachable { detail, .. } if peer_relay_only => {
                        DialError::Unreachable {
                            addr: peer.to_owned(),
                            detail: format!(
                                "{peer} takes sessions only through the directory's relay, which did not connect: {detail}"
                            ),
                        }
                    }
                    other => other,
                });
        }
        (true, Ways::DirectOnly) => {
            let detail = if account.relay_only {
                RELAY_ONLY_DIALS_NO_ADDRESS.to_owned()
            } else {
                format!("{peer} takes sessions only through the directory's relay")
            };
            return Err(DialError::Unreachable {
                addr: peer.to_owned(),
                detail,
            });
        }
        (false, _) => {}
    }
    // The direct dials, then the punch; the relay starts early once both have failed.
    let (failed, gave_up, direct_failed) = (AtomicUsize::new(0), Notify::new(), Notify::new());
    let give_up = || {
        if failed.fetch_add(1, Ordering::SeqCst) + 1 == 2 {
            gave_up.notify_one();
        }
    };
    let direct = async {
        let outcome = dial_any(addr, candidates, me, expected, request, events.clone()).await;
        if outcome.is_err() {
            direct_failed.notify_one();
            give_up();
        }
        outcome
    };
    let punched = async {
        // A direct dial that works opens first, and no second session races it.
        tokio::select! {
            () = tokio::time::sleep(PUNCH_AFTER) => {}
            () = direct_failed.notified() => {}
        }
        let outcome =
            crate::punch::dial(account, peer, me, expected, request, events.clone()).await;
        if let Err(e) = &outcome {
            tracing::debug!(error = %e, "no session by hole punching");
            give_up();
        }
        outcome
    };
    let relayed = async {
        if ways == Ways::DirectOnly {
            return std::future::pending().await;
        }
        tokio::select! {
            () = tokio::time::sleep(RELAY_AFTER) => {}
            () = gave_up.notified() => {}
        }
        dial(account, peer, me, expected, request, events.clone()).await
    };
    tokio::pin!(direct, punched, relayed);
    let (mut direct_error, mut relay_error, mut punch_over) = (None, None, false);
    loop {
        tokio::select! {
            outcome = &mut direct, if direct_error.is_none() => match outcome {
                Ok(handle) => return Ok(handle),
                Err(e) => direct_error = Some(e),
            },
            outcome = &mut punched, if !punch_over => match outcome {
                Ok(handle) => return Ok(handle),
                Err(_) => punch_over = true,
            },
            outcome = &mut relayed, if relay_error.is_none() => match outcome {
                Ok(handle) => return Ok(handle),
                Err(e) => relay_error = Some(e),
            },
        }
        (direct_error, relay_error) = match (direct_error, relay_error, punch_over) {
            (Some(direct), _, true) if ways == Ways::DirectOnly => return Err(direct),
            (Some(direct), Some(relay), true) => {
                // The relay's own reason, without the advice a failed direct dial carries.
                let relay = match relay {
                    DialError::Unreachable { detail, .. } => detail,
                    other => other.to_string(),
                };
                return Err(DialError::NoPath {
                    direct: Box::new(direct),
                    relay,
                });
            }
            (direct, relay, _) => (direct, relay),
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
    let unreachable = DialError::unreachable_at(&label);
    let ticket = account
        .client
        .relay_ticket(peer, &account.token)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let joined = account
        .client
        .join_relay(&ticket, &account.token)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let path = SessionPath::Relayed {
        max_bytes: joined.max_bytes,
    };
    let relay = joined.remote;
    net::open_outgoing(
        joined.stream,
        path,
        &label,
        relay,
        me,
        expected,
        request,
        events,
    )
    .await
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
        Ok(joined) => {
            let (stream, relay) = (joined.stream, joined.remote);
            net::accept_relayed(stream, relay, joined.max_bytes, me, events).await;
        }
        Err(e) => tracing::info!(error = %e, "cannot join the relay a peer offered"),
    }
}

/// Whose requests to meet (a hole punch or the relay) we answer.
#[derive(Clone, Debug)]
pub enum Answering {
    /// Everyone logged in to the directory (first contacts too).
    Anyone,
    /// Only users whose key this store has pinned (`--refuse-strangers`).
    Known(crate::store::LocalStore),
}

impl Answering {
    /// [`Answering::Known`] with `store` when `refuse_strangers` (the flag), else
    /// [`Answering::Anyone`].
    pub fn from_flag(refuse_strangers: bool, store: &crate::store::LocalStore) -> Self {
        if refuse_strangers {
            Self::Known(store.clone())
        } else {
            Self::Anyone
        }
    }

    /// Whether a request from `from` is answered.
    async fn allows(&self, from: &str) -> bool {
        match self {
            Self::Anyone => true,
            Self::Known(store) => match store.pins().await {
                Ok(pins) => pins.get(from).is_some(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the pinned keys");
                    false
                }
            },
        }
    }
}

/// Answers what a peer asks of us over signaling — a relay offer ([`answer`]) or a hole punch
/// ([`crate::punch::answer`]) — in a task of its own, when `answering` allows the peer; the
/// session it opens is reported on `events` like one our listener accepted. True when
/// `report` was such a request.
pub fn answer_request(
    report: &SignalReport,
    answering: &Answering,
    account: &Account,
    me: &LocalPeer,
    events: &EventSender,
) -> bool {
    let (from, me, events, answering) = match report {
        SignalReport::RelayOffer { from, .. } | SignalReport::Punch { from, .. } => {
            (from.clone(), me.clone(), events.clone(), answering.clone())
        }
        _ => return false,
    };
    let (account, report) = (account.clone(), report.clone());
    if account.relay_only && matches!(report, SignalReport::Punch { .. }) {
        // The directory arranges none with us; a punch would show the peer our address.
        tracing::info!(%from, "ignoring a hole punch (--relay-only)");
        return true;
    }
    tokio::spawn(async move {
        if !answering.allows(&from).await {
            tracing::info!(%from, "ignoring a request to meet from a stranger (--refuse-strangers)");
            // Declined, so the stranger's client stops waiting on the relay at once.
            if let SignalReport::RelayOffer { ticket, .. } = &report
                && let Err(e) = account.client.decline_relay(ticket, &account.token).await
            {
                tracing::debug!(error = %e, "cannot decline a relay offer");
            }
            return;
        }
        match report {
            SignalReport::RelayOffer { ticket, .. } => answer(account, ticket, me, events).await,
            SignalReport::Punch {
                from,
                addr,
                delay_ms,
            } => crate::punch::answer(from, addr, delay_ms, me, events).await,
            _ => {}
        }
    });
    true
}
