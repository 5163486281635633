//! `send`, `listen`, `connect` and the chat window: the commands that talk to peers.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use p2p_chat_protocol::peer::{MAX_TEXT_BYTES, now_unix_ms};
use p2p_chat_protocol::{MessageId, validate};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::app::{DialTarget, Me};
use crate::cli::GlobalOpts;
use crate::delivery::inbound::{Received, carries_data};
use crate::delivery::sessions::Sessions;
use crate::directory::DirectoryClient;
use crate::identity::Identity;
use crate::instance::InstanceLock;
use crate::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent};
use crate::pins::Pins;
use crate::presence::{Account, PresenceReport};
use crate::profile::{self, Profile};
use crate::store::{Incoming, LocalStore};
use crate::trust::Origin;
use crate::tui::{self, resolve};

/// How long `send` waits for the peer's receipt after sending: 10 s.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Name used with `--ip` when there is neither `--name` nor a profile username.
const FALLBACK_NAME: &str = "guest";

/// The profile, its account if registered, our identity, the local store and the pinned keys.
pub(super) struct Loaded {
    pub(super) home: PathBuf,
    pub(super) profile: Profile,
    pub(super) account: Option<Account>,
    pub(super) identity: Identity,
    pub(super) store: LocalStore,
    pub(super) pins: Pins,
}

pub(super) async fn load(global: &GlobalOpts) -> anyhow::Result<Loaded> {
    let home = profile::home_dir(global.home.as_deref())?;
    let profile = Profile::load(&home)?;
    let identity = Identity::load_or_create(&home)?;
    let store = LocalStore::open(&home).await?;
    let pins = store.pins().await?;
    let account = match (&profile.server, &profile.username, &profile.token) {
        (Some(server), Some(username), Some(token)) => Some(Account {
            client: DirectoryClient::new(server)?,
            username: username.clone(),
            token: token.clone(),
            fixed_port: profile.port,
        }),
        _ => None,
    };
    Ok(Loaded {
        home,
        profile,
        account,
        identity,
        store,
        pins,
    })
}

/// Our name: `--name`, else the profile's username, else the login name, else "guest".
fn my_name(name: Option<String>, profile: &Profile) -> anyhow::Result<String> {
    if let Some(name) = name {
        return validate::username(&name).context("--name");
    }
    if let Some(name) = &profile.username {
        return Ok(name.clone());
    }
    let login = std::env::var("USER").unwrap_or_default();
    Ok(validate::username(&login).unwrap_or_else(|_| FALLBACK_NAME.to_owned()))
}

fn target(username: Option<String>, ip: Option<String>) -> anyhow::Result<DialTarget> {
    match (username, ip) {
        (_, Some(addr)) => Ok(DialTarget::Addr(
            crate::app::command::peer_addr(&addr).map_err(anyhow::Error::msg)?,
        )),
        (Some(name), None) => Ok(DialTarget::Username(validate::username(&name)?)),
        (None, None) => bail!("give a USERNAME or --ip HOST:PORT"),
    }
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen for peers on {addr} — is another p2p-chat running? Use --listen ADDR (port 0 picks a free port)")
    })
}

