//! Unit tests of `App::update`: actions in, state and effects out.

use crate::directory::Trouble;
use std::net::SocketAddr;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::*;
use crate::net::{Direction, RemotePeer, SessionId};

mod attention;
mod delivery;
mod editing;
mod files;
mod groups;
mod info;
mod input;
mod reply;
mod search;
mod sessions;
mod trust;
mod typing;
mod upgrade;

const NOW: u64 = 1_700_000_000_000;

fn clock() -> u64 {
    NOW
}

fn app() -> App {
    let me = Me {
        name: "alice".into(),
        listen: "127.0.0.1:4000".into(),
        directory: Some("http://dir".into()),
        key: [0xaa; 32],
    };
    App::new(me, clock)
}

/// Each test peer's identity key: its name's first byte, repeated.
fn key_of(name: &str) -> [u8; 32] {
    [name.as_bytes()[0]; 32]
}

fn record(name: &str, online: bool) -> ClientRecord {
    let at = Utc.timestamp_millis_opt(NOW as i64).unwrap();
    ClientRecord {
        username: name.into(),
        host: "127.0.0.1".into(),
        port: 4001,
        registered_at: at,
        last_seen: at,
        online,
        public_key: p2p_chat_protocol::validate::key_hex(&key_of(name)),
        observed_host: None,
        candidates: Vec::new(),
        relay_only: false,
    }
}

/// The effects a test is about: store bookkeeping (history pages, read markers, bindings,
/// the contact cache)
/// is checked by its own tests and left out here.
fn essential(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::LoadHistory { .. }
                    | Effect::MarkRead { .. }
                    | Effect::Bind { .. }
                    | Effect::CacheContacts(_)
            )
        })
        .collect()
}

/// Whether `effects` only write messages to the outbox (nothing goes to the network).
fn only_queued(effects: &[Effect]) -> bool {
    !effects.is_empty() && effects.iter().all(|e| matches!(e, Effect::Queue { .. }))
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    essential(app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE))))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    essential(app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    ))))
}

/// Types a line (from the contact list, the first key moves to the input) and presses Enter.
fn type_line(app: &mut App, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter)
}

fn remote(name: &str, listen_port: Option<u16>) -> RemotePeer {
    RemotePeer {
        username: name.into(),
        addr: "127.0.0.1:50000".parse::<SocketAddr>().unwrap(),
        listen_port,
        key: key_of(name),
        path: crate::net::SessionPath::Direct,
    }
}

fn opened(app: &mut App, session: u64, name: &str, direction: Direction) -> Vec<Effect> {
    essential(app.update(Action::SessionOpened {
        session: SessionId(session),
        peer: remote(name, Some(4001)),
        direction,
    }))
}

/// Opens a chat with bob from the contact list and completes the dial.
fn connected_to_bob(app: &mut App) -> ChatId {
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("alice", true),
    ]));
    let effects = key(app, KeyCode::Enter);
    let Some(Effect::Dial {
        chat,
        target,
        expected: None,
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(target, DialTarget::Username("bob".into()));
    // First contact: bob's key matches the directory's and is pinned; the session's pump
    // starts sending the outbox.
    let effects = opened(app, 1, "bob", Direction::Outgoing { request: chat.0 });
    assert!(
        matches!(effects.as_slice(), [Effect::SavePin { peer, .. }, Effect::Flush { session: SessionId(1) }] if peer == "bob"),
        "{effects:?}"
    );
    assert_eq!(app.chat(chat).unwrap().security, Security::New);
    chat
}

fn own_states(app: &App, chat: ChatId) -> Vec<(String, Delivery)> {
    app.chat(chat)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l.kind {
            LineKind::Own { delivery, .. } => Some((l.text.clone(), delivery)),
            _ => None,
        })
        .collect()
}

#[test]
fn contacts_exclude_me_and_open_with_enter() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let entries = app.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, "bob");
    assert_eq!(entries[0].presence, Presence::Online);
    assert_eq!(app.current, Some(chat));
    assert_eq!(app.focus, Focus::Input);
    assert!(matches!(
        app.chat(chat).unwrap().link,
        Link::Connected {
            session: SessionId(1),
            outgoing: true,
            ..
        }
    ));
}

#[test]
fn a_receipt_on_a_session_replaced_by_a_newer_one_still_marks_delivered() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let effects = type_line(&mut app, "hello bob");
    let Some(Effect::Queue { id, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    // The receipt comes on another session with bob than the chat's (one that was closing
    // when the two of them dialled each other at once): it counts all the same.
    assert_eq!(app.chat(chat).unwrap().session(), Some(SessionId(1)));
    app.update(Action::Delivered {
        session: SessionId(9),
        peer: "bob".into(),
        id,
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Delivered)]
    );
}

