//! A group's history in the window: unread counts from the last run, search hits, and the
//! notices kept in the store.

use super::*;

#[test]
fn a_groups_unread_count_from_the_last_run_comes_with_its_chat() {
    let mut app = app();
    let id = GroupId::new();
    app.update(Action::StoreLoaded {
        conversations: vec![
            crate::store::Conversation {
                peer: crate::store::conversation_key(id),
                unread: 4,
            },
            crate::store::Conversation {
                peer: "bob".into(),
                unread: 1,
            },
        ],
        outbox: Vec::new(),
        pins: crate::pins::Pins::default(),
        contacts: Vec::new(),
    });
    // No chat is made under the store's key; the group's comes with the group.
    assert!(app.chats.iter().all(|c| !c.name.starts_with('#')));
    app.update(Action::Groups(vec![team(
        id,
        &[("alice", true), ("bob", false)],
    )]));
    assert_eq!(group_chat(&app, id).unread, 4);
}

#[test]
fn a_search_hit_in_a_group_shows_the_groups_chat_around_it() {
    let (mut app, id) = with_team();
    let key = crate::store::conversation_key(id);
    assert_eq!(app.conversation_name(&key), "#team");
    assert_eq!(app.conversation_name("bob"), "bob");
    type_line(&mut app, "/search lunch");
    let hit = crate::store::Stored {
        seq: 7,
        id: MessageId(uuid::Uuid::from_u128(7)),
        peer: key.clone(),
        outgoing: false,
        sent_at_ms: NOW,
        text: "lunch?".into(),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: Some("bob".into()),
        notice: false,
    };
    let effects = app.update(Action::SearchResults {
        query: "lunch".into(),
        hits: vec![hit],
    });
    assert_eq!(app.current, Some(group_chat(&app, id).id));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::LoadHistory { peer, request: PageRequest::Around(7), .. } if *peer == key
    )));
    // No chat was made under the store's key.
    assert!(app.chats.iter().all(|c| c.name != key));
}

#[test]
fn a_search_hit_in_a_group_we_left_opens_a_group_chat_that_takes_no_posts() {
    let mut app = app();
    let gone = GroupId::new();
    let key = crate::store::conversation_key(gone);
    type_line(&mut app, "/search old");
    let hit = crate::store::Stored {
        seq: 3,
        id: MessageId(uuid::Uuid::from_u128(3)),
        peer: key.clone(),
        outgoing: false,
        sent_at_ms: NOW,
        text: "old news".into(),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: Some("bob".into()),
        notice: false,
    };
    app.update(Action::SearchResults {
        query: "old".into(),
        hits: vec![hit],
    });
    let chat = group_chat(&app, gone);
    assert_eq!(app.current, Some(chat.id));
    app.focus = Focus::Input;
    app.search = None;
    assert!(
        type_line(&mut app, "hello?").is_empty(),
        "nothing queued or dialled"
    );
}

#[test]
fn group_notices_kept_in_the_store_show_once_in_the_stores_order() {
    let (mut app, id) = with_team();
    let key = crate::store::conversation_key(id);
    let row = |seq: i64, text: &str, notice: bool| crate::store::Stored {
        seq,
        id: MessageId(uuid::Uuid::from_u128(seq as u128)),
        peer: key.clone(),
        outgoing: false,
        sent_at_ms: NOW,
        text: text.into(),
        delivery: Delivery::Delivered,
        detail: None,
        reply_to: None,
        sender: (!notice).then(|| "bob".to_owned()),
        notice,
    };
    // Live: the notice (stored at 5) comes before the post it preceded (stored at 6).
    app.update(Action::GroupNews(GroupNews::Post {
        group: id,
        name: "team".into(),
        sender: "bob".into(),
        id: MessageId(uuid::Uuid::from_u128(6)),
        sent_at_ms: NOW,
        text: "welcome dave".into(),
        seq: 6,
    }));
    app.update(Action::GroupNews(GroupNews::Changed {
        group: id,
        name: "team".into(),
        words: "bob added dave".into(),
        seq: Some(5),
    }));
    let texts = |app: &App| -> Vec<String> {
        group_chat(app, id)
            .lines
            .iter()
            .map(|l| l.text.clone())
            .collect()
    };
    assert_eq!(texts(&app), ["bob added dave", "welcome dave"]);
    // The newest page from the store brings both again (after a restart, only it has them):
    // each shows once, the notice as a notice.
    let chat = group_chat(&app, id).id;
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::Newest,
        page: vec![
            row(5, "bob added dave", true),
            row(6, "welcome dave", false),
        ],
    });
    assert_eq!(texts(&app), ["bob added dave", "welcome dave"]);
    let first = &group_chat(&app, id).lines[0];
    assert_eq!(
        (first.kind.clone(), first.sender.clone()),
        (LineKind::Info, None)
    );
    // An older page with the same notice adds nothing twice.
    app.update(Action::HistoryLoaded {
        chat,
        request: PageRequest::After(4),
        page: vec![row(5, "bob added dave", true)],
    });
    assert_eq!(texts(&app), ["bob added dave", "welcome dave"]);
}
