//! Unit tests of `App::update`: actions in, state and effects out.

use std::net::SocketAddr;

use chrono::{TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::ClientRecord;

use super::*;
use crate::net::{CloseReason, Direction, RemotePeer, SessionId};

mod attention;

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
    }
}

/// The effects a test is about: store bookkeeping (history pages, read markers, bindings)
/// is checked by its own tests and left out here.
fn essential(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Effect::LoadHistory { .. } | Effect::MarkRead { .. } | Effect::Bind { .. }
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

/// Types a line into the input (pressing `i` first if the contact list has the focus).
fn type_line(app: &mut App, text: &str) -> Vec<Effect> {
    if app.focus == Focus::Contacts {
        key(app, KeyCode::Char('i'));
    }
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
    // First contact: bob's key matches the directory's and is pinned.
    let effects = opened(app, 1, "bob", Direction::Outgoing { request: chat.0 });
    assert!(
        matches!(effects.as_slice(), [Effect::SavePins(pins)] if pins.get("bob").is_some()),
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
            outgoing: true
        }
    ));
}

#[test]
fn enter_sends_and_a_receipt_marks_delivered() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let effects = type_line(&mut app, "hello bob");
    // Written to the outbox first, then sent.
    let [
        Effect::Queue {
            id: queued,
            peer: queued_for,
            ..
        },
        Effect::Send {
            session,
            peer,
            id,
            sent_at_ms,
            text,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (queued, queued_for.as_str(), peer.as_str()),
        (id, "bob", "bob")
    );
    assert_eq!(
        (*session, *sent_at_ms, text.as_str()),
        (SessionId(1), NOW, "hello bob")
    );
    assert_eq!(app.input.value(), "");
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Sent)]
    );
    app.update(Action::Delivered {
        session: SessionId(1),
        id: *id,
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("hello bob".into(), Delivery::Delivered)]
    );
}

#[test]
fn a_stranger_by_address_is_asked_about_before_queued_messages_go_out_in_order() {
    let mut app = app();
    let effects = type_line(&mut app, "/connect --ip 127.0.0.1:4001");
    let [
        Effect::Dial {
            chat,
            target: DialTarget::Addr(addr),
            expected: None,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(addr, "127.0.0.1:4001");
    let chat = *chat;
    assert!(only_queued(&type_line(&mut app, "one")));
    assert!(only_queued(&type_line(&mut app, "two")));
    // An unknown key: nothing goes out, the fingerprint is shown and the user is asked.
    assert!(opened(&mut app, 5, "bob", Direction::Outgoing { request: chat.0 }).is_empty());
    assert_eq!(
        app.chat(chat).unwrap().security,
        Security::Unapproved { key: key_of("bob") }
    );
    let ask = &app.chat(chat).unwrap().lines.last().unwrap().text;
    assert!(
        ask.contains(&crate::identity::fingerprint(&key_of("bob"))) && ask.contains("/accept"),
        "{ask}"
    );
    assert!(only_queued(&type_line(&mut app, "three")), "still held");
    let effects = type_line(&mut app, "/accept");
    assert!(matches!(&effects[0], Effect::SavePins(pins) if pins.get("bob").is_some()));
    let texts: Vec<_> = effects[1..]
        .iter()
        .map(|e| match e {
            Effect::Send {
                session: SessionId(5),
                text,
                ..
            } => text.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["one", "two", "three"]);
    // The chat, opened by address, now carries the peer's name.
    assert_eq!(app.chat(chat).unwrap().name, "bob");
    assert_eq!(app.chat(chat).unwrap().security, Security::Pinned);
}

#[test]
fn a_changed_key_is_refused_until_accepted() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    app.update(Action::SessionClosed {
        session: SessionId(1),
        reason: CloseReason::PeerLeft {
            reason: String::new(),
        },
    });
    // bob comes back with another key: the session is closed and a warning blocks the chat.
    let mut impostor = remote("bob", Some(4001));
    impostor.key = [0x66; 32];
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(2),
        peer: impostor,
        direction: Direction::Incoming,
    }));
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(2)
        }]
    );
    assert_eq!(app.key_warning, Some(chat));
    assert!(matches!(
        app.chat(chat).unwrap().security,
        Security::Changed {
            offered: [0x66, ..],
            ..
        }
    ));
    // Messages wait; nothing is dialled while the key is refused.
    assert!(only_queued(&type_line(&mut app, "are you bob?")));
    // The directory also offers the new key when we dial: refused before dialling.
    app.update(Action::KeyChanged {
        chat,
        offered: [0x66; 32],
    });
    assert!(matches!(app.chat(chat).unwrap().link, Link::Failed { .. }));
    // Accepting pins the new key and dials with it.
    let effects = type_line(&mut app, "/accept");
    assert!(
        matches!(&effects[0], Effect::SavePins(pins) if pins.get("bob").map(|p| p.key) == Some([0x66; 32]))
    );
    assert!(
        matches!(
            &effects[1],
            Effect::Dial {
                expected: Some([0x66, ..]),
                ..
            }
        ),
        "{effects:?}"
    );
    assert_eq!(app.key_warning, None);
}