#[test]
fn enter_sends_and_a_receipt_marks_delivered() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let effects = type_line(&mut app, "hello bob");
    // Written to the outbox; the session's pump sends it from there.
    let [
        Effect::Queue {
            id,
            peer,
            sent_at_ms,
            text,
            reply_to: None,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (peer.as_str(), *sent_at_ms, text.as_str()),
        ("bob", NOW, "hello bob")
    );
    assert_eq!(app.input.value(), "");
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Queued)]
    );
    app.update(Action::Sent(crate::delivery::outbound::SentBatch {
        session: SessionId(1),
        peer: "bob".into(),
        ids: vec![*id],
    }));
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Sent)]
    );
    app.update(Action::Delivered {
        session: SessionId(1),
        peer: "bob".into(),
        id: *id,
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Delivered)]
    );
}

#[test]
fn ctrl_c_closes_every_session_and_quits() {
    let mut app = app();
    connected_to_bob(&mut app);
    let effects = ctrl(&mut app, 'c');
    assert_eq!(
        effects,
        vec![
            Effect::CloseSession {
                session: SessionId(1)
            },
            Effect::Quit
        ]
    );
    assert!(app.quit);
    let mut app = self::app();
    assert_eq!(type_line(&mut app, "/quit"), vec![Effect::Quit]);
}

#[test]
fn connecting_to_an_unknown_name_is_an_error_line_not_a_chat() {
    let mut app = app();
    let effects = type_line(&mut app, "/connect nobody");
    let Some(chat) = effects.iter().find_map(|e| match e {
        Effect::Dial { chat, .. } => Some(*chat),
        _ => None,
    }) else {
        panic!("{effects:?}")
    };
    app.update(Action::PeerGone {
        chat,
        reason: "no user named nobody on the directory".into(),
    });
    assert!(app.chats.is_empty(), "no \"nobody — failed\" chat");
    assert_eq!(app.current, None);
    assert!(
        matches!(&app.notice, Some((Level::Error, text)) if text.contains("no user named nobody")),
        "{:?}",
        app.notice
    );
}

#[test]
fn the_directory_error_leaves_the_status_bar_once_the_directory_answers() {
    let mut app = app();
    let error = "cannot reach the directory at http://dir: connection refused".to_owned();
    app.update(Action::DirectoryFailed(Trouble::Unreachable, error.clone()));
    assert_eq!(app.notice, Some((Level::Error, error.clone())));
    app.update(Action::DirectoryOk);
    assert_eq!(app.notice, None);
    assert_eq!(app.directory, DirectoryState::Online);
    // Through a contact list too; another notice shown since is left alone.
    app.update(Action::DirectoryFailed(Trouble::Unreachable, error.clone()));
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    assert_eq!(app.notice, None);
    app.update(Action::DirectoryFailed(Trouble::Unreachable, error));
    app.notice = Some((Level::Info, "bob connected".into()));
    app.update(Action::DirectoryOk);
    assert_eq!(app.notice, Some((Level::Info, "bob connected".into())));
}

#[test]
fn oversize_messages_are_refused_without_losing_them() {
    let mut app = app();
    connected_to_bob(&mut app);
    let long = "x".repeat(p2p_chat_protocol::peer::MAX_TEXT_BYTES + 1);
    app.update(Action::Paste(long.clone()));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.input.value(), long);
}

#[test]
fn directory_failures_show_in_the_state() {
    let mut app = app();
    app.update(Action::DirectoryFailed(
        Trouble::Busy,
        "too many requests".into(),
    ));
    assert!(matches!(
        app.directory,
        DirectoryState::Failed(Trouble::Busy, _)
    ));
    app.update(Action::DirectoryOk);
    assert_eq!(app.directory, DirectoryState::Online);
}

#[test]
fn closing_a_chat_closes_its_session() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    assert_eq!(
        type_line(&mut app, "/close"),
        vec![Effect::CloseSession {
            session: SessionId(1)
        }]
    );
    assert!(app.chat(chat).is_none());
    assert_eq!(app.current, None);
    assert_eq!(app.focus, Focus::Contacts);
}

#[test]
fn a_message_arriving_while_scrolled_back_does_not_move_the_view() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    for n in 1..=30u128 {
        app.update(Action::MessageReceived {
            session: SessionId(1),
            seq: n as i64,
            id: MessageId(uuid::Uuid::from_u128(n)),
            sent_at_ms: NOW,
            text: format!("m{n}"),
        });
    }
    app.chats.iter_mut().find(|c| c.id == bob).unwrap().scroll = 10;
    app.update(Action::MessageReceived {
        session: SessionId(1),
        seq: 31,
        id: MessageId(uuid::Uuid::from_u128(31)),
        sent_at_ms: NOW,
        text: "new".into(),
    });
    assert_eq!(app.chat(bob).unwrap().scroll, 11, "one more below the view");
}
