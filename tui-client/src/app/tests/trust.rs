//! Keys: first contacts, changed keys, verification.

use super::*;
use crate::net::{CloseReason, Direction, SessionId};

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
    assert!(matches!(&effects[0], Effect::SavePin { peer, .. } if peer == "bob"));
    // Accepted: the session's pump now sends the outbox (all three, in order, from the store).
    assert_eq!(
        effects[1..],
        [Effect::Flush {
            session: SessionId(5)
        }]
    );
    let waiting: Vec<_> = app
        .chat(chat)
        .unwrap()
        .outbox()
        .into_iter()
        .map(|m| m.2)
        .collect();
    assert_eq!(waiting, ["one", "two", "three"]);
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
    // bob rotated his key, and the directory lists the new one: when he comes back with it,
    // the session is closed and a warning blocks his chat until the user accepts.
    let mut rotated = record("bob", true);
    rotated.public_key = p2p_chat_protocol::validate::key_hex(&[0x66; 32]);
    app.update(Action::ContactsLoaded(vec![rotated]));
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
        matches!(&effects[0], Effect::SavePin { peer, pin } if peer == "bob" && pin.key == [0x66; 32])
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
fn an_impostor_while_the_contact_is_connected_leaves_the_chat_alone() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let before = app.chat(chat).unwrap().lines.len();
    // Someone else connects, calling itself bob, with a key neither pinned nor listed.
    let mut impostor = remote("bob", Some(4001));
    impostor.addr = "192.0.2.66:40000".parse().unwrap();
    impostor.key = [0x66; 32];
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(7),
        peer: impostor.clone(),
        direction: Direction::Incoming,
    }));
    assert_eq!(
        effects,
        vec![
            Effect::CloseSession {
                session: SessionId(7)
            },
            Effect::LoadContacts
        ],
        "only the impostor's session is closed (and the contact list fetched again)"
    );
    let bob = app.chat(chat).unwrap();
    assert!(matches!(
        bob.link,
        Link::Connected {
            session: SessionId(1),
            ..
        }
    ));
    assert_eq!(bob.security, Security::New);
    assert_eq!(bob.lines.len(), before, "nothing written into bob's chat");
    assert_eq!(app.key_warning, None, "no blocking warning");
    let Some((Level::Error, notice)) = app.notice.clone() else {
        panic!("{:?}", app.notice)
    };
    let fp = crate::identity::fingerprint(&[0x66; 32]);
    assert!(
        notice.contains("192.0.2.66:40000") && notice.contains("bob") && notice.contains(&fp),
        "{notice}"
    );
    // The same address again within a minute: refused without another notice.
    app.notice = None;
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(8),
        peer: impostor,
        direction: Direction::Incoming,
    }));
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(8)
        }]
    );
    assert_eq!(app.notice, None, "rate-limited per address");
    // The real chat still works: a message goes out on bob's session.
    app.current = Some(chat);
    let effects = type_line(&mut app, "still there?");
    assert!(only_queued(&effects), "{effects:?}");
}

#[test]
fn a_genuine_key_rotation_shows_the_warning_in_that_contacts_chat() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    app.update(Action::SessionClosed {
        session: SessionId(1),
        reason: CloseReason::PeerLeft {
            reason: String::new(),
        },
    });
    // bob ran `rotate-key`; our contact list still has his old key.
    let mut rotated = remote("bob", Some(4001));
    rotated.key = [0x66; 32];
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(2),
        peer: rotated.clone(),
        direction: Direction::Incoming,
    }));
    assert!(effects.contains(&Effect::LoadContacts), "{effects:?}");
    assert_eq!(app.key_warning, None, "not confirmed yet");
    // The fresh list confirms the new key; bob's next attempt shows the warning in his chat.
    let mut listed = record("bob", true);
    listed.public_key = p2p_chat_protocol::validate::key_hex(&[0x66; 32]);
    app.update(Action::ContactsLoaded(vec![listed]));
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(3),
        peer: rotated,
        direction: Direction::Incoming,
    }));
    assert!(effects.contains(&Effect::CloseSession {
        session: SessionId(3)
    }));
    assert_eq!(app.key_warning, Some(chat));
    assert!(matches!(
        app.chat(chat).unwrap().security,
        Security::Changed {
            offered: [0x66, ..],
            ..
        }
    ));
}

#[test]
fn a_stranger_claiming_a_listed_name_never_met_gets_no_key_change_warning() {
    // The reproduction: carol is in the directory but we never talked to her; a stranger
    // connects as carol with another key.
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("carol", true)]));
    let mut stranger = remote("carol", Some(4001));
    stranger.key = [0x66; 32];
    let effects = essential(app.update(Action::SessionOpened {
        session: SessionId(3),
        peer: stranger,
        direction: Direction::Incoming,
    }));
    assert_eq!(
        effects,
        vec![Effect::CloseSession {
            session: SessionId(3)
        }]
    );
    assert_eq!(app.key_warning, None);
    assert!(app.chats.is_empty(), "no chat is opened for the impostor");
    assert!(matches!(&app.notice, Some((Level::Error, n)) if n.contains("claiming to be carol")));
    assert!(app.pins.get("carol").is_none());
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
        matches!(&effects[..], [Effect::SavePin { peer, pin }] if peer == "bob" && pin.verified)
    );
    assert_eq!(app.chat(chat).unwrap().security, Security::Verified);
}
