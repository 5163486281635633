//! `p2p-chat send`: one message with the same delivery rules as the chat window. The message
//! is written to the profile's outbox first; a direct session sends the outbox in order (the
//! outbox pump); a peer that cannot be reached gets it sealed in the directory's mailbox.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::peer::{MAX_TEXT_BYTES, now_unix_ms};
use tokio::sync::mpsc;

use super::peer::{Loaded, load, target};
use super::reach::{Failure, Opened, local_peer, open_session};
use crate::app::{Action, DialTarget, MailEffect};
use crate::cli::{GlobalOpts, UsageError};
use crate::delivery::inbound::carries_data;
use crate::delivery::mail::Mailer;
use crate::delivery::sessions::Sessions;
use crate::net::{self, LocalPeer, SessionEvent, SessionPath};
use crate::store::Delivery;

/// How long `send` waits for the peer's receipt once the session is open: 10 s.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit status of `send` when the message could not be delivered directly and waits, sealed,
/// in the directory's mailbox: 3 (0 is delivered, 1 failed, 2 a usage error).
pub const EXIT_DEPOSITED: u8 = 3;

/// How a sent message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The peer confirmed it over a session, `rtt_ms` after it was handed over.
    Delivered { rtt_ms: u64, path: SessionPath },
    /// Sealed in the recipient's mailbox; delivered when the recipient next fetches it.
    Deposited,
}

/// `p2p-chat send`: `words` are USERNAME and the text, or only the text with `ip`; the text's
/// words are joined with single spaces. Prints, with `json`, one object `{"id", "outcome":
/// "delivered"|"deposited", "path": "direct"|"punched"|"relayed"|"mailbox", "rtt_ms"}`.
///
/// Returns the exit status: success once the peer confirmed the message, [`EXIT_DEPOSITED`]
/// when it waits in the mailbox.
///
/// # Errors
/// Bad arguments; a peer that cannot be found, or whose key is refused; a peer that cannot be
/// reached and no mailbox to use (`no_mailbox`, `--ip`, no account, or the deposit failed).
/// The message is then marked failed in the outbox, so nothing sends it later.
pub async fn send(
    global: &GlobalOpts,
    words: Vec<String>,
    ip: Option<String>,
    name: Option<String>,
    no_mailbox: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (username, text) = split_words(words, ip.is_some())?;
    let mut ctx = load(global).await?;
    let target = target(global, username, ip)?;
    if let (DialTarget::Username(name), None) = (&target, &ctx.account) {
        bail!(
            "cannot look up {name}: no directory configured — register first, or use \
             p2p-chat send --ip HOST:PORT TEXT"
        );
    }
    let id = MessageId::new();
    let sent_at_ms = now_unix_ms();
    // A username's message is in the outbox before anything goes out; an address's only once
    // the peer has said who it is.
    let mut queued_for = match &target {
        DialTarget::Username(name) => {
            ctx.store
                .insert_outgoing(name, id, sent_at_ms, &text)
                .await
                .context("cannot write the message to the outbox")?;
            Some(name.clone())
        }
        DialTarget::Addr(_) => None,
    };
    let (local, _held) = local_peer(&ctx, &target, name)?;
    let direct = direct(
        &mut ctx,
        &local,
        &target,
        id,
        sent_at_ms,
        &text,
        &mut queued_for,
    )
    .await;
    let outcome = match (direct, &queued_for) {
        (Ok(outcome), _) => Ok(outcome),
        (Err(Failure::Final(e)), _) => Err(e),
        (Err(Failure::Unreachable(e)), Some(peer)) if !no_mailbox && ctx.account.is_some() => {
            deposit(&ctx, &local, peer, id)
                .await
                .map(|()| Outcome::Deposited)
                .map_err(|deposit_error| {
                    anyhow::anyhow!("{e:#}; leaving it in the mailbox failed too: {deposit_error}")
                })
        }
        (Err(Failure::Unreachable(e)), _) => Err(e),
    };
    match outcome {
        Ok(outcome) => {
            if json {
                println!("{}", summary(id, outcome));
            }
            Ok(match outcome {
                Outcome::Delivered { .. } => ExitCode::SUCCESS,
                Outcome::Deposited => {
                    if !json {
                        eprintln!(
                            "the peer could not be reached: the message waits, sealed, in the \
                             directory's mailbox until {} fetches it",
                            queued_for.as_deref().unwrap_or("the peer")
                        );
                    }
                    ExitCode::from(EXIT_DEPOSITED)
                }
            })
        }
        Err(e) => {
            if let Some(peer) = &queued_for {
                // Failed for good: nothing may send it later behind the caller's back.
                let detail = format!("{e:#}");
                let _ = ctx
                    .store
                    .set_delivery(peer, id, Delivery::Failed, Some(&detail))
                    .await;
            }
            Err(e)
        }
    }
}

