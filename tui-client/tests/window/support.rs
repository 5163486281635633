//! A chat window loop without a terminal, and scripted peers on loopback.

use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use p2p_chat::app::{Action, App, Me};
use p2p_chat::identity::Identity;
use p2p_chat::net::{
    self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent, SessionHandle,
};
use p2p_chat::store::{Delivery, LocalStore, Stored};
use p2p_chat::tui::{Channels, Runner, event_loop};
use p2p_chat_protocol::MessageId;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bound for anything that should happen at once on loopback; only reached on failure.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Pause between looks at the store while waiting for a condition.
const POLL: Duration = Duration::from_millis(20);

type KeySender = mpsc::UnboundedSender<std::io::Result<Event>>;

/// The chat window's loop, running in a task, listening on loopback.
pub struct Window {
    /// Where it accepts peers.
    pub addr: String,
    store: LocalStore,
    keys: KeySender,
    task: JoinHandle<anyhow::Result<()>>,
    home: tempfile::TempDir,
}

impl Window {
    /// A window for `name` with an empty profile.
    pub async fn start(name: &str) -> Self {
        Self::start_with_outbox(name, "nobody", 0, 0).await
    }

    /// A window for `name` whose outbox already holds `count` messages of `size` bytes to
    /// `peer` (as after a restart with messages waiting).
    pub async fn start_with_outbox(name: &str, peer: &str, count: usize, size: usize) -> Self {
        Self::launch(name, (peer, count, size), false).await
    }

    /// A window for `name` with an empty profile and the group engine (as with a directory
    /// account).
    pub async fn start_with_groups(name: &str) -> Self {
        Self::launch(name, ("nobody", 0, 0), true).await
    }

