//! `p2p-chat listen`: accept peers and take the mailbox, printing each message once, with the
//! same delivery and trust rules as the chat window.

use anyhow::Context;
use tokio::sync::mpsc;

use super::peer::{Loaded, bind, load, my_name};
use crate::app::{Action, MailEffect};
use crate::cli::GlobalOpts;
use crate::delivery::inbound::{Received, carries_data};
use crate::delivery::mail::{Mailer, take_group_mail};
use crate::delivery::sessions::Sessions;
use crate::identity::fingerprint;
use crate::instance::InstanceLock;
use crate::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent, SessionPath};
use crate::presence::{PresenceReport, SignalReport};
use crate::store::Incoming;
use crate::transfer::Transfers;
use crate::transfer::policy::Rules;
use crate::trust::{Decision, Origin};

mod print;

use print::{print_group_news, print_new};

/// `p2p-chat listen`: accepts peers and prints each message on stdout until interrupted.
/// With an account it also keeps the directory entry online, and takes the mailbox at start
/// and after every heartbeat (every 20 s): each mail is judged like an incoming peer, stored,
/// printed, deleted and receipted.
///
/// # Errors
/// When the listen address cannot be bound, another client runs on the profile, or the store
/// cannot write.
pub async fn listen(
    global: &GlobalOpts,
    json: bool,
    name: Option<String>,
    accept_files: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut ctx = load(global).await?;
    let _running = InstanceLock::acquire(&ctx.home, &format!("listen on {}", global.listen))?;
    let listener = bind(global.listen).await?;
    let bound = listener.local_addr()?;
    let local = LocalPeer {
        username: my_name(name, &ctx.profile)?,
        listen_port: Some(bound.port()),
        local_addr: Some(bound),
        identity: ctx.identity.clone(),
    };
    eprintln!(
        "p2p-chat listening for peers on {bound} as {}",
        local.username
    );
    if global.relay_only && ctx.account.is_some() {
        eprintln!(
            "relay only: the directory withholds your addresses, and peers reach you through its relay"
        );
    }
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let v6 = net::port::listen_v6_beside(bound);
    let listening = crate::presence::Listening {
        port: bound.port(),
        ipv6: v6.is_some(),
    };
    tokio::spawn(net::listener::serve_dual(
        listener,
        v6,
        local.clone(),
        tx.clone(),
    ));
    let (action_tx, mut action_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let (mail_tx, mail_jobs) = mpsc::unbounded_channel();
    let mut port_mapper = None;
    if let Some(account) = ctx.account.clone() {
        let mailer = Mailer {
            account: account.clone(),
            local: local.clone(),
            store: ctx.store.clone(),
            action_tx: action_tx.clone(),
        };
        tokio::spawn(mailer.work(mail_jobs));
        let notices = mail_tx.clone();
        let (answer_as, answer_to, relay_account) = (local.clone(), tx.clone(), account.clone());
        let answering = crate::relay::Answering::from_flag(global.refuse_strangers, &ctx.store);
        let (mut seen_at, mut lost) = (None, false);
        tokio::spawn(
            account
                .clone()
                .keep_signaling(local.local_addr, move |report| {
                    match report {
                        // Mail pushed by the directory is fetched at once, and so is what may have
                        // come while the signaling connection was closed.
                        SignalReport::Connected { observed } => {
                            if std::mem::take(&mut lost) {
                                eprintln!("the signaling connection to the directory is back");
                            }
                            if observed.is_some() && observed != seen_at {
                                if let Some(addr) = &observed {
                                    eprintln!("the directory sees this client at {addr}");
                                }
                                seen_at = observed;
                            }
                            let _ = notices.send(MailEffect::Fetch);
                        }
                        SignalReport::Mail => {
                            let _ = notices.send(MailEffect::Fetch);
                        }
                        SignalReport::Lost => {
                            if seen_at.is_some() && !std::mem::replace(&mut lost, true) {
                                eprintln!(
                                    "lost the signaling connection to the directory; reconnecting \
                                     (chats that are open go on)"
                                );
                            }
                        }
                        // A peer that cannot reach us directly meets us on the relay or by
                        // a hole punch.
                        request => {
                            let (account, me, events) = (&relay_account, &answer_as, &answer_to);
                            crate::relay::answer_request(&request, &answering, account, me, events);
                        }
                    }
                    !notices.is_closed()
                }),
        );
        let fetch = mail_tx.clone();
        if !global.no_port_mapping && !global.relay_only {
            let mapper = crate::portmap::PortMapper::start(account.client.clone(), bound.port());
            let mut mapped = mapper.mapped();
            port_mapper = Some(mapper);
            tokio::spawn(async move {
                while mapped.changed().await.is_ok() {
                    match *mapped.borrow_and_update() {
                        Some(m) => eprintln!(
                            "the router forwards {} to this client ({} port mapping)",
                            m.external, m.protocol
                        ),
                        None => eprintln!("the router no longer forwards a port to this client"),
                    }
                }
            });
        }
        let mapped = port_mapper.as_ref().map(crate::portmap::PortMapper::mapped);
        tokio::spawn(account.keep_fresh(listening, false, mapped, move |report| {
            match report {
                PresenceReport::Failed(e) => eprintln!("warning: {e}"),
                // After every heartbeat, as the chat window does after each contact list.
                PresenceReport::Ok { .. } => {
                    let _ = fetch.send(MailEffect::Fetch);
                }
            }
            true
        }));
    }
    drop(action_tx);
    let groups =
        crate::groups::Groups::of_profile(&ctx.store, ctx.account.as_ref(), &ctx.identity).await;
    let mut sessions = Sessions::new(ctx.store.clone());
    if let Some(groups) = groups {
        sessions = sessions.with_groups(groups);
    }
    let rules = Rules {
        accept_into: accept_files,
        download_dir: crate::config::download_dir(),
        auto_accept_bytes: 0,
    };
    if let Some(dir) = &rules.accept_into {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --accept-files {}", dir.display()))?;
        eprintln!("files peers offer are saved in {}", dir.display());
    }
    let (mut files, mut reports) = Transfers::new(ctx.store.clone(), rules);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            event = rx.recv() => {
                let Some(first) = event else { return Ok(()) };
                let mut peers = Peers { sessions: &mut sessions, files: &mut files };
                handle_sessions(&mut ctx, &mut peers, first, &mut rx, json).await?;
            }
            Some(report) = reports.recv() => super::file_report::print(&report, json)?,
            _ = tick.tick() => files.tick().await?,
            Some(action) = action_rx.recv() => {
                match handle_mail(&mut ctx, action, json).await? {
                    Some(MailEffect::Group { mail, peer, key, frame }) => {
                        // Without the group engine (no account) it stays in the mailbox.
                        let Some(groups) = sessions.groups() else { continue };
                        let taken = match take_group_mail(groups, mail, peer, key, frame).await {
                            Ok(taken) => taken,
                            Err(e) => {
                                eprintln!("cannot store a mailed group message (it stays in the mailbox): {e}");
                                continue;
                            }
                        };
                        print_group_news(taken.news.into_iter(), json)?;
                        if taken.queued {
                            sessions.wake();
                        }
                        if let Some(answer) = taken.answer {
                            let _ = mail_tx.send(answer);
                        }
                    }
                    Some(job) => {
                        let _ = mail_tx.send(job);
                    }
                    None => {}
                }
            }
            () = interrupted() => {
                sessions.close_all();
                if let Some(account) = &ctx.account {
                    account.sign_off().await;
                }
                if let Some(mapper) = port_mapper.take() {
                    mapper.release().await;
                }
                return Ok(());
            }
        }
    }
}

