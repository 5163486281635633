//! Scenes for the screen tests, built through the app's public API the way a user gets there,
//! and helpers to draw them and read the screen back.

use std::net::SocketAddr;

use chrono::DateTime;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Position;

use crate::app::{Action, App, ChatId, Effect, Me};
use crate::net::{Direction, RemotePeer, SessionId, SessionPath};
use crate::ui::render;

/// 2023-11-14 22:13:20 UTC.
pub const NOW_MS: u64 = 1_700_000_000_000;

/// The app's clock: always [`NOW_MS`].
pub fn clock() -> u64 {
    NOW_MS
}

/// A directory record for `name`.
pub fn record(name: &str, online: bool) -> ClientRecord {
    ClientRecord {
        username: name.to_owned(),
        host: "192.0.2.7".to_owned(),
        port: 55555,
        registered_at: DateTime::UNIX_EPOCH,
        last_seen: DateTime::UNIX_EPOCH,
        online,
        public_key: p2p_chat_protocol::validate::key_hex(&key_of(name)),
        observed_host: None,
        candidates: Vec::new(),
        relay_only: false,
    }
}

/// Each test peer's identity key: its name's first byte, repeated.
pub fn key_of(name: &str) -> [u8; 32] {
    [name.as_bytes()[0]; 32]
}

/// A peer as it introduces itself, at `192.0.2.{last_octet}:55555`.
pub fn peer(name: &str, last_octet: u8) -> RemotePeer {
    RemotePeer {
        username: name.to_owned(),
        addr: SocketAddr::from(([192, 0, 2, last_octet], 55555)),
        listen_port: Some(55555),
        key: key_of(name),
        path: SessionPath::Direct,
    }
}

/// A fresh client for alice, with or without a directory configured.
pub fn fresh(directory: bool) -> App {
    let me = Me {
        name: "alice".to_owned(),
        listen: "0.0.0.0:55555".to_owned(),
        directory: directory.then(|| "http://dir.example:8080".to_owned()),
        key: [0xaa; 32],
    };
    App::new(me, clock)
}

/// Alice with four directory contacts loaded: bob and dave online, carol last seen five
/// minutes ago, mallory never seen by the directory.
pub fn with_contacts() -> App {
    let mut app = fresh(true);
    let mut contacts =
        ["bob", "carol", "dave", "mallory"].map(|n| record(n, matches!(n, "bob" | "dave")));
    contacts[1].last_seen =
        DateTime::from_timestamp_millis(NOW_MS as i64 - 5 * 60_000).expect("a time in range");
    app.update(Action::ContactsLoaded(contacts.into()));
    app
}

/// One key press without modifiers.
pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Ctrl+F, then `text`: filters the contact list.
pub fn filter(app: &mut App, text: &str) {
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('f'),
        KeyModifiers::CONTROL,
    )));
    type_text(app, text);
}

/// Types `text` one key at a time.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// Enter on the contact under the cursor; returns the chat id the dial is for.
pub fn open_contact(app: &mut App) -> u64 {
    match press(app, KeyCode::Enter).as_slice() {
        [Effect::Dial { chat, .. }, Effect::LoadHistory { .. }] => chat.0,
        other => panic!("expected a dial and a history load, got {other:?}"),
    }
}

/// Types `text` and presses Enter; returns the id of the message sent.
pub fn send(app: &mut App, text: &str) -> MessageId {
    type_text(app, text);
    let id = match press(app, KeyCode::Enter).as_slice() {
        [Effect::Queue { id, .. }] => *id,
        other => panic!("expected a queued message, got {other:?}"),
    };
    // The session's pump hands it to the session.
    if let Some(chat) = app.current_chat()
        && let Some(session) = chat.session()
    {
        let peer = chat.name.clone();
        app.update(Action::Sent(crate::delivery::outbound::SentBatch {
            session,
            peer,
            ids: vec![id],
        }));
    }
    id
}

/// Message number `n` from the peer on `session`, sent `minutes_later` than [`NOW_MS`].
pub fn receive(app: &mut App, session: u64, n: u128, minutes_later: u64, text: &str) {
    app.update(Action::MessageReceived {
        session: SessionId(session),
        seq: n as i64,
        id: MessageId(uuid::Uuid::from_u128(n)),
        sent_at_ms: NOW_MS + minutes_later * 60_000,
        text: text.to_owned(),
    });
}

/// 200 characters in 40 five-character words.
pub fn long_message() -> String {
    (0..40)
        .map(|i| format!("w{i:03}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Alice chatting with bob (connected), dave and zed (an address-only peer) waiting unread.
pub fn chatting() -> App {
    let mut app = with_contacts();
    let chat = open_contact(&mut app);
    let outgoing = Direction::Outgoing { request: chat };
    app.update(Action::SessionOpened {
        session: SessionId(1),
        peer: peer("bob", 7),
        direction: outgoing,
    });
    let hello = send(&mut app, "hi bob, are you there?");
    app.update(Action::Delivered {
        session: SessionId(1),
        peer: "bob".into(),
        id: hello,
    });
    receive(&mut app, 1, 1, 1, "hey alice! yes, just got back");
    receive(&mut app, 1, 2, 2, &long_message());
    send(&mut app, "great, sending the notes now");
    app.update(Action::SessionOpened {
        session: SessionId(2),
        peer: peer("dave", 8),
        direction: Direction::Incoming,
    });
    receive(&mut app, 2, 3, 3, "lunch?");
    receive(&mut app, 2, 4, 3, "alice?");
    app.update(Action::SessionOpened {
        session: SessionId(3),
        peer: peer("zed", 9),
        direction: Direction::Incoming,
    });
    app
}

/// Directory down, and a dial to carol that failed with a message still waiting.
pub fn failing() -> App {
    let mut app = with_contacts();
    press(&mut app, KeyCode::Down);
    let chat = open_contact(&mut app);
    // Nothing is waiting, so the failed dial is not retried.
    app.update(Action::DialFailed {
        chat: ChatId(chat),
        error: "carol is offline".to_owned(),
    });
    app.update(Action::DirectoryFailed(
        crate::directory::Trouble::Unreachable,
        "cannot reach the directory at http://dir.example:8080 — is it running?".to_owned(),
    ));
    app
}

/// Renders `app` on a `width` x `height` test terminal.
pub fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| render(app, frame))
        .expect("test backend draws");
    terminal
}

/// The screen as text, one line per row.
pub fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Position of the first cell of `needle` on the screen.
pub fn find(terminal: &Terminal<TestBackend>, needle: &str) -> Option<Position> {
    text(terminal).lines().enumerate().find_map(|(y, line)| {
        let byte = line.find(needle)?;
        let x = line[..byte].chars().count();
        Some(Position::new(
            u16::try_from(x).ok()?,
            u16::try_from(y).ok()?,
        ))
    })
}
