//! `p2p-chat send-file`: offers one file to a peer and stays until the peer has all of it and
//! its SHA-256 checked, reconnecting (and resuming) when the session breaks. Running it again
//! for the same file after a crash resumes the same offer.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::peer::{Loaded, load, target};
use super::reach::{Failure, Opened, local_peer, open_session};
use crate::app::DialTarget;
use crate::cli::{GlobalOpts, UsageError};
use crate::delivery::inbound::carries_data;
use crate::delivery::sessions::Sessions;
use crate::net::{self, LocalPeer, NetEvent, SessionEvent};
use crate::store::Transfer;
use crate::transfer::policy::Rules;
use crate::transfer::{Progress, Report, Transfers};

/// Tries to reach the peer again after a broken session, at most this many times in a row
/// (1 s, 2 s, 4 s … apart, at most 30 s): 8, about two minutes.
const RECONNECT_ATTEMPTS: u32 = 8;

/// How often progress is redrawn and stalls are looked for: 250 ms.
const TICK: Duration = Duration::from_millis(250);

/// `p2p-chat send-file`: offers `file` to `username` (or the peer at `ip`) and returns once
/// the peer confirmed the whole file, hash checked. Shows a progress bar on a terminal;
/// with `json`, prints one object `{"id", "name", "size", "sha256", "peer", "outcome":
/// "delivered"}` at the end.
///
/// # Errors
/// The file cannot be read; the peer cannot be reached (files are never left in the
/// mailbox), refuses files or is too old for them; the peer declined or cancelled; the
/// transfer failed.
pub async fn send_file(
    global: &GlobalOpts,
    (username, file): (Option<String>, PathBuf),
    ip: Option<String>,
    name: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let size = readable_file(&file)?;
    let mut ctx = load(global).await?;
    let target = target(global, username, ip)?;
    if let (DialTarget::Username(peer), None) = (&target, &ctx.account) {
        bail!(
            "cannot look up {peer}: no directory configured — register first, or use \
             p2p-chat send-file --ip HOST:PORT FILE"
        );
    }
    let (local, _held) = local_peer(&ctx, &target, name)?;
    let mut opened = reach(&mut ctx, &local, &target).await?;
    if let Some(note) = opened.path.relay_cap_note() {
        eprintln!(
            "{} is reached through the directory's relay: {note}",
            opened.name
        );
    }
    let peer = opened.name.clone();
    let (engine, mut reports) = Transfers::new(ctx.store.clone(), Rules::default());
    let mut engine = engine.sending_only();
    let mut sessions = Sessions::new(ctx.store.clone());
    admit(&ctx, &mut engine, &mut sessions, &opened).await?;
    let bar = progress_bar(json);
    bar.set_length(size);
    let hashing = Arc::new(Progress::new());
    bar.set_message(format!("hashing {}", file.display()));
    let offer = {
        let watch = watch_progress(&bar, hashing.clone());
        let offer = engine.offer(&peer, &file, hashing).await;
        watch.abort();
        offer?
    };
    bar.set_length(offer.size);
    bar.set_position(0);
    bar.set_style(waiting_style());
    bar.set_message(format!("waiting for {peer} to accept {}", offer.name));
    let mut tick = tokio::time::interval(TICK);
    let outcome = loop {
        tokio::select! {
            event = opened.rx.recv() => {
                let Some(first) = event else {
                    break Err("the session's events ended".to_owned());
                };
                let (data, control): (Vec<_>, Vec<_>) =
                    net::batch(first, &mut opened.rx).into_iter().partition(carries_data);
                sessions.take(data).await.context("cannot store received messages")?;
                let mut closed = None;
                for NetEvent { session, event } in control {
                    match event {
                        SessionEvent::File(event) => engine.on_event(&peer, event).await?,
                        SessionEvent::Closed { reason } => closed = Some((session, reason)),
                        _ => {}
                    }
                }
                if let Some((session, reason)) = closed {
                    sessions.closed(session);
                    engine.session_closed(&peer, session);
                    bar.set_message(format!("connection lost ({reason}); reconnecting"));
                    opened = reconnect(&mut ctx, &local, &target).await?;
                    admit(&ctx, &mut engine, &mut sessions, &opened).await?;
                }
            }
            Some(report) = reports.recv() => match report {
                Report::Finished { transfer } if transfer.id == offer.id => break Ok(transfer),
                Report::Ended { transfer, reason } if transfer.id == offer.id => break Err(reason),
                Report::Started { from, .. } => {
                    bar.set_style(moving_style());
                    bar.set_position(from);
                    bar.reset_eta();
                    bar.set_message(format!("to {peer}"));
                }
                Report::Paused { .. } => bar.set_message("paused; reconnecting"),
                _ => {}
            },
            _ = tick.tick() => {
                engine.tick().await?;
                if let Some(done) = engine.progress(offer.id) {
                    bar.set_position(done);
                }
            }
        }
    };
    sessions.close_all();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while opened.rx.recv().await.is_some() {}
    })
    .await;
    match outcome {
        Ok(transfer) => {
            bar.finish_with_message(format!("{peer} has it, SHA-256 checked"));
            if json {
                println!("{}", summary(&transfer));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            bar.abandon();
            bail!("{} was not delivered to {peer}: {reason}", offer.name)
        }
    }
}

