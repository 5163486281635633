//! Unit tests of what draws the user's attention: the bell, the "new messages" marker, Alt+A,
//! presence notices and read receipts.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::app::attention::BELL_MIN_INTERVAL_MS;

/// Message `n` from the peer on `session`.
fn message(app: &mut App, session: u64, n: u128) -> Vec<Effect> {
    app.update(Action::MessageReceived {
        session: SessionId(session),
        seq: n as i64,
        id: MessageId(uuid::Uuid::from_u128(n)),
        sent_at_ms: NOW,
        text: format!("message {n}"),
    })
}

fn bells(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| **e == Effect::Bell).count()
}

fn alt(app: &mut App, c: char) -> Vec<Effect> {
    essential(app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::ALT,
    ))))
}

/// Alice chatting with bob (shown, session 1), carol connected on session 2 in the background.
fn with_carol() -> (App, ChatId, ChatId) {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    opened(&mut app, 2, "carol", Direction::Incoming);
    let carol = app.chats.iter().find(|c| c.name == "carol").unwrap().id;
    (app, bob, carol)
}

#[test]
fn the_bell_rings_for_chats_not_shown_once_per_burst_and_never_when_off() {
    // A clock this test moves by hand.
    static MOVED_MS: AtomicU64 = AtomicU64::new(0);
    fn moved() -> u64 {
        NOW + MOVED_MS.load(Ordering::Relaxed)
    }
    let (mut app, _, _) = with_carol();
    app.clock = moved;
    assert_eq!(bells(&message(&mut app, 1, 1)), 0, "bob's chat is shown");
    assert_eq!(bells(&message(&mut app, 2, 2)), 1, "carol's is not");
    MOVED_MS.store(BELL_MIN_INTERVAL_MS - 1, Ordering::Relaxed);
    assert_eq!(bells(&message(&mut app, 2, 3)), 0, "a burst rings once");
    MOVED_MS.store(BELL_MIN_INTERVAL_MS, Ordering::Relaxed);
    assert_eq!(
        bells(&message(&mut app, 2, 4)),
        1,
        "rings again after a pause"
    );

    let (mut quiet, _, _) = with_carol();
    quiet.bell = false;
    assert_eq!(bells(&message(&mut quiet, 2, 2)), 0);
    assert_eq!(quiet.chats.iter().map(|c| c.unread).sum::<usize>(), 1);
}

#[test]
fn a_message_from_the_mailbox_rings_too() {
    let mut app = app();
    let effects = app.update(Action::MailStored {
        peer: "dave".into(),
        seq: 1,
        id: MessageId::new(),
        sent_at_ms: NOW,
        text: "left for you".into(),
    });
    assert_eq!(bells(&effects), 1);
}

#[test]
fn the_new_messages_marker_sits_on_the_first_unread_until_seen() {
    let (mut app, bob, carol) = with_carol();
    message(&mut app, 1, 1);
    assert_eq!(app.chat(bob).unwrap().first_unread, None, "read as it came");
    message(&mut app, 2, 2);
    message(&mut app, 2, 3);
    let first = Some(MessageId(uuid::Uuid::from_u128(2)));
    assert_eq!(app.chat(carol).unwrap().first_unread, first);
    // Shown: the marker stays while the user reads, also when more arrives.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Right,
        KeyModifiers::ALT,
    )));
    assert_eq!(app.current, Some(carol));
    message(&mut app, 2, 4);
    assert_eq!(app.chat(carol).unwrap().first_unread, first);
    // Switching away clears it; the next message while away sets it anew.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Right,
        KeyModifiers::ALT,
    )));
    assert_eq!(app.chat(carol).unwrap().first_unread, None);
    message(&mut app, 2, 5);
    let fifth = Some(MessageId(uuid::Uuid::from_u128(5)));
    assert_eq!(app.chat(carol).unwrap().first_unread, fifth);
    // Answering clears it too.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Right,
        KeyModifiers::ALT,
    )));
    type_line(&mut app, "sorry, was away");
    assert_eq!(app.chat(carol).unwrap().first_unread, None);
}

