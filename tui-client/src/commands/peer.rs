//! What the commands that talk to peers share (the loaded profile, names, targets, the listen
//! socket), and the chat window (`p2p-chat`, `connect`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use p2p_chat_protocol::validate;
use tokio::net::TcpListener;

use crate::app::{DialTarget, Me};
use crate::cli::{GlobalOpts, UsageError};
use crate::directory::DirectoryClient;
use crate::identity::Identity;
use crate::instance::InstanceLock;
use crate::pins::Pins;
use crate::presence::Account;
use crate::profile::{self, Profile};
use crate::store::LocalStore;
use crate::tui;

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
            relay_only: global.relay_only,
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
pub(super) fn my_name(name: Option<String>, profile: &Profile) -> anyhow::Result<String> {
    if let Some(name) = name {
        return validate::username(&name).context("--name");
    }
    if let Some(name) = &profile.username {
        return Ok(name.clone());
    }
    let login = std::env::var("USER").unwrap_or_default();
    Ok(validate::username(&login).unwrap_or_else(|_| FALLBACK_NAME.to_owned()))
}

/// The peer a command names: `--ip HOST:PORT`, else a username.
///
/// # Errors
/// [`UsageError`] for a bad address or username, or neither.
pub(super) fn target(
    global: &GlobalOpts,
    username: Option<String>,
    ip: Option<String>,
) -> anyhow::Result<DialTarget> {
    let usage = |message: String| anyhow::Error::new(UsageError(message));
    match (username, ip) {
        (_, Some(_)) if global.relay_only => {
            Err(usage(crate::relay::RELAY_ONLY_DIALS_NO_ADDRESS.into()))
        }
        (_, Some(addr)) => Ok(DialTarget::Addr(
            crate::app::command::peer_addr(&addr).map_err(usage)?,
        )),
        (Some(name), None) => Ok(DialTarget::Username(
            validate::username(&name).map_err(|e| usage(e.to_string()))?,
        )),
        (None, None) => Err(usage("give a USERNAME or --ip HOST:PORT".into())),
    }
}

/// Binds the peer listener at `addr`, sharing its port with our outgoing connections
/// ([`crate::net::port::listen`]).
pub(super) async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    crate::net::port::listen(addr).with_context(|| {
        format!("cannot listen for peers on {addr} — is another p2p-chat running? Use --listen ADDR (port 0 picks a free port)")
    })
}

/// The chat window, optionally opened on one peer (`connect`).
///
/// # Errors
/// When the listen address cannot be bound or the terminal cannot be used.
pub async fn chat(
    global: &GlobalOpts,
    config: &crate::config::Config,
    open: Option<(Option<String>, Option<String>)>,
    name: Option<String>,
) -> anyhow::Result<()> {
    let ctx = load(global).await?;
    let open = open
        .map(|(user, ip)| target(global, user, ip))
        .transpose()?;
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
        (None, None) => Some("not registered: p2p-chat register NAME --server URL [--invite CODE], or /connect --ip HOST:PORT".to_owned()),
        _ => None,
    };
    let answering = crate::relay::Answering::from_flag(global.refuse_strangers, &ctx.store);
    tui::run(tui::Options {
        me,
        account: ctx.account,
        listener,
        open,
        notice,
        identity: ctx.identity,
        store: ctx.store,
        bell: !global.no_bell,
        settings: config.window.clone(),
        config_path: Some(config.path.clone()),
        answering,
        port_mapping: !global.no_port_mapping && !global.relay_only,
        relay_only: global.relay_only,
    })
    .await
}
