//! The interactive client: one loop from events to `App::update` to effects and redraws.
//!
//! ```text
//! terminal events ─┐
//! peer sessions ───┼─► Action ─► App::update ─► state ─► ui::render (pure)
//! directory tasks ─┘                 │
//!                                    └─► Vec<Effect> ─► Runner (dial, send, HTTP) ─► Action
//! ```
//!
//! The [`Runner`] owns every [`SessionHandle`]; it is the one place that talks to sessions.

mod editor;
pub mod resolve;
mod runner;
pub mod terminal;

use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, KeyEventKind};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::app::{Action, App, DialTarget, Effect, Me};
use crate::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent};
use crate::presence::{Account, PresenceReport, SignalReport};
pub use runner::{Channels, Runner};

/// Capacity of the channel of actions from background tasks.
const ACTION_CHANNEL_CAPACITY: usize = 256;

/// Everything the interactive client needs to start.
pub struct Options {
    /// Who we are.
    pub me: Me,
    /// Our directory account, if registered.
    pub account: Option<Account>,
    /// The bound peer listener.
    pub listener: TcpListener,
    /// A chat to open at start.
    pub open: Option<DialTarget>,
    /// A notice for the status bar at start.
    pub notice: Option<String>,
    /// Our key pair.
    pub identity: crate::identity::Identity,
    /// History, outbox, pinned keys and cached contacts.
    pub store: crate::store::LocalStore,
    /// Whether a message in a chat that is not shown rings the terminal bell.
    pub bell: bool,
    /// The window's settings from the config file.
    pub settings: crate::config::WindowSettings,
    /// The config file that settings changed in the window are written to; `None` keeps
    /// them for this run (the demo).
    pub config_path: Option<std::path::PathBuf>,
    /// Whose requests to meet (hole punches, relay offers) are answered.
    pub answering: crate::relay::Answering,
    /// Whether to keep a port mapping on our router (see [`crate::portmap`]).
    pub port_mapping: bool,
    /// `--relay-only`: dial no address, account or not.
    pub relay_only: bool,
}