#[test]
fn an_incoming_key_that_contradicts_the_directory_is_refused() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let mut impostor = remote("bob", None);
    impostor.key = [0x66; 32];
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(3),
        peer: impostor,
        direction: Direction::Incoming,
    }));
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(3)
        }]
    );
    assert!(
        app.pins.get("bob").is_none(),
        "nothing pinned for an impostor"
    );
}

#[test]
fn verify_shows_the_safety_number_and_confirm_marks_it() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    assert!(type_line(&mut app, "/verify").is_empty());
    let number = crate::identity::safety_number(&[0xaa; 32], &key_of("bob")).replace('\n', "  ");
    assert!(
        app.chat(chat)
            .unwrap()
            .lines
            .last()
            .unwrap()
            .text
            .contains(&number)
    );
    let effects = type_line(&mut app, "/verify confirm");
    assert!(
        matches!(&effects[..], [Effect::SavePins(pins)] if pins.get("bob").is_some_and(|p| p.verified))
    );
    assert_eq!(app.chat(chat).unwrap().security, Security::Verified);
}

#[test]
fn an_incoming_peer_gets_a_chat_with_an_unread_count() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    opened(&mut app, 2, "carol", Direction::Incoming);
    let carol = app.chats.iter().find(|c| c.name == "carol").unwrap().id;
    assert_eq!(
        app.current,
        Some(chat),
        "an incoming peer must not steal the focus"
    );
    let id = MessageId::new();
    app.update(Action::MessageReceived {
        session: SessionId(2),
        seq: 1,
        id,
        sent_at_ms: NOW,
        text: "hi".into(),
    });
    // A resend of the same id is shown once.
    app.update(Action::MessageReceived {
        session: SessionId(2),
        seq: 1,
        id,
        sent_at_ms: NOW,
        text: "hi".into(),
    });
    assert_eq!(app.chat(carol).unwrap().unread, 1);
    assert_eq!(
        app.chat(carol)
            .unwrap()
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Peer { .. }))
            .count(),
        1
    );
    let entry = app
        .entries()
        .into_iter()
        .find(|e| e.name == "carol")
        .unwrap();
    assert_eq!((entry.unread, entry.presence), (1, Presence::Unknown));
    // Tab moves to carol's chat and clears the count.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.current, Some(carol));
    assert_eq!(app.chat(carol).unwrap().unread, 0);
    ctrl(&mut app, 'p');
    assert_eq!(app.current, Some(chat));
}

