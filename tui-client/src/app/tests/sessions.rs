//! Sessions: incoming peers, lost links and reconnects, goodbyes, simultaneous dials.

use crossterm::event::KeyCode;
use p2p_chat_protocol::MessageId;

use super::*;
use crate::net::{CloseReason, Direction, SessionId};

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
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Right,
        KeyModifiers::ALT,
    )));
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
    // No redial; the contact list is reloaded, so the contact shows offline at once.
    assert_eq!(
        app.update(Action::SessionClosed {
            session: SessionId(1),
            reason
        }),
        vec![Effect::LoadContacts]
    );
    assert_eq!(app.chat(chat).unwrap().link, Link::Idle);
    let left = &app.chat(chat).unwrap().lines.last().unwrap().text;
    assert_eq!(left, "bob left", "said once");
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
        vec![
            Effect::CloseSession {
                session: SessionId(1)
            },
            Effect::Flush {
                session: SessionId(2)
            }
        ]
    );
    assert_eq!(app.chat(chat).unwrap().session(), Some(SessionId(2)));
}

#[test]
fn a_connected_contact_is_listed_online_whatever_the_last_reload_said() {
    let mut app = app();
    connected_to_bob(&mut app);
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    let bob = app.entries().into_iter().find(|e| e.name == "bob").unwrap();
    assert_eq!(bob.presence, crate::app::Presence::Online);
}