/// The admitted sessions and the transfers on them.
struct Peers<'a> {
    sessions: &'a mut Sessions,
    files: &'a mut Transfers,
}

/// One batch of session events: data of admitted sessions first (stored, acknowledged,
/// printed once), then new sessions judged by the trust rule, file transfers, and ended ones.
async fn handle_sessions(
    ctx: &mut Loaded,
    Peers { sessions, files }: &mut Peers<'_>,
    first: NetEvent,
    rx: &mut mpsc::Receiver<NetEvent>,
    json: bool,
) -> anyhow::Result<()> {
    // Messages and receipts first: they belong to sessions admitted in earlier batches.
    let (data, control): (Vec<_>, Vec<_>) =
        net::batch(first, rx).into_iter().partition(carries_data);
    let taken = sessions.take(data).await.context(
        "cannot store received messages (they were not acknowledged; senders will resend)",
    )?;
    print_new(
        taken
            .received
            .into_iter()
            .filter_map(|Received { message, seq, .. }| seq.map(|_| message)),
        json,
    )?;
    print_group_news(taken.groups.into_iter().map(|(_, news)| news), json)?;
    for NetEvent { session, event } in control {
        match event {
            SessionEvent::Opened { peer, handle, .. } => {
                if let Err(e) =
                    super::trust::pin_or_refuse(ctx, &peer.username, &peer.key, Origin::Inbound)
                        .await
                {
                    eprintln!("refused {} from {}: {e:#}", peer.username, peer.addr);
                    handle.close();
                    continue;
                }
                match peer.path {
                    SessionPath::Direct => {
                        eprintln!("{} connected from {}", peer.username, peer.addr);
                    }
                    SessionPath::Relayed { .. } => {
                        eprintln!("{} connected through the directory's relay", peer.username);
                    }
                    SessionPath::Punched => {
                        eprintln!(
                            "{} connected from {} (hole punched)",
                            peer.username, peer.addr
                        );
                    }
                }
                let verified = ctx.pins.get(&peer.username).is_some_and(|pin| pin.verified);
                files
                    .session_opened(&peer.username, handle.clone(), verified)
                    .await?;
                sessions.admit(session, peer.username, handle);
            }
            SessionEvent::File(event) => {
                if let Some(name) = sessions.name(session) {
                    files.on_event(&name, event).await?;
                }
            }
            SessionEvent::Closed { reason } => {
                if let Some(name) = sessions.closed(session) {
                    files.session_closed(&name, session);
                    eprintln!("{name} disconnected ({reason})");
                }
            }
            SessionEvent::Message { .. }
            | SessionEvent::Delivered { .. }
            | SessionEvent::Group(_)
            | SessionEvent::Read { .. }
            | SessionEvent::Typing
            | SessionEvent::RoundTrip { .. } => {}
        }
    }
    Ok(())
}