#[test]
fn alt_a_jumps_to_the_next_chat_with_unread_messages() {
    let (mut app, bob, carol) = with_carol();
    opened(&mut app, 3, "dave", Direction::Incoming);
    let dave = app.chats.iter().find(|c| c.name == "dave").unwrap().id;
    alt(&mut app, 'a');
    assert_eq!(app.current, Some(bob), "nothing unread: nothing moves");
    assert!(matches!(&app.notice, Some((Level::Info, text)) if text.contains("no unread")));

    message(&mut app, 3, 1);
    message(&mut app, 2, 2);
    alt(&mut app, 'a');
    assert_eq!(app.current, Some(carol), "the first after the current one");
    assert_eq!(app.focus, Focus::Input);
    alt(&mut app, 'a');
    assert_eq!(app.current, Some(dave));
    assert_eq!(app.entries().iter().map(|e| e.unread).sum::<usize>(), 0);
}

#[test]
fn a_contact_coming_online_is_announced_in_its_chat() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    let announced = |app: &App| {
        app.chat(bob)
            .unwrap()
            .lines
            .iter()
            .filter(|l| l.text == "bob is online")
            .count()
    };
    assert_eq!(announced(&app), 0, "not on the first contact list");
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    assert_eq!(announced(&app), 0, "online before, online now");
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    assert_eq!(announced(&app), 0, "connected anyway: nothing to announce");
    app.update(Action::SessionClosed {
        session: crate::net::SessionId(1),
        reason: crate::net::CloseReason::PeerLeft {
            reason: String::new(),
        },
    });
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    assert_eq!(announced(&app), 1, "offline, then online");
}

#[test]
fn entries_carry_last_seen_and_the_app_keeps_the_time() {
    let mut app = app();
    app.now_ms = 0;
    let mut carol = record("carol", false);
    carol.last_seen = Utc.timestamp_millis_opt(NOW as i64 - 300_000).unwrap();
    let mut never = record("dave", false);
    never.last_seen = chrono::DateTime::UNIX_EPOCH;
    app.update(Action::ContactsLoaded(vec![carol, never]));
    assert_eq!(app.now_ms, NOW, "set from the clock by every action");
    let seen: Vec<Option<u64>> = app.entries().iter().map(|e| e.last_seen_ms).collect();
    assert_eq!(seen, [Some(NOW - 300_000), None]);
}

#[test]
fn read_receipts_are_off_by_default_and_name_the_newest_message_on_screen() {
    let sent_reads = |effects: &[Effect]| -> Vec<(SessionId, MessageId)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SendRead { session, id } => Some((*session, *id)),
                _ => None,
            })
            .collect()
    };
    let nth = |n: u128| MessageId(uuid::Uuid::from_u128(n));
    let (mut app, _, _) = with_carol();
    assert!(sent_reads(&message(&mut app, 1, 1)).is_empty(), "off");
    assert!(!app.settings.read_receipts);

    let effects = type_line(&mut app, "/receipts on");
    assert_eq!(sent_reads(&effects), [(SessionId(1), nth(1))]);
    assert!(matches!(&app.notice, Some((Level::Info, text)) if text.contains("on")));
    assert!(sent_reads(&key(&mut app, KeyCode::Left)).is_empty(), "once");
    assert_eq!(
        sent_reads(&message(&mut app, 1, 2)),
        [(SessionId(1), nth(2))]
    );
    // Carol's message waits until her chat is shown.
    assert!(sent_reads(&message(&mut app, 2, 3)).is_empty());
    assert_eq!(
        sent_reads(&app.update(Action::Key(KeyEvent::new(
            KeyCode::Right,
            KeyModifiers::ALT
        )))),
        [(SessionId(2), nth(3))]
    );

    type_line(&mut app, "/receipts off");
    assert!(sent_reads(&message(&mut app, 2, 4)).is_empty());
}