#[test]
fn a_lost_link_reconnects_then_fails_after_the_last_attempt() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let reason = CloseReason::ConnectionLost {
        detail: "reset".into(),
    };
    let effects = app.update(Action::SessionClosed {
        session: SessionId(1),
        reason,
    });
    assert_eq!(
        effects,
        vec![Effect::ScheduleReconnect { chat, attempt: 1 }]
    );
    assert_eq!(
        app.update(Action::ReconnectDue { chat }),
        vec![Effect::Dial {
            chat,
            target: DialTarget::Username("bob".into()),
            expected: Some(key_of("bob")),
        }]
    );
    for attempt in 2..=MAX_RECONNECT_ATTEMPTS {
        let effects = app.update(Action::DialFailed {
            chat,
            error: "refused".into(),
        });
        assert_eq!(effects, vec![Effect::ScheduleReconnect { chat, attempt }]);
    }
    assert!(
        app.update(Action::DialFailed {
            chat,
            error: "refused".into()
        })
        .is_empty()
    );
    assert!(matches!(app.chat(chat).unwrap().link, Link::Failed { .. }));
    let last = app.chat(chat).unwrap().lines.last().unwrap();
    assert_eq!(last.kind, LineKind::Error);
    assert!(
        last.text.contains("refused") && last.text.contains("retry"),
        "{}",
        last.text
    );
    // Sending again dials again; the message waits as pending.
    let effects = type_line(&mut app, "are you back?");
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Queue { .. }, Effect::Dial { .. }]
        ),
        "{effects:?}"
    );
    assert_eq!(
        own_states(&app, chat),
        vec![("are you back?".into(), Delivery::Queued)]
    );
}

#[test]
fn a_goodbye_does_not_reconnect() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let reason = CloseReason::PeerLeft {
        reason: String::new(),
    };
    assert!(
        app.update(Action::SessionClosed {
            session: SessionId(1),
            reason
        })
        .is_empty()
    );
    assert_eq!(app.chat(chat).unwrap().link, Link::Idle);
}

#[test]
fn simultaneous_dials_keep_the_session_of_the_smaller_name() {
    // alice < bob: both sides keep the session alice dialled.
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let effects = opened(&mut app, 2, "bob", Direction::Incoming);
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(2)
        }]
    );
    assert_eq!(app.chat(chat).unwrap().session(), Some(SessionId(1)));

    let me = Me {
        name: "zed".into(),
        listen: "x".into(),
        directory: None,
        key: [0xbb; 32],
    };
    let mut app = App::new(me, clock);
    app.pins.pin("bob", key_of("bob"));
    let effects = type_line(&mut app, "/connect --ip 127.0.0.1:4001");
    let [Effect::Dial { chat, .. }] = effects.as_slice() else {
        panic!()
    };
    let chat = *chat;
    opened(&mut app, 1, "bob", Direction::Outgoing { request: chat.0 });
    let effects = opened(&mut app, 2, "bob", Direction::Incoming);
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(1)
        }]
    );
    assert_eq!(app.chat(chat).unwrap().session(), Some(SessionId(2)));
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
fn filter_narrows_the_contact_list() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("carol", false),
        record("bea", false),
    ]));
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Char('b'));
    let names: Vec<_> = app.entries().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["bea", "bob"]);
    key(&mut app, KeyCode::Char('o'));
    assert_eq!(app.entries().len(), 1);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.entries().len(), 3);
}

#[test]
fn help_opens_with_f1_and_closes_with_any_key() {
    let mut app = app();
    key(&mut app, KeyCode::F(1));
    assert!(app.show_help);
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.show_help);
    assert_eq!(app.input.value(), "", "the closing key is not typed");
    type_line(&mut app, "/help");
    assert!(app.show_help);
}

