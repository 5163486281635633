//! Group chats in the window: the engine's groups become chats, posts show their sender, and
//! the group commands ask the engine with the members' keys.

use std::collections::BTreeMap;

use p2p_chat_protocol::group::rules::{Group, Standing};
use p2p_chat_protocol::group::{GroupId, GroupOp, Member};

use super::*;
use crate::groups::GroupNews;

mod arrivals;
mod history;

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
