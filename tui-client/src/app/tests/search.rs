//! `update` tests of `/search`: the store is asked, the hits are walked with n/N, each shown in
//! its chat around the hit, Enter stays and Esc ends.

use super::*;
use crate::store::Stored;

fn hit(seq: i64, peer: &str, text: &str) -> Stored {
    Stored {
        seq,
        id: MessageId(uuid::Uuid::from_u128(seq as u128)),
        peer: peer.to_owned(),
        outgoing: false,
        sent_at_ms: NOW,
        text: text.to_owned(),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: None,
        notice: false,
    }
}

fn around(effects: &[Effect]) -> Vec<(String, i64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::LoadHistory {
                peer,
                request: PageRequest::Around(seq),
                ..
            } => Some((peer.clone(), *seq)),
            _ => None,
        })
        .collect()
}

#[test]
fn search_walks_the_hits_in_their_chats() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    let effects = type_line(&mut app, "/search  lunch plans ");
    assert_eq!(
        effects,
        [Effect::Search {
            query: "lunch plans".into()
        }]
    );
    // The hits, newest first: one in carol's conversation (no chat open), one in bob's.
    let effects = app.update(Action::SearchResults {
        query: "lunch plans".into(),
        hits: vec![
            hit(90, "carol", "lunch plans?"),
            hit(40, "bob", "old lunch plans"),
        ],
    });
    let carol = app.chats.iter().find(|c| c.name == "carol").unwrap().id;
    assert_eq!(app.current, Some(carol), "the newest hit's chat is shown");
    assert_eq!(around(&effects), [("carol".into(), 90)]);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Dial { .. })),
        "nothing dialled"
    );
    // Its page comes: the hit is highlighted with a few lines below it.
    let page: Vec<Stored> = (80..=100)
        .map(|s| hit(s, "carol", &format!("m{s}")))
        .collect();
    app.update(Action::HistoryLoaded {
        chat: carol,
        request: PageRequest::Around(90),
        page,
    });
    let chat = app.chat(carol).unwrap();
    assert_eq!(chat.highlight, Some(MessageId(uuid::Uuid::from_u128(90))));
    assert_eq!(chat.scroll, 10 - 3);
    // n: the next (older) hit, in bob's chat; N back.
    let effects = app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('n'),
        KeyModifiers::NONE,
    )));
    assert_eq!(app.current, Some(bob));
    assert_eq!(around(&effects), [("bob".into(), 40)]);
    assert_eq!(app.search.as_ref().unwrap().selected, 1);
    key(&mut app, KeyCode::Char('n'));
    assert!(matches!(&app.notice, Some((_, text)) if text.contains("oldest")));
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('N'),
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.current, Some(carol));
    // Enter stays there and goes back to typing; the letters typed are not eaten.
    key(&mut app, KeyCode::Enter);
    assert!(app.search.is_none());
    assert_eq!(app.focus, Focus::Input);
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.input.value(), "n");
}

#[test]
fn a_search_without_hits_says_so_and_esc_ends_one() {
    let mut app = app();
    connected_to_bob(&mut app);
    type_line(&mut app, "/search zebra");
    app.update(Action::SearchResults {
        query: "zebra".into(),
        hits: Vec::new(),
    });
    assert!(app.search.is_none());
    assert!(matches!(&app.notice, Some((_, text)) if text.contains("no message contains")));
    // A stale answer (the user searched again) is dropped.
    type_line(&mut app, "/search new");
    app.update(Action::SearchResults {
        query: "old".into(),
        hits: vec![hit(1, "bob", "old")],
    });
    assert!(app.search.as_ref().unwrap().hits.is_empty());
    app.update(Action::SearchResults {
        query: "new".into(),
        hits: vec![hit(2, "bob", "new")],
    });
    key(&mut app, KeyCode::Esc);
    assert!(app.search.is_none());
    let bob = app.current.unwrap();
    assert_eq!(app.chat(bob).unwrap().highlight, None);
    // /search needs a text.
    type_line(&mut app, "/search   ");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("usage: /search")));
}

#[test]
fn the_hit_stays_highlighted_until_a_message_is_sent_or_the_chat_left() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    type_line(&mut app, "/search old");
    app.update(Action::SearchResults {
        query: "old".into(),
        hits: vec![hit(1, "bob", "old")],
    });
    app.update(Action::HistoryLoaded {
        chat: bob,
        request: PageRequest::Around(1),
        page: vec![hit(1, "bob", "old")],
    });
    key(&mut app, KeyCode::Enter);
    assert!(
        app.chat(bob).unwrap().highlight.is_some(),
        "Enter stays at the hit"
    );
    type_line(&mut app, "about that");
    assert_eq!(
        app.chat(bob).unwrap().highlight,
        None,
        "sent: the hit has served"
    );
}