/// Runs the chat window until the user quits.
///
/// # Errors
/// When the terminal cannot be set up or drawn to.
pub async fn run(options: Options) -> anyhow::Result<()> {
    let local = LocalPeer {
        username: options.me.name.clone(),
        listen_port: options.listener.local_addr().ok().map(|a| a.port()),
        local_addr: options.listener.local_addr().ok(),
        identity: options.identity,
    };
    let (net_tx, net_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let (action_tx, action_rx) = mpsc::channel(ACTION_CHANNEL_CAPACITY);
    // Peers reach us over IPv6 too when the host has it (our global IPv6 addresses are then
    // published as candidates).
    let v6 = local.local_addr.and_then(net::port::listen_v6_beside);
    let listening = crate::presence::Listening {
        port: local.listen_port.unwrap_or(0),
        ipv6: v6.is_some(),
    };
    let listener = tokio::spawn(net::listener::serve_dual(
        options.listener,
        v6,
        local.clone(),
        net_tx.clone(),
    ));
    let signaling = options.account.clone().map(|account| {
        let tx = action_tx.clone();
        let (answer_as, answer_to, answer_with) = (local.clone(), net_tx.clone(), account.clone());
        let options_answering = options.answering.clone();
        tokio::spawn(account.keep_signaling(local.local_addr, move |report| {
            // A peer that cannot reach us directly meets us on the relay or by a hole punch;
            // its session arrives like one our listener accepted (and is judged the same way).
            let answering = &options_answering;
            if crate::relay::answer_request(
                &report,
                answering,
                &answer_with,
                &answer_as,
                &answer_to,
            ) {
                return !tx.is_closed();
            }
            let action = match report {
                SignalReport::Presence { username, online } => {
                    Action::Presence { username, online }
                }
                SignalReport::Mail => Action::MailNotice,
                SignalReport::Connected { observed } => Action::SignalingOpened { observed },
                SignalReport::RelayOffer { .. }
                | SignalReport::Punch { .. }
                | SignalReport::Lost => return !tx.is_closed(),
            };
            tx.try_send(action).is_ok() || !tx.is_closed()
        }))
    });
    let port_mapper = match (&options.account, local.listen_port) {
        (Some(account), Some(port)) if options.port_mapping => Some(
            crate::portmap::PortMapper::start(account.client.clone(), port),
        ),
        _ => None,
    };
    let presence = options.account.clone().map(|account| {
        let tx = action_tx.clone();
        let mapped = port_mapper.as_ref().map(crate::portmap::PortMapper::mapped);
        tokio::spawn(account.keep_fresh(listening, true, mapped, move |report| {
            let action = match report {
                PresenceReport::Ok {
                    contacts: Some(list),
                } => Action::ContactsLoaded(list),
                PresenceReport::Ok { contacts: None } => Action::DirectoryOk,
                PresenceReport::Failed(e) => Action::DirectoryFailed(e.trouble(), e.to_string()),
            };
            tx.try_send(action).is_ok() || !tx.is_closed()
        }))
    });

    let mut app = App::new(options.me, crate::clock::now_ms);
    app.utc_offset = crate::clock::local_utc_offset_secs;
    app.notice = options.notice.map(|text| (crate::app::Level::Info, text));
    app.bell = options.bell;
    app.settings = options.settings;
    // The chat window learns of the mapping for /info; the task ends with the mapper.
    let forward_mapping = port_mapper.as_ref().map(|mapper| {
        let (mut mapped, tx) = (mapper.mapped(), action_tx.clone());
        tokio::spawn(async move {
            while mapped.changed().await.is_ok() {
                let now = mapped
                    .borrow_and_update()
                    .map(|m| (m.external.to_string(), m.protocol));
                if tx.send(Action::PortMapped(now)).await.is_err() {
                    return;
                }
            }
        })
    });
    let channels = Channels { net_tx, action_tx };
    let groups = crate::groups::Groups::of_profile(
        &options.store,
        options.account.as_ref(),
        &local.identity,
    )
    .await;
    let mut runner = Runner::new(options.account, local, options.store, channels);
    runner.groups = groups;
    for task in presence.into_iter().chain(signaling).chain(forward_mapping) {
        runner.keep_presence(task);
    }
    runner.port_mapper = port_mapper;
    runner.relay_only = options.relay_only;
    runner.config_path = options.config_path;
    runner.notifier = Some(crate::notify::Notifier::new(app.settings.notifications));
    runner.set_file_rules(crate::transfer::policy::Rules {
        accept_into: None,
        download_dir: app.settings.download_dir.clone(),
        auto_accept_bytes: app.settings.auto_accept_bytes,
    });
    let mut initial = Vec::new();
    if let Some(target) = options.open {
        initial.push(crate::app::command::SlashCommand::Connect(target));
    }

    let mut terminal = terminal::enter()?;
    if let Ok(size) = terminal.size() {
        app.update(Action::Resize {
            width: size.width,
            height: size.height,
        });
    }
    let result = event_loop(
        &mut terminal,
        app,
        initial,
        crossterm::event::EventStream::new,
        net_rx,
        action_rx,
        runner,
    )
    .await;
    terminal::leave();
    listener.abort();
    result
}

/// The loop, generic over the terminal backend and the event source so tests can drive it.
/// `new_events` opens the terminal's event stream; it is opened again after the editor had
/// the terminal (`/edit`), since a stream left open would read the editor's keys.
///
/// # Errors
/// When drawing fails.
pub async fn event_loop<B: Backend, S>(
    terminal: &mut Terminal<B>,
    mut app: App,
    initial: Vec<crate::app::command::SlashCommand>,
    mut new_events: impl FnMut() -> S,
    mut net_rx: mpsc::Receiver<NetEvent>,
    mut action_rx: mpsc::Receiver<Action>,
    mut runner: Runner,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut events = new_events();
    let restored = runner.restore().await;
    let files = runner.restore_files().await;
    let mut pending: std::collections::VecDeque<Action> = [restored, files].into();
    if let Some(groups) = runner.groups_action() {
        pending.push_back(groups);
        runner.report_members_waiting().await;
        pending.extend(runner.take_reports());
    }
    let mut initial = initial.into_iter();
    loop {
        // The runner's own reports and a whole batch of session events are handled before
        // the loop waits again; nothing here waits on a session.
        while let Some(action) = pending.pop_front() {
            let (screen, effects): (Vec<Effect>, Vec<Effect>) = app
                .update(action)
                .into_iter()
                .partition(|e| matches!(e, Effect::Redraw | Effect::Compose { .. }));
            runner.run(effects).await;
            for effect in screen {
                if let Effect::Compose { draft } = effect {
                    drop(events);
                    terminal::suspend();
                    let written = editor::compose(&draft).await;
                    terminal::resume();
                    events = new_events();
                    pending.push_back(Action::Composed(written));
                }
                // After the editor, and on Ctrl+L: the whole screen is drawn again. (A resize
                // to the same size clears without `clear`'s cursor-position query.)
                let area = terminal.size()?;
                terminal.resize(area.into())?;
            }
            pending.extend(runner.take_reports());
            if app.quit {
                runner.shutdown(&mut net_rx).await;
                return Ok(());
            }
        }
        if let Some(command) = initial.next() {
            let effects = app.run_command(command);
            runner.run(effects).await;
            pending.extend(runner.take_reports());
            continue;
        }
        terminal.draw(|frame| crate::ui::render(&app, frame))?;
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => pending.extend(terminal_action(event)),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(event) = net_rx.recv() => {
                let batch = net::batch(event, &mut net_rx);
                pending.extend(runner.adopt(batch).await);
            }
            Some(action) = action_rx.recv() => pending.push_back(action),
        };
    }
}

/// Turns a terminal event into an action; key releases and focus changes are dropped.
fn terminal_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
        Event::Mouse(mouse) => Some(Action::Mouse(mouse)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Resize(width, height) => Some(Action::Resize { width, height }),
        _ => None,
    }
}