/// USERNAME and the text (its words joined by spaces), or only the text with `--ip`.
///
/// # Errors
/// [`UsageError`] for missing words, an empty text or one over [`MAX_TEXT_BYTES`].
fn split_words(words: Vec<String>, by_ip: bool) -> Result<(Option<String>, String), UsageError> {
    let mut words = words.into_iter();
    let username = if by_ip { None } else { words.next() };
    let text = words.collect::<Vec<_>>().join(" ");
    if text.trim().is_empty() {
        let usage = if by_ip {
            "the message is empty: p2p-chat send --ip HOST:PORT TEXT"
        } else {
            "give the USERNAME and the TEXT: p2p-chat send USERNAME TEXT"
        };
        return Err(UsageError(usage.into()));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(UsageError(format!(
            "the message is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok((username, text))
}

/// Dials the peer, checks its key, and sends the outbox to it (our message among the rest,
/// in order) until the peer confirms ours.
async fn direct(
    ctx: &mut Loaded,
    local: &LocalPeer,
    target: &DialTarget,
    id: MessageId,
    sent_at_ms: u64,
    text: &str,
    queued_for: &mut Option<String>,
) -> Result<Outcome, Failure> {
    let Opened {
        name,
        session,
        handle,
        path,
        mut rx,
    } = open_session(ctx, local, target).await?;
    if queued_for.is_none() {
        ctx.store
            .insert_outgoing(&name, id, sent_at_ms, text)
            .await
            .map_err(|e| Failure::Final(e.into()))?;
        *queued_for = Some(name.clone());
    }
    let mut sessions = Sessions::new(ctx.store.clone());
    let started = Instant::now();
    sessions.admit(session, name, handle.clone());
    let confirmed = tokio::time::timeout(RECEIPT_TIMEOUT, async {
        while let Some(first) = rx.recv().await {
            let (data, control): (Vec<_>, Vec<_>) = net::batch(first, &mut rx)
                .into_iter()
                .partition(carries_data);
            let taken = sessions
                .take(data)
                .await
                .map_err(|e| Failure::Final(e.into()))?;
            if taken.delivered.iter().any(|(_, acked)| *acked == id) {
                return Ok(());
            }
            if let Some(reason) = control.into_iter().find_map(|e| match e.event {
                SessionEvent::Closed { reason } => Some(reason),
                _ => None,
            }) {
                return Err(Failure::Unreachable(anyhow::anyhow!(
                    "the session ended before the peer confirmed: {reason}"
                )));
            }
        }
        Err(Failure::Unreachable(anyhow::anyhow!(
            "the session ended before the peer confirmed"
        )))
    })
    .await;
    let rtt_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    sessions.close_all();
    // Wait (briefly) for the goodbye to go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while rx.recv().await.is_some() {}
    })
    .await;
    match confirmed {
        Ok(Ok(())) => Ok(Outcome::Delivered { rtt_ms, path }),
        Ok(Err(failure)) => Err(failure),
        Err(_) => Err(Failure::Unreachable(anyhow::anyhow!(
            "{target} did not confirm the message within {} s",
            RECEIPT_TIMEOUT.as_secs()
        ))),
    }
}

/// Seals and deposits `peer`'s undelivered messages (ours among them, in order) in the
/// mailbox, with the worker the chat window uses.
///
/// # Errors
/// When ours was not deposited: the directory's answer.
async fn deposit(ctx: &Loaded, local: &LocalPeer, peer: &str, id: MessageId) -> anyhow::Result<()> {
    let mut deposited = false;
    let mut failure = None;
    for action in deposit_all(ctx, local, peer).await? {
        match action {
            Action::Deposited { ids, .. } => deposited |= ids.contains(&id),
            Action::DepositFailed { error, .. } | Action::StoreFailed(error) => {
                failure = Some(error);
            }
            _ => {}
        }
    }
    match (deposited, failure) {
        (true, _) => Ok(()),
        (false, Some(error)) => bail!("{error}"),
        (false, None) => bail!("the mailbox did not take the message"),
    }
}

/// Leaves everything waiting for `peer` (its undelivered messages, then its group frames)
/// sealed in the directory's mailbox, with the mailbox worker of the chat window; what the
/// worker reported.
///
/// # Errors
/// Without a directory account.
pub(super) async fn deposit_all(
    ctx: &Loaded,
    local: &LocalPeer,
    peer: &str,
) -> anyhow::Result<Vec<Action>> {
    let Some(account) = ctx.account.clone() else {
        bail!("no directory account to leave it in the mailbox");
    };
    let (action_tx, mut reports) = mpsc::channel(16);
    let (jobs, work) = mpsc::unbounded_channel();
    let mailer = Mailer {
        account,
        local: local.clone(),
        store: ctx.store.clone(),
        action_tx,
    };
    let worker = tokio::spawn(mailer.work(work));
    let key = ctx.pins.get(peer).map(|pin| pin.key);
    let _ = jobs.send(MailEffect::Deposit {
        peer: peer.to_owned(),
        key,
    });
    drop(jobs);
    let mut actions = Vec::new();
    while let Some(action) = reports.recv().await {
        actions.push(action);
    }
    let _ = worker.await;
    Ok(actions)
}

/// The `--json` summary of `outcome` for message `id`.
fn summary(id: MessageId, outcome: Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Delivered { rtt_ms, path } => serde_json::json!({
            "id": id.to_string(), "outcome": "delivered", "path": path.as_str(), "rtt_ms": rtt_ms,
        }),
        Outcome::Deposited => serde_json::json!({
            "id": id.to_string(), "outcome": "deposited", "path": "mailbox", "rtt_ms": null,
        }),
    }
}

#[cfg(test)]
mod tests;
