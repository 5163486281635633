//! Whole-screen tests: the app is driven through its public API the way a user would drive it,
//! drawn on a `TestBackend`, and compared with the snapshots in `snapshots/` (here) or checked
//! for particular facts (`facts`, `interaction`).

mod attention;
mod facts;
mod fixtures;
mod interaction;
mod themes;

use crossterm::event::KeyCode;
use ratatui::style::Modifier;

use fixtures::{chatting, draw, failing, filter, find, press, with_contacts};

#[test]
fn snapshot_welcome() {
    insta::assert_snapshot!("welcome", draw(&with_contacts(), 80, 24).backend());
}

#[test]
fn snapshot_chat() {
    insta::assert_snapshot!("chat", draw(&chatting(), 80, 24).backend());
}

#[test]
fn snapshot_contacts_filtered() {
    let mut app = chatting();
    press(&mut app, KeyCode::Esc);
    filter(&mut app, "a");
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("contacts_filtered", terminal.backend());
    // The cursor row (the first match) is highlighted across the pane, the others are not.
    let buffer = terminal.backend().buffer();
    let carol = find(&terminal, "carol").expect("carol matches /a");
    let dave = find(&terminal, "dave").expect("dave matches /a");
    for x in 1..25 {
        assert!(buffer[(x, carol.y)].modifier.contains(Modifier::REVERSED));
        assert!(!buffer[(x, dave.y)].modifier.contains(Modifier::REVERSED));
    }
}

#[test]
fn snapshot_help() {
    let mut app = chatting();
    press(&mut app, KeyCode::F(1));
    insta::assert_snapshot!("help", draw(&app, 80, 24).backend());
    insta::assert_snapshot!("help_wide", draw(&app, 120, 40).backend());
}

#[test]
fn snapshot_errors() {
    insta::assert_snapshot!("errors", draw(&failing(), 80, 24).backend());
}

#[test]
fn snapshot_key_changed() {
    use crate::app::Action;
    use crate::net::{CloseReason, Direction, SessionId};
    let mut app = chatting();
    app.update(Action::SessionClosed {
        session: SessionId(1),
        reason: CloseReason::PeerLeft {
            reason: String::new(),
        },
    });
    // bob rotated his key; the directory lists the new one.
    let mut contacts = app.contacts.clone();
    contacts[0].public_key = p2p_chat_protocol::validate::key_hex(&[0x66; 32]);
    app.update(Action::ContactsLoaded(contacts));
    let mut impostor = fixtures::peer("bob", 66);
    impostor.key = [0x66; 32];
    app.update(Action::SessionOpened {
        session: SessionId(9),
        peer: impostor,
        direction: Direction::Incoming,
    });
    let terminal = draw(&app, 80, 24);
    let screen = fixtures::text(&terminal);
    assert!(
        screen.contains("Key changed") && screen.contains("/accept"),
        "{screen}"
    );
    assert!(
        screen.contains(&crate::identity::fingerprint(&[0x66; 32])),
        "{screen}"
    );
    insta::assert_snapshot!("key_changed", terminal.backend());
    // Esc hides the warning; the chat title still says the key changed.
    press(&mut app, KeyCode::Esc);
    let screen = fixtures::text(&draw(&app, 80, 24));
    assert!(
        !screen.contains("Key changed ─") && screen.contains("KEY CHANGED"),
        "{screen}"
    );
}

#[test]
fn snapshot_multi_line_messages_and_grapheme_clusters() {
    use crossterm::event::{KeyEvent, KeyModifiers};
    let mut app = chatting();
    // A three-line message with a family joined by zero-width joiners, a flag, a combining
    // accent and a skin tone, none of which may be split.
    fixtures::receive(
        &mut app,
        1,
        90,
        3,
        "first line\nfamily \u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467} flag \u{1f1e9}\u{1f1ea} caf\u{e9} cafe\u{301} \u{1f44d}\u{1f3fd}\nthird line",
    );
    // And a two-line draft in the input box, which grows for it.
    fixtures::type_text(&mut app, "draft one");
    app.update(crate::app::Action::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::ALT,
    )));
    fixtures::type_text(&mut app, "draft two \u{1f1e9}\u{1f1ea}");
    let terminal = draw(&app, 60, 20);
    insta::assert_snapshot!("multi_line", terminal.backend());
    let screen = fixtures::text(&terminal);
    assert!(
        screen.contains("first line") && screen.contains("third line"),
        "{screen}"
    );
    assert!(screen.contains("> draft one"), "{screen}");
}

#[test]
fn snapshot_search_results() {
    use crate::app::Action;
    use crate::store::{Delivery, PageRequest, Stored};
    let mut app = chatting();
    let stored = |seq: i64, peer: &str, outgoing: bool, text: &str| Stored {
        seq,
        id: p2p_chat_protocol::MessageId(uuid::Uuid::from_u128(seq as u128 + 1000)),
        peer: peer.to_owned(),
        outgoing,
        sent_at_ms: fixtures::NOW_MS - 86_400_000 + seq as u64 * 60_000,
        text: text.to_owned(),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: None,
        notice: false,
    };
    fixtures::type_text(&mut app, "/search notes");
    press(&mut app, KeyCode::Enter);
    app.update(Action::SearchResults {
        query: "notes".into(),
        hits: vec![
            stored(7, "bob", false, "the notes, finally\nsecond line"),
            stored(3, "dave", true, "did you read my notes?"),
        ],
    });
    let bob = app.current.expect("bob's chat");
    let page = vec![
        stored(5, "bob", true, "are the notes ready?"),
        stored(6, "bob", false, "almost"),
        stored(7, "bob", false, "the notes, finally\nsecond line"),
        stored(8, "bob", true, "thanks!"),
    ];
    app.update(Action::HistoryLoaded {
        chat: bob,
        request: PageRequest::Around(7),
        page,
    });
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("search", terminal.backend());
    // The hit is highlighted in the chat.
    let hit = find(&terminal, "the notes, finally").expect("the hit in context");
    let lower = find(&terminal, "thanks!").expect("a line after it");
    assert!(lower.y > hit.y);
    let buffer = terminal.backend().buffer();
    assert!(buffer[(hit.x, hit.y)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn snapshot_typing_indicator() {
    use crate::app::Action;
    use crate::net::SessionId;
    let mut app = chatting();
    app.update(Action::Typing {
        session: SessionId(1),
    });
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("typing", terminal.backend());
    assert!(fixtures::text(&terminal).contains("bob is typing…"));
}

#[test]
fn snapshot_reply() {
    let mut app = chatting();
    fixtures::receive(
        &mut app,
        1,
        80,
        2,
        "> alice: hi bob, are you there?\nyes, just back from lunch",
    );
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("reply", terminal.backend());
    // The quote is secondary text, the answer plain.
    let quote = find(&terminal, "> alice: hi bob").expect("the quote");
    let answer = find(&terminal, "yes, just back").expect("the answer");
    assert_eq!(answer.y, quote.y + 1);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer[(quote.x, quote.y)]
            .modifier
            .contains(Modifier::ITALIC)
    );
    assert!(
        !buffer[(answer.x, answer.y)]
            .modifier
            .contains(Modifier::ITALIC)
    );
}