    async fn launch(name: &str, outbox: (&str, usize, usize), groups: bool) -> Self {
        let (peer, count, size) = outbox;
        // Warnings (a failed store write) show with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("p2p_chat=info,sqlx=warn")
            .try_init();
        let home = tempfile::tempdir().unwrap();
        let store = LocalStore::open(home.path()).await.unwrap();
        let text = "x".repeat(size);
        for n in 0..count {
            store
                .insert_outgoing(peer, MessageId::new(), n as u64, &text)
                .await
                .unwrap();
        }
        let identity = Identity::generate().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let local = LocalPeer {
            username: name.to_owned(),
            listen_port: Some(addr.port()),
            local_addr: None,
            identity: identity.clone(),
        };
        let (net_tx, net_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let (action_tx, action_rx) = mpsc::channel(256);
        tokio::spawn(net::listener::serve(
            listener,
            local.clone(),
            net_tx.clone(),
        ));
        let me = Me {
            name: name.to_owned(),
            listen: addr.to_string(),
            directory: None,
            key: *identity.public(),
        };
        let mut app = App::new(me, p2p_chat::clock::now_ms);
        app.update(Action::Resize {
            width: 100,
            height: 30,
        });
        let mut runner = Runner::new(None, local, store.clone(), Channels { net_tx, action_tx });
        if groups {
            let me = p2p_chat_protocol::group::Member {
                username: name.to_owned(),
                key: *identity.public(),
            };
            runner.groups = Some(
                p2p_chat::groups::Groups::load(store.clone(), me)
                    .await
                    .unwrap(),
            );
        }
        let (keys, keys_rx) = mpsc::unbounded_channel();
        let mut events = Some(Box::pin(futures::stream::unfold(
            keys_rx,
            |mut rx| async move { rx.recv().await.map(|event| (event, rx)) },
        )));
        // Opened once: these tests never hand the terminal to an editor.
        let events = move || events.take().expect("the key stream is opened once");
        let task = tokio::spawn(async move {
            let mut terminal = Terminal::new(TestBackend::new(100, 30))?;
            event_loop(
                &mut terminal,
                app,
                Vec::new(),
                events,
                net_rx,
                action_rx,
                runner,
            )
            .await
        });
        Self {
            addr: addr.to_string(),
            store,
            keys,
            task,
            home,
        }
    }

    fn key(&self, code: KeyCode, modifiers: KeyModifiers) {
        let _ = self
            .keys
            .send(Ok(Event::Key(KeyEvent::new(code, modifiers))));
    }

    /// Pastes `text` into the input line and presses Enter (sends it in the chat shown).
    pub fn paste_and_enter(&self, text: &str) {
        let _ = self.keys.send(Ok(Event::Paste(text.to_owned())));
        self.key(KeyCode::Enter, KeyModifiers::NONE);
    }

    /// Polls the store until `check` holds for the conversation with `peer`.
    async fn wait_until(&self, peer: &str, what: &str, check: impl Fn(&[Stored]) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let all = self.store.page_after(peer, 0, u32::MAX).await.unwrap();
            if check(&all) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting: {what}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the chat with `name` is open and shown: its key is pinned, which the
    /// window does in the same step as showing a first peer.
    pub async fn wait_for_chat(&self, name: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.store.pins().await.unwrap().get(name).is_none() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no chat with {name}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `n` of our messages to `peer` are delivered.
    pub async fn wait_delivered(&self, peer: &str, n: usize) {
        self.wait_until(peer, "delivered", |all| {
            all.iter()
                .filter(|m| m.outgoing && m.delivery == Delivery::Delivered)
                .count()
                == n
        })
        .await;
    }

    /// Received messages from `peer`, in the store's order.
    pub async fn stored(&self, peer: &str) -> Vec<Stored> {
        let all = self.store.page_after(peer, 0, u32::MAX).await.unwrap();
        all.into_iter().filter(|m| !m.outgoing).collect()
    }

    /// Takes the store's write lock from a connection of its own (as another program on the
    /// same profile would) and holds it until the returned connection is dropped.
    pub async fn lock_store(&self) -> sqlx::SqliteConnection {
        use sqlx::Connection;
        let path = self.home.path().join(p2p_chat::store::STORE_FILE);
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    }

    /// Presses Ctrl+C and waits for the loop to end cleanly.
    pub async fn quit(self) {
        self.key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let ended = tokio::time::timeout(PATIENCE, self.task).await;
        ended.expect("the window quits").unwrap().unwrap();
    }
}

/// A peer driven by the test: one session to the window.
pub struct Peer {
    identity: Identity,
    handle: SessionHandle,
    rx: mpsc::Receiver<NetEvent>,
}

impl Peer {
    /// This peer's session and the events it brings, to drive by hand.
    pub fn into_parts(self) -> (SessionHandle, mpsc::Receiver<NetEvent>) {
        (self.handle, self.rx)
    }

    /// Dials `addr` as `name` with a fresh key.
    pub async fn dial(name: &str, addr: &str) -> Self {
        Self::dial_as(Identity::generate().unwrap(), name, addr).await
    }

    /// Dials `addr` as `name` with `identity`.
    pub async fn dial_as(identity: Identity, name: &str, addr: &str) -> Self {
        let local = LocalPeer {
            username: name.to_owned(),
            listen_port: None,
            local_addr: None,
            identity: identity.clone(),
        };
        let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let handle = net::dial(addr, &local, None, 0, tx).await.unwrap();
        let opened = next(&mut rx).await;
        assert!(matches!(opened.event, SessionEvent::Opened { .. }));
        Self {
            identity,
            handle,
            rx,
        }
    }

    /// Dials `addr` as `name`, then never reads again: its session stops reading the socket
    /// once one event waits, so what the window sends piles up in TCP.
    pub async fn dial_and_stop_reading(name: &str, addr: &str) -> impl Drop {
        let local = LocalPeer {
            username: name.to_owned(),
            listen_port: None,
            local_addr: None,
            identity: Identity::generate().unwrap(),
        };
        let (tx, rx) = mpsc::channel(1);
        let handle = net::dial(addr, &local, None, 0, tx).await.unwrap();
        Stuck(handle, rx)
    }

    /// Our identity, to dial again as the same peer.
    pub fn identity(&self) -> Identity {
        self.identity.clone()
    }

    /// Sends `messages` as fast as the session takes them, from a task of their own.
    pub fn send_all(&self, messages: impl Iterator<Item = (MessageId, String)>) {
        let messages: Vec<_> = messages.collect();
        let handle = self.handle.clone();
        tokio::spawn(async move {
            for (id, text) in messages {
                if handle.send_chat(id, 1, text).await.is_err() {
                    return;
                }
            }
        });
    }

    /// Counts receipts until `n` arrived (acknowledging anything received meanwhile), or
    /// until `patience` passes without a receipt (round trips and other events do not count:
    /// a window that answers pings but stores nothing must fail here, not hang).
    pub async fn count_receipts(&mut self, n: usize, patience: Duration) -> usize {
        let mut count = 0;
        let mut deadline = tokio::time::Instant::now() + patience;
        while count < n {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.rx.recv()).await else {
                break;
            };
            match event.event {
                SessionEvent::Delivered { .. } => {
                    count += 1;
                    deadline = tokio::time::Instant::now() + patience;
                }
                SessionEvent::Message { id, .. } => {
                    let _ = self.handle.acknowledge(id);
                }
                SessionEvent::Closed { reason } => panic!("session closed: {reason}"),
                _ => {}
            }
        }
        count
    }

    /// The next `n` chat messages (each one frame), acknowledged if `ack`.
    pub async fn receive(&mut self, n: usize, ack: bool) -> Vec<(MessageId, String)> {
        let mut got = Vec::new();
        while got.len() < n {
            if let SessionEvent::Message { id, text, .. } = next(&mut self.rx).await.event {
                if ack {
                    self.handle.acknowledge(id).unwrap();
                }
                got.push((id, text));
            }
        }
        got
    }

    /// Sends `marker` from the window and checks it is the very next frame this peer gets:
    /// nothing was sent twice before it.
    pub async fn expect_no_more_after_marker(&mut self, window: &Window, marker: &str) {
        window.paste_and_enter(marker);
        let next = self.receive(1, true).await;
        assert_eq!(
            next[0].1, marker,
            "a frame came before the marker: {next:?}"
        );
    }

    /// Waits (up to [`PATIENCE`]) for the window to end the session; panics if a message or
    /// receipt comes first, or if the session goes on.
    pub async fn expect_closed(mut self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let event = tokio::time::timeout_at(deadline, self.rx.recv()).await;
            match event.expect("the window ends the session in time") {
                None
                | Some(NetEvent {
                    event: SessionEvent::Closed { .. },
                    ..
                }) => return,
                Some(NetEvent {
                    event: SessionEvent::Message { .. } | SessionEvent::Delivered { .. },
                    ..
                }) => panic!("the session carried on"),
                Some(_) => {}
            }
        }
    }

    /// Says goodbye and waits for the session to end.
    pub async fn close(mut self) {
        self.handle.close();
        while let Some(event) = self.rx.recv().await {
            if let SessionEvent::Closed { .. } = event.event {
                return;
            }
        }
    }
}

/// A session whose events are never read (the receiver is kept so it stays open).
struct Stuck(SessionHandle, #[allow(dead_code)] mpsc::Receiver<NetEvent>);

impl Drop for Stuck {
    fn drop(&mut self) {
        self.0.close();
    }
}

async fn next(rx: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("an event in time")
        .expect("the session's channel is open")
}
