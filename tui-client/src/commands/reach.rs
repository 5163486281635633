//! Reaching one peer for a one-shot command (`send`, `send-file`): who we are to it, every
//! way to reach it (direct, hole punch, relay), and the trust rule on the key it proves.

use tokio::sync::mpsc;

use super::peer::{Loaded, my_name};
use crate::app::DialTarget;
use crate::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent, SessionPath};
use crate::relay;
use crate::trust::Origin;
use crate::tui::resolve;

/// Who we are to the peer of a one-shot command (`send`, `send-file`), and the port held
/// for a hole punch (keep it while the command runs): the signaling connection and the punch
/// leave from it, for a user of the directory only.
///
/// # Errors
/// A `--name` that is not a valid username.
pub(super) fn local_peer(
    ctx: &Loaded,
    target: &DialTarget,
    name: Option<String>,
) -> anyhow::Result<(LocalPeer, Option<tokio::net::TcpSocket>)> {
    let held = match (target, &ctx.account) {
        (DialTarget::Username(_), Some(_)) => {
            net::port::reserve(std::net::SocketAddr::from(([0, 0, 0, 0], 0))).ok()
        }
        _ => None,
    };
    let local = LocalPeer {
        username: my_name(name, &ctx.profile)?,
        listen_port: None,
        local_addr: held.as_ref().and_then(|port| port.local_addr().ok()),
        identity: ctx.identity.clone(),
    };
    Ok((local, held))
}

/// Why a direct attempt did not deliver.
pub(super) enum Failure {
    /// The peer could not be reached or did not confirm in time: the mailbox may take over.
    Unreachable(anyhow::Error),
    /// Nothing more to try: unknown user, refused key, broken store.
    Final(anyhow::Error),
}

/// A session opened and admitted by the trust rule.
pub(super) struct Opened {
    /// The peer's name (its username, or what it calls itself when dialled by address).
    pub name: String,
    /// The session.
    pub session: net::SessionId,
    /// Its handle.
    pub handle: net::SessionHandle,
    /// How its bytes travel.
    pub path: SessionPath,
    /// Its events (the `Opened` event already taken).
    pub rx: mpsc::Receiver<NetEvent>,
}

/// Reaches `target` by every way there is (direct, hole punch, relay), and checks its key
/// with the trust rule (pinning it on first contact).
///
/// # Errors
/// [`Failure::Final`] for an unknown user or a refused key; [`Failure::Unreachable`] when
/// no way reached the peer.
pub(super) async fn open_session(
    ctx: &mut Loaded,
    local: &LocalPeer,
    target: &DialTarget,
) -> Result<Opened, Failure> {
    let signaling = async {
        match (&ctx.account, local.local_addr) {
            (Some(account), Some(port)) => account.brief_signaling(port).await,
            _ => None,
        }
    };
    let (resolved, signaling) =
        tokio::join!(resolve::resolve(ctx.account.as_ref(), target), signaling);
    // Without our signaling connection the directory would time a punch from another port.
    let unpunched;
    let local = if signaling.is_none() && local.local_addr.is_some() {
        unpunched = LocalPeer {
            local_addr: None,
            ..local.clone()
        };
        &unpunched
    } else {
        local
    };
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(resolve::ResolveError::Gone(e)) => return Err(Failure::Final(anyhow::anyhow!(e))),
        Err(resolve::ResolveError::Other(e)) => {
            return Err(Failure::Unreachable(anyhow::anyhow!(e)));
        }
    };
    let pinned = match target {
        DialTarget::Username(name) => ctx.pins.get(name).map(|pin| pin.key),
        DialTarget::Addr(_) => None,
    };
    if let (Some(pin), Some(listed), DialTarget::Username(name)) = (pinned, resolved.key, target)
        && pin != listed
    {
        let message = super::trust::changed_key_message(name, &pin, &listed);
        return Err(Failure::Final(anyhow::anyhow!(message)));
    }
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let expected = pinned.or(resolved.key);
    // A user of the directory can also be met on its relay; an address cannot.
    let account = match target {
        DialTarget::Username(_) => ctx.account.as_ref(),
        DialTarget::Addr(_) => None,
    };
    let peer_name = match target {
        DialTarget::Username(name) => name.as_str(),
        DialTarget::Addr(addr) => addr.as_str(),
    };
    let handle = relay::connect(
        account,
        relay::Ways::All,
        peer_name,
        &resolved.addr,
        &resolved.candidates,
        local,
        expected.as_ref(),
        0,
        tx,
    )
    .await
    .map_err(|e| Failure::Unreachable(e.into()))?;
    let Some(NetEvent {
        session,
        event: SessionEvent::Opened { peer, .. },
    }) = rx.recv().await
    else {
        return Err(Failure::Unreachable(anyhow::anyhow!(
            "the session ended before it opened"
        )));
    };
    // A peer dialled by username is judged as that user, whatever it calls itself.
    let (name, origin) = match target {
        DialTarget::Username(name) => (name.clone(), Origin::DialedListed),
        DialTarget::Addr(_) => (peer.username.clone(), Origin::DialedAddress),
    };
    if let Err(e) = super::trust::pin_or_refuse(ctx, &name, &peer.key, origin).await {
        handle.close();
        return Err(Failure::Final(e));
    }
    Ok(Opened {
        name,
        session,
        handle,
        path: peer.path,
        rx,
    })
}
