//! The group tables: one step stored whole, frames per member, receipts.
use p2p_chat_protocol::group::rules::create;
use p2p_chat_protocol::group::{Member, Seen};

use super::*;

fn member(name: &str) -> Member {
    Member {
        username: name.into(),
        key: [name.len() as u8; 32],
    }
}

/// The ids of `member`'s group frames not yet in the mailbox.
async fn undeposited(store: &LocalStore, member: &str) -> Vec<MessageId> {
    let frames = store.group_undeposited(member).await.unwrap();
    frames.into_iter().map(|(id, _)| id).collect()
}

fn post(group: GroupId, id: MessageId, text: &str) -> PeerMessage {
    PeerMessage::GroupPost {
        group,
        id,
        sent_at_ms: 5,
        text: text.into(),
        reply_to: None,
        seen: Seen::default(),
    }
}

#[tokio::test]
async fn a_group_step_is_stored_whole_and_its_frames_go_out_per_member() {
    let store = LocalStore::in_memory().await.unwrap();
    let group = GroupId::new();
    let first = create(
        &member("alice"),
        "team",
        vec![member("bob"), member("carol")],
        1,
    )
    .unwrap();
    let invite = MessageId::new();
    let invitation = PeerMessage::GroupInvite {
        group,
        id: invite,
        changes: vec![first.clone()],
    };
    let record = GroupRecord {
        id: group,
        name: "team".into(),
        added_by: None,
        member: true,
    };
    let step = GroupStep {
        group: record.clone(),
        changes: vec![first.clone()],
        frames: vec![
            ("bob".into(), invite, invitation.clone()),
            ("carol".into(), invite, invitation.clone()),
        ],
        post: None,
        notice: Some((4, "you created team with bob, carol".into())),
    };
    let created = store.commit_group(&step).await.unwrap();
    assert!(created.post.is_none() && created.notice.is_some());
    // Our first post, to both.
    let hello = MessageId::new();
    let step = GroupStep {
        group: record.clone(),
        changes: Vec::new(),
        frames: vec![
            ("bob".into(), hello, post(group, hello, "hi all")),
            ("carol".into(), hello, post(group, hello, "hi all")),
        ],
        post: Some(GroupPostRow {
            id: hello,
            sender: None,
            sent_at_ms: 5,
            text: "hi all".into(),
            reply_to: None,
        }),
        notice: None,
    };
    let seq = store.commit_group(&step).await.unwrap();
    assert!(seq.post.is_some() && seq.notice.is_none());
    assert_eq!(store.groups().await.unwrap(), vec![record.clone()]);
    assert_eq!(store.group_changes(group).await.unwrap(), vec![first]);
    let page = store
        .page(&conversation_key(group), None, 10)
        .await
        .unwrap();
    // The notice of the creation, then the post, in the order they were stored.
    let lines: Vec<(&str, bool, bool)> = page
        .iter()
        .map(|m| (m.text.as_str(), m.outgoing, m.notice))
        .collect();
    assert_eq!(
        lines,
        [
            ("you created team with bob, carol", false, true),
            ("hi all", true, false)
        ]
    );
    // The group's conversation is listed under its key (for its unread count at start).
    let listed: Vec<String> = store
        .conversations()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.peer)
        .collect();
    assert_eq!(listed, [conversation_key(group)]);
    assert!(is_group_conversation(&listed[0]) && !is_group_conversation("bob"));

    // bob's frames, in order; a receipt for the post takes it off his list only.
    let bobs = store.group_outbox_after("bob", 0, 10).await.unwrap();
    let ids: Vec<MessageId> = bobs.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(ids, [invite, hello]);
    assert_eq!(bobs[0].2, invitation);
    assert_eq!(
        store
            .set_group_delivery("bob", &[hello], Delivery::Delivered)
            .await
            .unwrap(),
        1
    );
    // A receipt never moves back.
    assert_eq!(
        store
            .set_group_delivery("bob", &[hello], Delivery::Sent)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.group_receipts(hello).await.unwrap(),
        [
            ("bob".to_owned(), Delivery::Delivered),
            ("carol".to_owned(), Delivery::Queued)
        ]
    );
    // carol's frames go to the mailbox once: sealed, they count as sent and are not
    // deposited again; bob's delivered one is not deposited at all.
    assert!(
        store
            .group_undeposited("bob")
            .await
            .unwrap()
            .iter()
            .all(|(id, _)| *id != hello)
    );
    assert_eq!(undeposited(&store, "carol").await, [invite, hello]);
    store.mark_group_deposited("carol", invite).await.unwrap();
    assert_eq!(undeposited(&store, "carol").await, [hello]);
    assert_eq!(
        store.group_receipts(invite).await.unwrap(),
        [
            ("bob".to_owned(), Delivery::Queued),
            ("carol".to_owned(), Delivery::Sent)
        ]
    );
    // A receipt that came by mail marks it delivered and names it a group frame.
    assert_eq!(
        store.set_delivered("carol", &[hello]).await.unwrap(),
        [hello]
    );
    assert_eq!(store.set_delivered("carol", &[hello]).await.unwrap(), []);
    let after = bobs[0].0;
    assert!(
        store
            .group_outbox_after("bob", after, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // carol's invitation still waits (sealed in the mailbox, no receipt yet).
    assert_eq!(
        store
            .group_outbox_after("carol", 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // The same post again (a resend) is stored once.
    assert_eq!(
        store.commit_group(&step).await.unwrap(),
        Committed::default()
    );
}

#[tokio::test]
async fn a_step_that_cannot_be_written_leaves_nothing_behind() {
    let store = LocalStore::in_memory().await.unwrap();
    let group = GroupId::new();
    let first = create(&member("alice"), "team", vec![member("bob")], 1).unwrap();
    let huge = MessageId::new();
    let step = GroupStep {
        group: GroupRecord {
            id: group,
            name: "team".into(),
            added_by: None,
            member: true,
        },
        changes: vec![first],
        // Over a frame: it cannot be queued, so the change is not kept either.
        frames: vec![("bob".into(), huge, post(group, huge, &"x".repeat(70_000)))],
        post: None,
        notice: None,
    };
    assert!(store.commit_group(&step).await.is_err());
    assert!(store.groups().await.unwrap().is_empty());
    assert!(store.group_changes(group).await.unwrap().is_empty());
}