#[test]
fn a_read_receipt_marks_our_messages_up_to_it_read() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    type_line(&mut app, "one");
    type_line(&mut app, "two");
    type_line(&mut app, "three");
    let own: Vec<MessageId> = app
        .chat(bob)
        .unwrap()
        .lines
        .iter()
        .filter_map(|l| match l.kind {
            LineKind::Own { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    app.update(Action::Read {
        session: SessionId(1),
        id: own[1],
    });
    let read = &app.chat(bob).unwrap().read;
    assert!(read.contains(&own[0]) && read.contains(&own[1]));
    assert!(!read.contains(&own[2]), "not yet on the peer's screen");
}

#[test]
fn pushed_presence_updates_the_list_at_once_and_sends_what_waits() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", false)]));
    // A message for bob waits while he is offline.
    let effects = key(&mut app, KeyCode::Enter);
    let Some(Effect::Dial { chat, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    app.update(Action::DialFailed {
        chat,
        error: "connection refused".into(),
    });
    type_line(&mut app, "are you there?");
    app.update(Action::DialFailed {
        chat,
        error: "connection refused".into(),
    });
    assert!(matches!(
        app.chat(chat).unwrap().link,
        crate::app::Link::Reconnecting { .. }
    ));
    // The directory pushes that bob came online: listed online, and dialled with the message.
    let effects = app.update(Action::Presence {
        username: "bob".into(),
        online: true,
    });
    let bob = app.entries().into_iter().find(|e| e.name == "bob").unwrap();
    assert_eq!(bob.presence, crate::app::Presence::Online);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Dial { .. })),
        "{effects:?}"
    );
    app.update(Action::Presence {
        username: "bob".into(),
        online: false,
    });
    let bob = app.entries().into_iter().find(|e| e.name == "bob").unwrap();
    assert_eq!(bob.presence, crate::app::Presence::Offline);
    // Strangers' presence changes nothing.
    assert!(
        app.update(Action::Presence {
            username: "zed".into(),
            online: true
        })
        .is_empty()
    );
    // A mail notice fetches the mailbox; a reopened signaling connection catches up.
    assert_eq!(
        app.update(Action::MailNotice),
        vec![Effect::Mail(MailEffect::Fetch)]
    );
    assert_eq!(
        app.update(Action::SignalingOpened { observed: None }),
        vec![Effect::LoadContacts]
    );
}

#[test]
fn a_muted_chat_counts_unread_but_never_rings_and_the_change_is_saved() {
    let saved = |effects: &[Effect]| -> Vec<crate::config::Change> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SaveSetting(change) => Some(change.clone()),
                _ => None,
            })
            .collect()
    };
    let (mut app, _, carol) = with_carol();
    let effects = type_line(&mut app, "/mute carol");
    assert_eq!(
        saved(&effects),
        [crate::config::Change::Mute("carol".into(), true)]
    );
    assert!(app.settings.mute.contains("carol"));
    assert_eq!(bells(&message(&mut app, 2, 1)), 0, "muted");
    assert_eq!(app.chat(carol).unwrap().unread, 1, "still counted");
    // Muting twice saves nothing new; unmuting the shown chat needs no name.
    assert!(saved(&type_line(&mut app, "/mute carol")).is_empty());
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Right,
        KeyModifiers::ALT,
    )));
    let effects = type_line(&mut app, "/unmute");
    assert_eq!(
        saved(&effects),
        [crate::config::Change::Mute("carol".into(), false)]
    );
    assert!(app.settings.mute.is_empty());
    assert!(matches!(&app.notice, Some((Level::Info, text)) if text.contains("unmuted")));
    // /receipts on|off is saved too; asking which is in force saves nothing.
    let effects = type_line(&mut app, "/receipts on");
    assert_eq!(saved(&effects), [crate::config::Change::ReadReceipts(true)]);
    assert!(saved(&type_line(&mut app, "/receipts")).is_empty());
    // A failed save says so and keeps the setting for the run.
    app.update(Action::SettingNotSaved(
        "cannot write config.toml: read-only".into(),
    ));
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("this run only")));
    assert!(app.settings.read_receipts);
    // Bad arguments are refused with the usage.
    type_line(&mut app, "/mute ../bob");
    assert!(matches!(&app.notice, Some((Level::Error, _))));
}

#[test]
fn a_notification_names_the_sender_and_shows_text_only_when_asked() {
    let notices = |effects: &[Effect]| -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Notify { body, .. } => Some(body.clone()),
                _ => None,
            })
            .collect()
    };
    let (mut app, _, _) = with_carol();
    assert_eq!(
        notices(&message(&mut app, 1, 1)),
        Vec::<String>::new(),
        "bob's chat is shown"
    );
    assert_eq!(notices(&message(&mut app, 2, 2)), ["message from carol"]);

    let (mut app, _, _) = with_carol();
    app.settings.notification_text = true;
    assert_eq!(notices(&message(&mut app, 2, 3)), ["carol: message 3"]);

    // Off: the bell alone; --no-bell too: nothing.
    let (mut app, _, _) = with_carol();
    app.settings.notifications = crate::notify::Setting::Off;
    let effects = message(&mut app, 2, 4);
    assert!(notices(&effects).is_empty());
    assert_eq!(bells(&effects), 1);
    let (mut app, _, _) = with_carol();
    app.bell = false;
    let effects = message(&mut app, 2, 5);
    assert_eq!((bells(&effects), notices(&effects).len()), (0, 1));
}