#[test]
fn bad_input_keeps_the_text_and_explains() {
    let mut app = app();
    type_line(&mut app, "/connect");
    assert_eq!(app.input.value(), "/connect");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("usage")));
    ctrl(&mut app, 'u');
    // No chat is open: the text stays and the user is told what to do.
    type_line(&mut app, "hello?");
    assert_eq!(app.input.value(), "hello?");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("/connect")));
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
    app.update(Action::DirectoryFailed("cannot reach the directory".into()));
    assert!(matches!(app.directory, DirectoryState::Unreachable(_)));
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
fn waiting_messages_keep_retrying_and_go_out_when_the_peer_shows_up_online() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Dial { chat, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let chat = *chat;
    assert!(only_queued(&type_line(&mut app, "are you there?")));
    // bob is offline: the message waits and the dial is retried, without end.
    let effects = app.update(Action::DialFailed {
        chat,
        error: "cannot reach bob".into(),
    });
    assert_eq!(effects[0], Effect::ScheduleReconnect { chat, attempt: 1 });
    assert!(
        matches!(effects[1], Effect::Deposit { .. }),
        "queued messages also go to the mailbox"
    );
    assert!(
        app.chat(chat)
            .unwrap()
            .lines
            .last()
            .unwrap()
            .text
            .contains("1 message(s) wait")
    );
    for attempt in 2..=MAX_RECONNECT_ATTEMPTS + 3 {
        assert_eq!(app.update(Action::ReconnectDue { chat }).len(), 1);
        let effects = app.update(Action::DialFailed {
            chat,
            error: "cannot reach bob".into(),
        });
        assert_eq!(effects[0], Effect::ScheduleReconnect { chat, attempt });
    }
    // Restarted without a session and with a failed link: bob coming online triggers a dial.
    app.chats[0].link = Link::Failed { reason: "x".into() };
    let effects = essential(app.update(Action::ContactsLoaded(vec![record("bob", true)])));
    assert!(
        matches!(effects.as_slice(), [Effect::Dial { .. }, Effect::FetchMail]),
        "{effects:?}"
    );
    // Once connected, the queued message goes out with its original id.
    let effects = opened(&mut app, 4, "bob", Direction::Outgoing { request: chat.0 });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Send { text, .. } if text == "are you there?"))
    );
}

#[test]
fn the_store_restores_conversations_and_resends_the_outbox_after_a_restart() {
    use crate::store::{Conversation, Stored};
    let mut app = app();
    let waiting = Stored {
        seq: 7,
        id: MessageId(uuid::Uuid::from_u128(7)),
        peer: "bob".into(),
        outgoing: true,
        sent_at_ms: NOW,
        text: "sent before the crash".into(),
        delivery: Delivery::Sent,
        detail: None,
    };
    let conversations = vec![
        Conversation {
            peer: "carol".into(),
            unread: 2,
        },
        Conversation {
            peer: "bob".into(),
            unread: 0,
        },
    ];
    let effects = essential(app.update(Action::StoreLoaded {
        conversations,
        outbox: vec![waiting.clone()],
    }));
    let bob = app.chats.iter().find(|c| c.name == "bob").unwrap();
    assert!(
        matches!(effects.as_slice(), [Effect::Dial { chat, .. }] if *chat == bob.id),
        "{effects:?}"
    );
    assert_eq!(
        bob.outbox(),
        vec![(waiting.id, NOW, "sent before the crash".to_owned())]
    );
    // The most recent conversation (carol's) is shown, so its messages count as read.
    let carol = app.chats.iter().find(|c| c.name == "carol").unwrap();
    assert_eq!((app.current, carol.unread), (Some(carol.id), 0));
    assert_eq!(bob.unread, 0);
    // The history page that contains the same message does not show it twice.
    let bob_id = bob.id;
    app.update(Action::HistoryLoaded {
        chat: bob_id,
        request: PageRequest::Newest,
        page: vec![waiting],
    });
    assert_eq!(
        app.chat(bob_id)
            .unwrap()
            .lines
            .iter()
            .filter(|l| l.id().is_some())
            .count(),
        1
    );
}

