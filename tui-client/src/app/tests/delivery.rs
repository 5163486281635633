//! Delivery: retries, the store, history pages, the mailbox.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat_protocol::MessageId;

use super::*;
use crate::net::Direction;

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
        matches!(effects[1], Effect::Mail(MailEffect::Deposit { .. })),
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
        matches!(
            effects.as_slice(),
            [Effect::Dial { .. }, Effect::Mail(MailEffect::Fetch)]
        ),
        "{effects:?}"
    );
    // Once connected, the session's pump sends the outbox (the queued message, with its
    // original id, is in it).
    let effects = opened(&mut app, 4, "bob", Direction::Outgoing { request: chat.0 });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Flush { session } if *session == SessionId(4))),
        "{effects:?}"
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
        reply_to: None,
        sender: None,
        notice: false,
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
        pins: Default::default(),
        contacts: Vec::new(),
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
    let page: Vec<Stored> = (0..100).map(|n| received(1000 + n, n as u128)).collect();
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
    let Some(Effect::Mail(MailEffect::Deposit { peer, key: None })) = effects.get(1) else {
        panic!("{effects:?}")
    };
    assert_eq!(peer, "bob");
    let id = app.chat(chat).unwrap().outbox()[0].0;
    app.update(Action::Deposited {
        peer: "bob".into(),
        ids: vec![id],
    });
    assert_eq!(
        own_states(&app, chat),
        vec![("for later".into(), Delivery::Sent)]
    );
    // Still unacknowledged: the next failure asks again, and the runner deposits only what
    // the store does not mark deposited (see the store tests).
    app.update(Action::ReconnectDue { chat });
    let effects = app.update(Action::DialFailed {
        chat,
        error: "cannot reach bob".into(),
    });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Mail(MailEffect::Deposit { .. }))),
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
        matches!(&effects[..], [Effect::SavePin { .. }, Effect::Mail(MailEffect::Store { peer, .. })] if peer == "bob"),
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
    assert_eq!(effects, vec![Effect::Mail(MailEffect::Discard { mail })]);
    assert!(fresh.pins.get("bob").is_none());
    // Once bob is pinned, a different key is not taken either; as bob may have just rotated
    // his key, the mail stays in the mailbox while the contact list is fetched again.
    let effects = app.update(Action::MailArrived {
        mail,
        sender: "bob".into(),
        key: [0x66; 32],
        message: chat,
    });
    assert_eq!(effects, vec![Effect::LoadContacts]);
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

#[test]
fn messages_to_a_peer_the_directory_no_longer_knows_fail_with_the_reason() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Dial { chat, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let chat = *chat;
    type_line(&mut app, "still there?");
    let reason = "no user named bob on the directory".to_owned();
    let effects = app.update(Action::PeerGone {
        chat,
        reason: reason.clone(),
    });
    assert!(
        matches!(&effects[..], [Effect::MarkFailed { peer, ids, reason: r }] if peer == "bob" && ids.len() == 1 && *r == reason)
    );
    assert_eq!(
        own_states(&app, chat),
        vec![("still there?".into(), Delivery::Failed)]
    );
    assert!(
        app.chat(chat).unwrap().outbox().is_empty(),
        "a failed message is not resent"
    );
    assert!(matches!(app.chat(chat).unwrap().link, Link::Failed { .. }));
}

#[test]
fn unread_messages_from_the_last_run_get_the_new_messages_marker() {
    use crate::store::{Conversation, Stored};
    let mut app = app();
    let conversations = vec![Conversation {
        peer: "bob".into(),
        unread: 2,
    }];
    app.update(Action::StoreLoaded {
        conversations,
        outbox: Vec::new(),
        pins: Default::default(),
        contacts: Vec::new(),
    });
    let chat = app.current.expect("the last conversation is shown");
    let page: Vec<Stored> = (0..5u128).map(|n| received(n as i64, n)).collect();
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::Newest,
        page,
    });
    assert_eq!(
        app.chat(chat).unwrap().first_unread,
        Some(MessageId(uuid::Uuid::from_u128(3)))
    );
}

/// Message `n` from bob as the store returns it, at `seq`.
#[test]
fn what_send_stored_meanwhile_shows_up_with_the_next_contact_reload() {
    use crate::store::Stored;
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let page: Vec<Stored> = (0..3).map(|n| received(1000 + n, n as u128)).collect();
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::Newest,
        page,
    });
    let effects = app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let loads: Vec<_> = effects
        .iter()
        .filter(|e| matches!(e, Effect::LoadHistory { .. }))
        .collect();
    assert_eq!(
        loads,
        [&Effect::LoadHistory {
            chat,
            peer: "bob".into(),
            request: PageRequest::After(1002)
        }]
    );
    // `p2p-chat send bob ...` from this profile stored one of ours meanwhile.
    let sent = Stored {
        outgoing: true,
        text: "sent by a script".into(),
        ..received(1003, 77)
    };
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::After(1002),
        page: vec![sent, received(1001, 1)],
    });
    let texts: Vec<&str> = app
        .chat(chat)
        .unwrap()
        .lines
        .iter()
        .filter(|l| l.id().is_some())
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["m0", "m1", "m2", "sent by a script"],
        "new lines appear once; lines already shown are not repeated"
    );
}

fn received(seq: i64, n: u128) -> crate::store::Stored {
    crate::store::Stored {
        seq,
        id: MessageId(uuid::Uuid::from_u128(n)),
        peer: "bob".into(),
        outgoing: false,
        sent_at_ms: NOW,
        text: format!("m{n}"),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: None,
        notice: false,
    }
}
