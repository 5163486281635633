//! What arrives from members: a key that differs from ours, a second group with one of our
//! names, an invitation.

use super::*;

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
