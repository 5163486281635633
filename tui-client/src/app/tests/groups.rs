//! Group chats in the window: the engine's groups become chats, posts show their sender, and
//! the group commands ask the engine with the members' keys.

use std::collections::BTreeMap;

use p2p_chat_protocol::group::rules::{Group, Standing};
use p2p_chat_protocol::group::{GroupId, GroupOp, Member};

use super::*;
use crate::groups::GroupNews;

fn team(id: GroupId, members: &[(&str, bool)]) -> Group {
    Group {
        id,
        name: "team".into(),
        creator: "alice".into(),
        members: members
            .iter()
            .map(|(name, admin)| {
                let standing = Standing {
                    key: key_of(name),
                    admin: *admin,
                };
                ((*name).to_owned(), standing)
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

fn group_chat(app: &App, id: GroupId) -> &Chat {
    app.chats.iter().find(|c| c.group == Some(id)).unwrap()
}

/// alice's window with the contacts bob (online) and carol (offline) and group "team".
fn with_team() -> (App, GroupId) {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("carol", false),
    ]));
    let id = GroupId::new();
    app.update(Action::Groups(vec![team(
        id,
        &[("alice", true), ("bob", false), ("carol", false)],
    )]));
    (app, id)
}

fn open_group(app: &mut App, id: GroupId) {
    let chat = group_chat(app, id).id;
    app.show(chat);
    app.focus = Focus::Input;
}

#[test]
fn a_group_is_a_chat_in_the_contact_list_and_its_posts_show_their_sender() {
    let (mut app, id) = with_team();
    let entry = app
        .entries()
        .into_iter()
        .find(|e| e.name == "#team")
        .unwrap();
    assert_eq!(entry.presence, Presence::Group);
    // bob's post while another chat is shown: unread, with bob as its sender.
    let post = |n: u128, sender: &str| {
        Action::GroupNews(GroupNews::Post {
            group: id,
            name: "team".into(),
            sender: sender.into(),
            id: MessageId(uuid::Uuid::from_u128(n)),
            sent_at_ms: NOW,
            text: format!("hello {n}"),
            seq: i64::try_from(n).unwrap(),
        })
    };
    app.update(post(1, "bob"));
    app.update(post(2, "carol"));
    // A resend (same id) shows once.
    app.update(post(2, "carol"));
    let chat = group_chat(&app, id);
    assert_eq!(chat.unread, 2);
    let senders: Vec<_> = chat.lines.iter().map(|l| l.sender.clone()).collect();
    assert_eq!(senders, [Some("bob".into()), Some("carol".into())]);
    // The posts went to the group's chat only: no chat was made for their senders.
    assert_eq!(app.chats.len(), 1);
    // A change shows as a notice; with nothing else on screen, the group's chat is shown.
    app.update(Action::GroupNews(GroupNews::Changed {
        group: id,
        name: "team".into(),
        words: "alice added dave".into(),
        seq: None,
    }));
    assert_eq!(app.current, Some(group_chat(&app, id).id));
    let last = group_chat(&app, id).lines.last().unwrap();
    assert_eq!(
        (last.kind.clone(), last.text.as_str()),
        (LineKind::Info, "alice added dave")
    );
}

#[test]
fn enter_in_a_group_chat_posts_through_the_engine_and_never_dials() {
    let (mut app, id) = with_team();
    open_group(&mut app, id);
    let effects = type_line(&mut app, "hi all");
    let [
        Effect::Group(GroupEffect::Post {
            group,
            id: post,
            text,
            reply_to: None,
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!((*group, text.as_str()), (id, "hi all"));
    let line = group_chat(&app, id).lines.last().unwrap();
    assert_eq!(line.id(), Some(*post));
    assert!(matches!(
        line.kind,
        LineKind::Own {
            delivery: Delivery::Queued,
            ..
        }
    ));
    // Stored with its frames: on its way.
    app.update(Action::GroupPosted {
        group: id,
        id: *post,
    });
    let line = group_chat(&app, id).lines.last().unwrap();
    assert!(matches!(
        line.kind,
        LineKind::Own {
            delivery: Delivery::Sent,
            ..
        }
    ));
    // After we left, nothing is sent and the text stays in the input; the group commands
    // say why and what to do.
    app.update(Action::Groups(Vec::new()));
    assert!(type_line(&mut app, "anyone?").is_empty());
    assert_eq!(app.input.value(), "anyone?");
    app.input.take();
    assert!(type_line(&mut app, "/members").is_empty());
    assert_eq!(
        app.notice.as_ref().unwrap().1,
        "you are no longer a member of #team — /close removes its chat"
    );
}

#[test]
fn group_commands_ask_the_engine_with_the_members_keys() {
    let (mut app, id) = with_team();
    // Made anywhere: keys from the pins, else from the directory's list.
    app.pins.insert(
        "bob",
        crate::pins::Pin {
            key: [7; 32],
            verified: true,
        },
    );
    let effects = type_line(&mut app, "/group new crew bob carol");
    let expected = GroupEffect::Create {
        name: "crew".into(),
        members: vec![
            Member {
                username: "bob".into(),
                key: [7; 32],
            },
            Member {
                username: "carol".into(),
                key: key_of("carol"),
            },
        ],
    };
    assert_eq!(effects, [Effect::Group(expected)]);
    // Someone neither pinned nor listed cannot be a member: nothing is asked.
    assert!(type_line(&mut app, "/group new crew zed").is_empty());
    assert!(
        app.notice.as_ref().unwrap().1 == "the directory lists nobody called zed — check the name",
        "{:?}",
        app.notice
    );
    // The others act on the shown group chat only.
    assert!(type_line(&mut app, "/leave").is_empty());
    assert!(app.notice.as_ref().unwrap().1.contains("group chat"));
    open_group(&mut app, id);
    let change = |op| vec![Effect::Group(GroupEffect::Change { group: id, op })];
    // alice created team: leaving is asked twice.
    assert!(type_line(&mut app, "/leave").is_empty());
    assert!(app.notice.as_ref().unwrap().1.contains("/leave again"));
    assert_eq!(type_line(&mut app, "/leave"), change(GroupOp::Leave));
    assert_eq!(
        type_line(&mut app, "/remove carol"),
        change(GroupOp::Remove {
            username: "carol".into()
        })
    );
    assert_eq!(
        type_line(&mut app, "/rename the a team"),
        change(GroupOp::Rename {
            name: "the a team".into()
        })
    );
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("carol", false),
        record("dave", true),
    ]));
    open_group(&mut app, id);
    assert_eq!(
        type_line(&mut app, "/invite dave"),
        change(GroupOp::Add {
            member: Member {
                username: "dave".into(),
                key: key_of("dave"),
            }
        })
    );
}

#[test]
fn members_lists_each_with_key_state_and_presence() {
    let (mut app, id) = with_team();
    app.pins.insert(
        "bob",
        crate::pins::Pin {
            key: key_of("bob"),
            verified: true,
        },
    );
    open_group(&mut app, id);
    assert!(type_line(&mut app, "/members").is_empty());
    let lines: Vec<String> = group_chat(&app, id)
        .lines
        .iter()
        .map(|l| l.text.clone())
        .collect();
    assert_eq!(
        lines,
        [
            "3 members of team (created by alice):",
            "alice (you), admin",
            "bob — key verified, online",
            "carol — never met: the directory's key, offline",
        ]
    );
}

#[test]
fn members_that_group_frames_wait_for_are_dialled() {
    let (mut app, _) = with_team();
    let effects = essential(app.update(Action::GroupMembersWaiting(vec![
        "alice".into(),
        "bob".into(),
    ])));
    let dialled: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dial { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(dialled, [DialTarget::Username("bob".into())]);
}

#[test]
fn info_in_a_group_chat_names_who_has_our_post() {
    let (mut app, id) = with_team();
    open_group(&mut app, id);
    assert!(type_line(&mut app, "/info").is_empty());
    let said = |app: &App| group_chat(app, id).lines.last().unwrap().text.clone();
    assert_eq!(said(&app), "no post of yours here to tell about yet");
    let effects = type_line(&mut app, "lunch at noon?");
    let [Effect::Group(GroupEffect::Post { id: post, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.update(Action::GroupReceipts {
        id: *post,
        receipts: vec![
            ("bob".into(), Delivery::Delivered),
            ("carol".into(), Delivery::Sent),
        ],
    });
    assert_eq!(
        group_chat(&app, id).group_receipts[post].len(),
        2,
        "kept for the mark"
    );
    type_line(&mut app, "/info");
    assert_eq!(
        said(&app),
        "your post \"lunch at noon?\": bob has it, carol sent, no receipt yet"
    );
}

#[test]
fn creating_a_group_opens_its_chat_for_the_first_post() {
    let (mut app, _) = with_team();
    let crew = GroupId::new();
    app.update(Action::GroupCreated {
        group: crew,
        name: "crew".into(),
    });
    let chat = group_chat(&app, crew);
    assert_eq!((app.current, chat.name.as_str()), (Some(chat.id), "#crew"));
    assert_eq!(app.focus, Focus::Input);
}

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
fn a_member_key_that_differs_from_ours_is_warned_about_once_in_both_chats() {
    let (mut app, id) = with_team();
    // The group holds key_of("bob"); we pinned another key for bob.
    app.pins.insert(
        "bob",
        crate::pins::Pin {
            key: [9; 32],
            verified: false,
        },
    );
    app.update(Action::Groups(vec![team(
        id,
        &[("alice", true), ("bob", false)],
    )]));
    let warned = |chat: &Chat| {
        chat.lines
            .iter()
            .filter(|l| l.kind == LineKind::Error && l.text.contains("another key for bob"))
            .count()
    };
    assert_eq!(warned(group_chat(&app, id)), 1);
    let bob = app.chats.iter().find(|c| c.name == "bob").unwrap();
    assert_eq!(warned(bob), 1);
    // Told once per run; carol's key (the directory's) agrees with the group's.
    app.update(Action::Groups(vec![team(
        id,
        &[("alice", true), ("bob", false), ("carol", false)],
    )]));
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("carol", true),
    ]));
    assert_eq!(warned(group_chat(&app, id)), 1);
    assert!(
        group_chat(&app, id)
            .lines
            .iter()
            .all(|l| !l.text.contains("for carol"))
    );
}

#[test]
fn a_group_chat_is_no_peer_files_replies_and_failures_go_to_members() {
    let (mut app, id) = with_team();
    // Opened from the contact list: shown, with nothing dialled and no error.
    let row = app
        .entries()
        .iter()
        .position(|e| e.name == "#team")
        .unwrap();
    app.cursor = row;
    app.focus = Focus::Contacts;
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(app.current, Some(group_chat(&app, id).id));
    assert!(
        group_chat(&app, id)
            .lines
            .iter()
            .all(|l| l.kind != LineKind::Error)
    );
    // A file goes to one peer, not to a group.
    assert!(type_line(&mut app, "/send notes.txt").is_empty());
    assert!(app.notice.as_ref().unwrap().1.contains("one peer"));
    // A reply to bob's post quotes bob, not the group.
    app.update(Action::GroupNews(GroupNews::Post {
        group: id,
        name: "team".into(),
        sender: "bob".into(),
        id: MessageId(uuid::Uuid::from_u128(1)),
        sent_at_ms: NOW,
        text: "lunch?".into(),
        seq: 1,
    }));
    type_line(&mut app, "/reply yes");
    let ours = group_chat(&app, id).lines.last().unwrap().text.clone();
    assert!(ours.contains("bob"), "{ours}");
    // A post the engine refused is marked failed, with the reason in the chat.
    let effects = type_line(&mut app, "one more");
    let [Effect::Group(GroupEffect::Post { id: post, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.update(Action::GroupFailed {
        group: Some(id),
        post: Some(*post),
        error: "disk full".into(),
    });
    let chat = group_chat(&app, id);
    let line = chat.lines.iter().find(|l| l.id() == Some(*post)).unwrap();
    assert!(matches!(
        line.kind,
        LineKind::Own {
            delivery: Delivery::Failed,
            ..
        }
    ));
    assert_eq!(chat.lines.last().unwrap().text, "disk full");
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
fn two_groups_with_one_name_get_chats_told_apart_by_their_ids() {
    let (mut app, id) = with_team();
    let other = GroupId::new();
    app.update(Action::Groups(vec![
        team(id, &[("alice", true), ("bob", false)]),
        team(other, &[("alice", false), ("carol", true)]),
    ]));
    let names: Vec<String> = [id, other]
        .iter()
        .map(|g| group_chat(&app, *g).name.clone())
        .collect();
    assert_ne!(names[0], names[1]);
    let tail = id.to_string()[28..].to_owned();
    assert_eq!(names[0], format!("#team ({tail})"));
}

#[test]
fn an_invitation_is_shown_when_no_conversation_is_on_screen() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    // bob's session opened to carry the invitation: his empty chat is on screen.
    opened(&mut app, 1, "bob", Direction::Incoming);
    let bob = app.current.unwrap();
    let id = GroupId::new();
    app.update(Action::GroupNews(GroupNews::Changed {
        group: id,
        name: "team".into(),
        words: "bob added you to team".into(),
        seq: None,
    }));
    assert_eq!(
        app.current,
        Some(group_chat(&app, id).id),
        "the group is shown"
    );
    // With a conversation on screen, the invitation waits as unread instead.
    app.show(bob);
    app.chats.iter_mut().find(|c| c.id == bob).unwrap().receive(
        MessageId::new(),
        NOW,
        "hi".into(),
        Some(1),
    );
    let other = GroupId::new();
    app.update(Action::GroupNews(GroupNews::Changed {
        group: other,
        name: "crew".into(),
        words: "bob added you to crew".into(),
        seq: None,
    }));
    assert_eq!(app.current, Some(bob));
    assert_eq!(group_chat(&app, other).unread, 1);
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