/// `p2p-chat send`: one message, exit 0 once the peer acknowledged it.
///
/// # Errors
/// When the peer cannot be found, reached, or does not acknowledge in time.
pub async fn send(
    global: &GlobalOpts,
    words: Vec<String>,
    ip: Option<String>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let (username, text) = match (
        ip.is_some(),
        <[String; 1]>::try_from(words.clone()),
        <[String; 2]>::try_from(words),
    ) {
        (true, Ok([text]), _) => (None, text),
        (false, _, Ok([user, text])) => (Some(user), text),
        (true, _, _) => bail!("with --ip give only the TEXT: p2p-chat send --ip HOST:PORT TEXT"),
        (false, _, _) => bail!("give the USERNAME and the TEXT: p2p-chat send USERNAME TEXT"),
    };
    if text.trim().is_empty() {
        bail!("the message is empty");
    }
    if text.len() > MAX_TEXT_BYTES {
        bail!(
            "the message is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        );
    }
    let mut ctx = load(global).await?;
    let target = target(username, ip)?;
    let resolved = resolve::resolve(ctx.account.as_ref(), &target).await?;
    let pinned = match &target {
        DialTarget::Username(name) => ctx.pins.get(name).map(|pin| pin.key),
        DialTarget::Addr(_) => None,
    };
    if let (Some(pin), Some(listed), DialTarget::Username(name)) = (pinned, resolved.key, &target)
        && pin != listed
    {
        bail!("{}", super::trust::changed_key_message(name, &pin, &listed));
    }
    let origin = match &target {
        DialTarget::Username(_) => Origin::DialedListed,
        DialTarget::Addr(_) => Origin::DialedAddress,
    };
    let local = LocalPeer {
        username: my_name(name, &ctx.profile)?,
        listen_port: None,
        identity: ctx.identity.clone(),
    };
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let handle = net::dial(
        &resolved.addr,
        &local,
        pinned.or(resolved.key).as_ref(),
        0,
        tx,
    )
    .await?;
    // A peer dialled by username is judged as that user, whatever it calls itself.
    if let Some(NetEvent {
        event: SessionEvent::Opened { peer, .. },
        ..
    }) = rx.recv().await
        && let Err(e) = super::trust::pin_or_refuse(
            &mut ctx,
            match &target {
                DialTarget::Username(name) => name,
                DialTarget::Addr(_) => &peer.username,
            },
            &peer.key,
            origin,
        )
        .await
    {
        handle.close();
        return Err(e);
    }
    let id = MessageId::new();
    handle.send_chat(id, now_unix_ms(), text).await?;
    let outcome = tokio::time::timeout(RECEIPT_TIMEOUT, async {
        while let Some(event) = rx.recv().await {
            match event.event {
                SessionEvent::Delivered { id: acked } if acked == id => return Ok(()),
                SessionEvent::Closed { reason } => {
                    bail!("the session ended before the peer confirmed: {reason}")
                }
                _ => {}
            }
        }
        bail!("the session ended before the peer confirmed")
    })
    .await;
    handle.close();
    // Wait (briefly) for the goodbye to go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while rx.recv().await.is_some() {}
    })
    .await;
    match outcome {
        Ok(result) => result,
        Err(_) => bail!(
            "{target} did not confirm the message within {} s",
            RECEIPT_TIMEOUT.as_secs()
        ),
    }
}

/// `p2p-chat listen`: accept peers and print each message on stdout until interrupted.
///
/// # Errors
/// When the listen address cannot be bound.
pub async fn listen(global: &GlobalOpts, json: bool, name: Option<String>) -> anyhow::Result<()> {
    let mut ctx = load(global).await?;
    let _running = InstanceLock::acquire(&ctx.home, &format!("listen on {}", global.listen))?;
    let listener = bind(global.listen).await?;
    let bound = listener.local_addr()?;
    let local = LocalPeer {
        username: my_name(name, &ctx.profile)?,
        listen_port: Some(bound.port()),
        identity: ctx.identity.clone(),
    };
    eprintln!(
        "p2p-chat listening for peers on {bound} as {}",
        local.username
    );
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    tokio::spawn(net::listener::serve(listener, local, tx));
    if let Some(account) = ctx.account.clone() {
        tokio::spawn(account.keep_fresh(bound.port(), false, |report| {
            if let PresenceReport::Failed(e) = report {
                eprintln!("warning: {e}");
            }
            true
        }));
    }
    let mut sessions = Sessions::new(ctx.store.clone());
    loop {
        let first = tokio::select! {
            event = rx.recv() => match event { Some(event) => event, None => return Ok(()) },
            () = interrupted() => {
                sessions.close_all();
                if let Some(account) = &ctx.account {
                    account.sign_off().await;
                }
                return Ok(());
            }
        };
        // Messages and receipts first: they belong to sessions admitted in earlier batches.
        let (data, control): (Vec<_>, Vec<_>) = net::batch(first, &mut rx)
            .into_iter()
            .partition(carries_data);
        print_new(&sessions, data, json).await?;
        for NetEvent { session, event } in control {
            match event {
                SessionEvent::Opened { peer, handle, .. } => {
                    if let Err(e) =
                        super::trust::pin_or_refuse(&mut ctx, &peer.username, &peer.key, Origin::Inbound).await
                    {
                        eprintln!("refused {} from {}: {e:#}", peer.username, peer.addr);
                        handle.close();
                        continue;
                    }
                    eprintln!("{} connected from {}", peer.username, peer.addr);
                    sessions.admit(session, peer.username, handle);
                }
                SessionEvent::Closed { reason } => {
                    if let Some(name) = sessions.closed(session) {
                        eprintln!("{name} disconnected ({reason})");
                    }
                }
                SessionEvent::Message { .. }
                | SessionEvent::Delivered { .. }
                | SessionEvent::Read { .. } => {}
            }
        }
    }
}