/// The size of `file`, a regular file we can open.
///
/// # Errors
/// [`UsageError`] naming the problem: missing, unreadable, a directory, not a regular file.
fn readable_file(file: &std::path::Path) -> Result<u64, UsageError> {
    let shown = file.display();
    let meta =
        std::fs::metadata(file).map_err(|e| UsageError(format!("cannot read {shown}: {e}")))?;
    if meta.is_dir() {
        return Err(UsageError(format!(
            "{shown} is a directory; send-file sends one file (pack a directory first, e.g. with tar)"
        )));
    }
    if !meta.is_file() {
        return Err(UsageError(format!("{shown} is not a regular file")));
    }
    std::fs::File::open(file).map_err(|e| UsageError(format!("cannot read {shown}: {e}")))?;
    Ok(meta.len())
}

/// USERNAME and FILE, or only FILE with `--ip`.
///
/// # Errors
/// [`UsageError`] for a missing or extra word.
pub fn split(words: Vec<PathBuf>, by_ip: bool) -> Result<(Option<String>, PathBuf), UsageError> {
    let mut words = words.into_iter();
    match (by_ip, words.next(), words.next()) {
        (true, Some(file), None) => Ok((None, file)),
        (false, Some(user), Some(file)) => Ok((Some(user.to_string_lossy().into_owned()), file)),
        (true, _, _) => Err(UsageError(
            "give only the FILE with --ip: p2p-chat send-file --ip HOST:PORT FILE".into(),
        )),
        (false, _, _) => Err(UsageError(
            "give the USERNAME and the FILE: p2p-chat send-file USERNAME FILE".into(),
        )),
    }
}

/// Reaches the peer, failing with words that say files are not left in the mailbox.
async fn reach(ctx: &mut Loaded, local: &LocalPeer, target: &DialTarget) -> anyhow::Result<Opened> {
    match open_session(ctx, local, target).await {
        Ok(opened) => {
            if !opened.handle.takes_files() {
                opened.handle.close();
                bail!(
                    "{}'s p2p-chat is an older release that cannot receive files — ask them to \
                     update",
                    opened.name
                );
            }
            Ok(opened)
        }
        Err(Failure::Final(e)) => Err(e),
        Err(Failure::Unreachable(e)) => Err(anyhow::anyhow!(
            "{e:#} — files go only peer to peer, never through the mailbox: try again when \
             {target} is online"
        )),
    }
}

/// Reaches the peer again after a broken session, backing off between attempts.
async fn reconnect(
    ctx: &mut Loaded,
    local: &LocalPeer,
    target: &DialTarget,
) -> anyhow::Result<Opened> {
    let mut delay = Duration::from_secs(1);
    let mut last = None;
    for _ in 0..RECONNECT_ATTEMPTS {
        tokio::time::sleep(delay).await;
        match reach(ctx, local, target).await {
            Ok(opened) => return Ok(opened),
            Err(e) => last = Some(e),
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("cannot reach {target}"))
        .context("the transfer is kept: run the same send-file again to resume it"))
}

async fn admit(
    ctx: &Loaded,
    engine: &mut Transfers,
    sessions: &mut Sessions,
    opened: &Opened,
) -> anyhow::Result<()> {
    sessions.admit(opened.session, opened.name.clone(), opened.handle.clone());
    let verified = ctx.pins.get(&opened.name).is_some_and(|pin| pin.verified);
    engine
        .session_opened(&opened.name, opened.handle.clone(), verified)
        .await?;
    Ok(())
}

/// A bar on standard error when it is a terminal (and not with `--json`), else nothing.
fn progress_bar(json: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(hashing_style());
    bar
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// While the file is hashed: how far, no rate.
fn hashing_style() -> ProgressStyle {
    style("{msg} [{bar:30}] {bytes}/{total_bytes}")
}

/// While the peer decides: no bar that could read as a stall.
fn waiting_style() -> ProgressStyle {
    style("{msg} ({total_bytes}) {elapsed}")
}

/// While bytes move: rate and time left.
fn moving_style() -> ProgressStyle {
    style("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
}

/// Keeps `bar` at `progress` while a file is hashed.
fn watch_progress(bar: &ProgressBar, progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    let bar = bar.clone();
    tokio::spawn(async move {
        loop {
            bar.set_position(progress.done());
            tokio::time::sleep(TICK).await;
        }
    })
}

/// The `--json` summary of a delivered file.
fn summary(t: &Transfer) -> serde_json::Value {
    let sha: String = t.sha256.iter().map(|b| format!("{b:02x}")).collect();
    serde_json::json!({
        "id": t.id.to_string(), "name": t.name, "size": t.size, "sha256": sha,
        "peer": t.peer, "outcome": "delivered",
    })
}