/// What the mailbox worker reported: a mail to judge (answered with the job to do), a stored
/// mail to print, or a failure to report.
async fn handle_mail(
    ctx: &mut Loaded,
    action: Action,
    json: bool,
) -> anyhow::Result<Option<MailEffect>> {
    match action {
        Action::MailArrived {
            mail,
            sender,
            key,
            message,
        } => {
            let Ok(sender) = p2p_chat_protocol::validate::username(&sender) else {
                return Ok(Some(MailEffect::Discard { mail }));
            };
            match super::trust::judge(ctx, &sender, &key, Origin::Inbound).await? {
                Decision::Trusted { .. } | Decision::PinNew | Decision::NewByAddress => {}
                Decision::Impostor => {
                    eprintln!(
                        "discarded a sealed message signed as {sender}: its key (fingerprint {}) \
                         is neither the one pinned nor the one the directory lists",
                        fingerprint(&key)
                    );
                    return Ok(Some(MailEffect::Discard { mail }));
                }
                // Left in the mailbox for a later fetch.
                decision @ (Decision::Changed { .. } | Decision::Unverifiable) => {
                    if let Err(e) = super::trust::refusal(&sender, &key, decision) {
                        eprintln!("left a sealed message from {sender} in the mailbox: {e:#}");
                    }
                    return Ok(None);
                }
            }
            Ok(Some(MailEffect::for_trusted(mail, sender, key, message)))
        }
        Action::MailStored {
            peer,
            id,
            sent_at_ms,
            text,
            ..
        } => {
            // Mail carries plain chat messages (a reply's quote is in its text).
            let message = Incoming {
                peer,
                id,
                sent_at_ms,
                text,
                reply_to: None,
            };
            print_new(std::iter::once(message), json)?;
            Ok(None)
        }
        Action::StoreFailed(e) => Err(anyhow::anyhow!(
            "cannot store mail (it stays in the mailbox): {e}"
        )),
        Action::DirectoryFailed(_, e) => {
            eprintln!("warning: {e}");
            Ok(None)
        }
        _ => Ok(None),
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