/// Completes on SIGINT (Ctrl+C) or, on Unix, SIGTERM (a service manager stopping a bot).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Stores (then acknowledges) the messages among `events` and prints each one stored for the
/// first time: a resend is printed once.
async fn print_new(sessions: &Sessions, events: Vec<NetEvent>, json: bool) -> anyhow::Result<()> {
    let received = sessions.take(events).await.context(
        "cannot store received messages (they were not acknowledged; senders will resend)",
    )?;
    let mut out = std::io::stdout().lock();
    for Received { message, seq, .. } in received {
        if seq.is_none() {
            continue;
        }
        let Incoming {
            peer,
            id,
            sent_at_ms,
            text,
        } = message;
        let line = if json {
            serde_json::json!({ "from": peer, "id": id.to_string(), "sent_at_ms": sent_at_ms, "text": text }).to_string()
        } else {
            format!("{peer}: {}", printable(&text))
        };
        writeln!(out, "{line}").context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")
}

/// A peer's text made safe for a terminal: control characters (escape sequences that could
/// move the cursor or rewrite the screen) become spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The chat window, optionally opened on one peer (`connect`).
///
/// # Errors
/// When the listen address cannot be bound or the terminal cannot be used.
pub async fn chat(
    global: &GlobalOpts,
    open: Option<(Option<String>, Option<String>)>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let ctx = load(global).await?;
    let open = open.map(|(user, ip)| target(user, ip)).transpose()?;
    if matches!(open, Some(DialTarget::Username(_))) && ctx.account.is_none() {
        bail!(
            "not registered: run `p2p-chat register NAME --server URL` first, or use connect --ip HOST:PORT"
        );
    }
    crate::tui::terminal::require()?;
    let _running = InstanceLock::acquire(
        &ctx.home,
        &format!("the chat window, listening on {}", global.listen),
    )?;
    let listener = bind(global.listen).await?;
    let me = Me {
        name: my_name(name, &ctx.profile)?,
        listen: listener.local_addr()?.to_string(),
        directory: ctx.account.as_ref().map(|a| a.client.base_url().to_owned()),
        key: *ctx.identity.public(),
    };
    let notice = match (&ctx.account, &open) {
        (None, None) => Some("not registered — run `p2p-chat register NAME --server URL`, or /connect --ip HOST:PORT".to_owned()),
        _ => None,
    };
    tui::run(tui::Options {
        me,
        account: ctx.account,
        listener,
        open,
        notice,
        identity: ctx.identity,
        store: ctx.store,
        bell: !global.no_bell,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        assert_eq!(printable("hi\x1b[2J\x07there\n"), "hi [2J there ");
        assert_eq!(printable("plain ✓"), "plain ✓");
    }
}