#[test]
fn scrolling_to_the_top_loads_the_page_before() {
    use crate::store::Stored;
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let page: Vec<Stored> = (0..100)
        .map(|n| Stored {
            seq: 1000 + n,
            id: MessageId(uuid::Uuid::from_u128(n as u128)),
            peer: "bob".into(),
            outgoing: false,
            sent_at_ms: NOW,
            text: format!("m{n}"),
            delivery: Delivery::Delivered,
            detail: None,
        })
        .collect();
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::Newest,
        page,
    });
    let mut loads = Vec::new();
    for _ in 0..20 {
        loads.extend(app.update(Action::Key(KeyEvent::new(
            KeyCode::PageUp,
            KeyModifiers::NONE,
        ))));
    }
    let loads: Vec<_> = loads
        .into_iter()
        .filter(|e| matches!(e, Effect::LoadHistory { .. }))
        .collect();
    assert_eq!(
        loads,
        vec![Effect::LoadHistory {
            chat,
            peer: "bob".into(),
            request: PageRequest::Before(1000)
        }],
        "asked once"
    );
    // An empty older page means the start of the conversation: no more requests.
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::Before(1000),
        page: Vec::new(),
    });
    assert!(app.chat(chat).unwrap().history.complete);
}

#[test]
fn an_unreachable_peer_gets_the_queued_messages_through_the_mailbox() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Dial { chat, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let chat = *chat;
    type_line(&mut app, "for later");
    let effects = app.update(Action::DialFailed {
        chat,
        error: "cannot reach bob".into(),
    });
    let Some(Effect::Deposit {
        peer,
        key: None,
        messages,
    }) = effects.get(1)
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (peer.as_str(), messages.len(), messages[0].2.as_str()),
        ("bob", 1, "for later")
    );
    let id = messages[0].0;
    app.update(Action::Deposited {
        peer: "bob".into(),
        ids: vec![id],
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("for later".into(), Delivery::Sent)]
    );
    // Nothing queued any more: the next failure deposits nothing again.
    app.update(Action::ReconnectDue { chat });
    let effects = app.update(Action::DialFailed {
        chat,
        error: "cannot reach bob".into(),
    });
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Deposit { .. })),
        "{effects:?}"
    );
    // bob's receipt arrives by mail.
    app.update(Action::DeliveredByMail {
        peer: "bob".into(),
        id,
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("for later".into(), Delivery::Delivered)]
    );
}

#[test]
fn mail_from_a_known_key_is_stored_and_from_a_wrong_key_discarded() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let mail = p2p_chat_protocol::api::MailId::new();
    let chat = p2p_chat_protocol::PeerMessage::chat("left for you");
    let effects = app.update(Action::MailArrived {
        mail,
        sender: "bob".into(),
        key: key_of("bob"),
        message: chat.clone(),
    });
    assert!(
        matches!(&effects[..], [Effect::SavePins(_), Effect::StoreMail { peer, .. }] if peer == "bob"),
        "{effects:?}"
    );
    // Someone sealing as bob with another key is refused, even before bob was ever pinned.
    let mut fresh = self::app();
    fresh.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let effects = fresh.update(Action::MailArrived {
        mail,
        sender: "bob".into(),
        key: [0x66; 32],
        message: chat.clone(),
    });
    assert_eq!(effects, vec![Effect::DiscardMail { mail }]);
    assert!(fresh.pins.get("bob").is_none());
    // And once pinned, a different key is refused too.
    let effects = app.update(Action::MailArrived {
        mail,
        sender: "bob".into(),
        key: [0x66; 32],
        message: chat,
    });
    assert_eq!(effects, vec![Effect::DiscardMail { mail }]);
    // A stored mail shows up as an unread message.
    let id = MessageId::new();
    app.update(Action::MailStored {
        peer: "bob".into(),
        seq: 5,
        id,
        sent_at_ms: NOW,
        text: "left for you".into(),
    });
    let bob = app.chats.iter().find(|c| c.name == "bob").unwrap();
    assert!(bob.lines.iter().any(|l| l.text == "left for you"));
    assert_eq!(
        app.current,
        Some(bob.id),
        "with nothing on screen, the new message is shown"
    );
}
