//! `p2p-chat demo`: a directory and an echo peer inside this process, and the chat window
//! open on a chat with the echo peer. Real TCP and the real protocol on loopback; nothing
//! is written to disk.

use std::time::Duration;

use anyhow::Context;
use p2p_chat_directory::{AppState, Settings, open_store};
use p2p_chat_protocol::api::RegisterRequest;
use p2p_chat_protocol::peer::now_unix_ms;
use p2p_chat_protocol::{MessageId, validate};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::app::{DialTarget, Me};
use crate::delivery::inbound::carries_data;
use crate::delivery::sessions::Sessions;
use crate::directory::DirectoryClient;
use crate::identity::Identity;
use crate::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, SessionEvent};
use crate::presence::Account;
use crate::store::LocalStore;
use crate::tui;

/// Username of the echo peer.
pub const ECHO_NAME: &str = "echo";

/// bcrypt cost of the embedded directory: the minimum (4), as its accounts live only as long
/// as the demo and their passwords are random.
const DEMO_BCRYPT_COST: u32 = 4;

/// Runs the demo until the user quits, with the user's window `settings` (theme,
/// timestamps); nothing changed in it is saved.
///
/// # Errors
/// When a loopback socket cannot be bound or the terminal cannot be used.
pub async fn run(settings: crate::config::WindowSettings) -> anyhow::Result<()> {
    tui::terminal::require()?;
    let directory = start_directory().await?;
    let client = DirectoryClient::new(&directory)?;
    let echo = start_echo_peer(&client).await?;
    let me_name = validate::username(&std::env::var("USER").unwrap_or_default())
        .ok()
        .filter(|name| name != ECHO_NAME)
        .unwrap_or_else(|| "you".to_owned());
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")?;
    let port = listener.local_addr()?.port();
    let identity = Identity::generate()?;
    let account = register(&client, &me_name, port, &identity).await?;
    let me = Me {
        name: me_name,
        listen: listener.local_addr()?.to_string(),
        directory: Some(directory),
        key: *identity.public(),
    };
    let options = tui::Options {
        me,
        account: Some(account),
        listener,
        open: Some(DialTarget::Username(ECHO_NAME.to_owned())),
        notice: None,
        identity,
        store: LocalStore::in_memory().await?,
        bell: true,
        // The user's theme and timestamps; changes made in the demo are not saved.
        settings,
        config_path: None,
        answering: crate::relay::Answering::Anyone,
        port_mapping: false,
        relay_only: false,
    };
    let result = tui::run(options).await;
    echo.abort();
    result
}

/// Starts the embedded directory on a loopback port; returns its URL.
async fn start_directory() -> anyhow::Result<String> {
    let store = open_store("sqlite::memory:").await?;
    let settings = Settings {
        bcrypt_cost: DEMO_BCRYPT_COST,
        // The demo's own accounts, in a directory that ends with it: no invites.
        registration: p2p_chat_directory::registration::Registration::Open,
        ..Settings::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(store, settings);
    tokio::spawn(p2p_chat_directory::run(
        listener,
        state,
        std::future::pending(),
    ));
    Ok(url)
}

/// Registers `username` with a random password and logs in.
async fn register(
    client: &DirectoryClient,
    username: &str,
    port: u16,
    identity: &Identity,
) -> anyhow::Result<Account> {
    let password = MessageId::new().to_string();
    let request = RegisterRequest {
        username: username.to_owned(),
        password: password.clone(),
        host: "127.0.0.1".to_owned(),
        port: Some(port),
        public_key: identity.public_hex(),
        invite: None,
    };
    client.register(&request).await?;
    let login = client.login(username, &password).await?;
    Ok(Account {
        client: client.clone(),
        username: username.to_owned(),
        token: login.token,
        fixed_port: None,
        relay_only: false,
    })
}

/// Starts the echo peer: it greets every peer and sends each message back.
async fn start_echo_peer(client: &DirectoryClient) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind a loopback port")?;
    let port = listener.local_addr()?.port();
    let identity = Identity::generate()?;
    let account = register(client, ECHO_NAME, port, &identity).await?;
    let local = LocalPeer {
        username: ECHO_NAME.to_owned(),
        listen_port: Some(port),
        local_addr: None,
        identity,
    };
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    tokio::spawn(net::listener::serve(listener, local, tx));
    let listening = crate::presence::Listening { port, ipv6: false };
    tokio::spawn(account.keep_fresh(listening, false, None, |_| true));
    // The echo peer follows the same delivery rules as every client: it stores what it
    // receives (deduplicating resends) before acknowledging, and answers through its outbox.
    let mut sessions = Sessions::new(LocalStore::in_memory().await?);
    Ok(tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let (data, control): (Vec<_>, Vec<_>) = net::batch(first, &mut rx)
                .into_iter()
                .partition(carries_data);
            let received = sessions
                .take(data)
                .await
                .map(|taken| taken.received)
                .unwrap_or_default();
            let mut replies: Vec<_> = received
                .into_iter()
                .filter(|r| r.seq.is_some())
                .map(|r| (r.message.peer, format!("echo: {}", r.message.text)))
                .collect();
            for event in control {
                match event.event {
                    SessionEvent::Opened { handle, peer, .. } => {
                        sessions.admit(event.session, peer.username.clone(), handle);
                        let greeting = format!(
                            "Hello {}! I am the echo peer, running inside this demo. Send me anything and it comes back to you over a real TCP session. Press F1 for help, Ctrl+C to quit.",
                            peer.username
                        );
                        replies.push((peer.username, greeting));
                    }
                    SessionEvent::Closed { .. } => {
                        sessions.closed(event.session);
                    }
                    SessionEvent::Message { .. }
                    | SessionEvent::Delivered { .. }
                    | SessionEvent::Group(_)
                    | SessionEvent::Read { .. }
                    | SessionEvent::Typing
                    | SessionEvent::File(_)
                    | SessionEvent::RoundTrip { .. } => {}
                }
            }
            if !replies.is_empty() {
                // A short pause makes the exchange readable, like a person typing.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            for (peer, text) in replies {
                let _ = sessions
                    .queue(&peer, MessageId::new(), now_unix_ms(), &text)
                    .await;
            }
        }
    }))
}
