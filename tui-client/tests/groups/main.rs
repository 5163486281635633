//! The group engine of several profiles, each with its own real store, exchanging the frames
//! their stores queue for each other (as sessions would, each pair in order, a receipt for
//! every frame taken): creating a group, posting, adding and removing members, and what is
//! refused.

mod names;
mod net;

use net::{Net, member};
use p2p_chat::groups::{GroupNews, Groups, Received};
use p2p_chat::store::Delivery;
use p2p_chat_protocol::group::{GroupId, GroupOp, Seen};
use p2p_chat_protocol::{MessageId, PeerMessage};

#[tokio::test]
async fn a_group_is_created_chatted_in_grown_and_shrunk() {
    let mut net = Net::new(&["alice", "bob", "carol", "dave"]).await;
    let team = net.team().await;
    for name in ["alice", "bob", "carol"] {
        assert_eq!(net.members(name, team), ["alice", "bob", "carol"], "{name}");
    }
    assert!(net.profiles["bob"].news.iter().any(|n| matches!(
        n,
        GroupNews::Changed { words, .. } if words == "alice added you to team, with carol"
    )));
    assert!(net.members("dave", team).is_empty(), "dave was not invited");

    let (hi, to) = net
        .get("alice")
        .groups
        .post(team, "hi all", None, 2)
        .await
        .unwrap();
    assert_eq!(to, ["bob", "carol"]);
    net.settle(&[]).await;
    assert_eq!(net.texts("bob", team).await, ["hi all"]);
    assert_eq!(net.texts("carol", team).await, ["hi all"]);
    let receipts = net.get("alice").store.group_receipts(hi).await.unwrap();
    assert!(
        receipts.iter().all(|(_, d)| *d == Delivery::Delivered),
        "{receipts:?}"
    );

    // dave joins: he gets the group, not what was said before.
    let said = net
        .change(
            "alice",
            team,
            GroupOp::Add {
                member: member("dave"),
            },
            3,
        )
        .await;
    assert_eq!(said, "you added dave");
    net.settle(&[]).await;
    for name in ["alice", "bob", "carol", "dave"] {
        assert_eq!(
            net.members(name, team),
            ["alice", "bob", "carol", "dave"],
            "{name}"
        );
    }
    assert!(net.texts("dave", team).await.is_empty());
    net.get("dave")
        .groups
        .post(team, "hello from dave", None, 4)
        .await
        .unwrap();
    net.settle(&[]).await;
    assert_eq!(net.texts("bob", team).await, ["hi all", "hello from dave"]);

    // bob is removed: he hears of it, then nothing more.
    net.change(
        "alice",
        team,
        GroupOp::Remove {
            username: "bob".into(),
        },
        5,
    )
    .await;
    net.settle(&[]).await;
    assert!(net.profiles["bob"].news.iter().any(|n| matches!(
        n,
        GroupNews::Changed { words, .. } if words == "alice removed you"
    )));
    net.get("carol")
        .groups
        .post(team, "without bob", None, 6)
        .await
        .unwrap();
    net.settle(&[]).await;
    assert_eq!(net.texts("bob", team).await, ["hi all", "hello from dave"]);
    assert_eq!(
        net.texts("dave", team).await,
        ["hello from dave", "without bob"]
    );
    assert!(
        net.get("bob")
            .groups
            .post(team, "still here?", None, 7)
            .await
            .is_err(),
        "a removed member cannot post"
    );
    // The groups are read back as they were after a restart.
    let store = net.profiles["carol"].store.clone();
    let again = Groups::load(store, member("carol")).await.unwrap();
    assert_eq!(again.group(team), net.profiles["carol"].groups.group(team));
}

#[tokio::test]
async fn concurrent_changes_while_one_member_is_offline_converge() {
    let mut net = Net::new(&["alice", "bob", "carol", "dave", "erin"]).await;
    let team = net.team().await;
    net.change(
        "alice",
        team,
        GroupOp::MakeAdmin {
            username: "bob".into(),
        },
        2,
    )
    .await;
    net.settle(&[]).await;
    // carol is offline; alice and bob, both admins, change the group at once.
    net.change(
        "alice",
        team,
        GroupOp::Add {
            member: member("dave"),
        },
        3,
    )
    .await;
    net.change(
        "bob",
        team,
        GroupOp::Add {
            member: member("erin"),
        },
        3,
    )
    .await;
    net.change(
        "bob",
        team,
        GroupOp::Rename {
            name: "crew".into(),
        },
        4,
    )
    .await;
    net.settle(&["alice", "bob", "dave", "erin"]).await;
    // carol comes back: everyone, her included, ends with the same group.
    net.settle(&[]).await;
    let expected = ["alice", "bob", "carol", "dave", "erin"];
    for name in expected {
        assert_eq!(net.members(name, team), expected, "{name}");
        let group = net.profiles[name].groups.group(team).unwrap();
        assert_eq!(group.name, "crew", "{name}");
    }
}

#[tokio::test]
async fn frames_from_non_members_forged_keys_or_strangers_are_refused() {
    let mut net = Net::new(&["alice", "bob", "mallory"]).await;
    let team = net
        .get("alice")
        .groups
        .create("team", vec![member("bob")], 1)
        .await
        .unwrap();
    net.settle(&["alice", "bob"]).await;
    let post = |id| PeerMessage::GroupPost {
        group: team,
        id,
        sent_at_ms: 9,
        text: "let me in".into(),
        reply_to: None,
        seen: Seen::default(),
    };
    let bob = &mut net.get("bob").groups;
    // mallory is no member.
    let taken = bob
        .receive("mallory", &member("mallory").key, post(MessageId::new()))
        .await
        .unwrap();
    assert!(
        matches!(taken, Received::Refuse { ref reason, .. } if reason.contains("not a member")),
        "{taken:?}"
    );
    // Someone on alice's name without alice's key.
    let taken = bob
        .receive("alice", &[0xee; 32], post(MessageId::new()))
        .await
        .unwrap();
    assert!(
        matches!(taken, Received::Refuse { ref reason, .. } if reason.contains("key")),
        "{taken:?}"
    );
    // A change passed on by someone who is neither its author nor bob's adder.
    let change = p2p_chat_protocol::group::Change {
        author: "alice".into(),
        seq: 2,
        lamport: 5,
        seen: Seen::default(),
        at_ms: 9,
        op: GroupOp::Add {
            member: member("mallory"),
        },
    };
    let frame = PeerMessage::GroupChange {
        group: team,
        id: MessageId::new(),
        change,
    };
    let taken = bob
        .receive("mallory", &member("mallory").key, frame)
        .await
        .unwrap();
    assert!(matches!(taken, Received::Refuse { .. }), "{taken:?}");
    // An invitation that does not list its sender is refused, and a group mallory made up
    // with bob in it does not list mallory's key for "alice".
    let fake =
        p2p_chat_protocol::group::rules::create(&member("alice"), "fake", vec![member("bob")], 1)
            .unwrap();
    let frame = PeerMessage::GroupInvite {
        group: GroupId::new(),
        id: MessageId::new(),
        changes: vec![fake],
    };
    let taken = bob
        .receive("mallory", &member("mallory").key, frame)
        .await
        .unwrap();
    assert!(matches!(taken, Received::Refuse { .. }), "{taken:?}");
    assert_eq!(net.profiles["bob"].groups.list().count(), 1);
    assert_eq!(net.members("bob", team), ["alice", "bob"]);
}

#[tokio::test]
async fn a_member_cannot_slip_in_changes_by_others() {
    let mut net = Net::new(&["alice", "bob", "carol", "dave"]).await;
    let team = net.team().await;
    // carol forges alice renaming the group, inside an invitation to bob, who is a member
    // already.
    let mut log = p2p_chat_protocol::group::rules::Log::new(
        team,
        net.get("carol").store.group_changes(team).await.unwrap(),
    )
    .unwrap();
    let forged = log
        .propose(
            "alice",
            GroupOp::Rename {
                name: "pwned".into(),
            },
            2,
        )
        .unwrap();
    log.apply(forged.clone()).unwrap();
    let invite = PeerMessage::GroupInvite {
        group: team,
        id: MessageId::new(),
        changes: log.changes().to_vec(),
    };
    let carol_key = member("carol").key;
    let bob = &mut net.get("bob").groups;
    let taken = bob.receive("carol", &carol_key, invite).await.unwrap();
    assert!(
        matches!(taken, Received::Ack { ref news, .. } if news.is_empty()),
        "{taken:?}"
    );
    // The same forgery as a plain change is refused: carol is not its author nor bob's adder.
    let frame = PeerMessage::GroupChange {
        group: team,
        id: MessageId::new(),
        change: forged,
    };
    let taken = bob.receive("carol", &carol_key, frame).await.unwrap();
    assert!(matches!(taken, Received::Refuse { .. }), "{taken:?}");
    assert_eq!(net.members("bob", team), ["alice", "bob", "carol"]);
    assert_eq!(net.profiles["bob"].groups.group(team).unwrap().name, "team");

    // dave's adder may pass on only what the addition had not seen.
    net.change("carol", team, GroupOp::Leave, 3).await;
    net.settle(&[]).await;
    net.change(
        "alice",
        team,
        GroupOp::Add {
            member: member("dave"),
        },
        4,
    )
    .await;
    net.settle(&[]).await;
    let leave = net
        .get("alice")
        .store
        .group_changes(team)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.author == "carol")
        .unwrap();
    let frame = PeerMessage::GroupChange {
        group: team,
        id: MessageId::new(),
        change: leave,
    };
    let alice_key = member("alice").key;
    let taken = net
        .get("dave")
        .groups
        .receive("alice", &alice_key, frame)
        .await
        .unwrap();
    assert!(matches!(taken, Received::Refuse { .. }), "{taken:?}");
}

#[tokio::test]
async fn removed_members_hear_of_no_later_change_and_changes_must_come_with_their_authors_key() {
    let mut net = Net::new(&["alice", "bob", "carol", "dave"]).await;
    let team = net.team().await;
    net.change(
        "alice",
        team,
        GroupOp::Remove {
            username: "bob".into(),
        },
        2,
    )
    .await;
    net.settle(&[]).await;
    net.change(
        "alice",
        team,
        GroupOp::Add {
            member: member("dave"),
        },
        3,
    )
    .await;
    net.settle(&[]).await;
    assert_eq!(
        net.members("bob", team),
        ["alice", "carol"],
        "bob never heard of dave"
    );
    assert_eq!(net.members("carol", team), ["alice", "carol", "dave"]);
    // A change by alice over a session that proves another key is refused, and so is one
    // said to be carol's own, from someone else.
    let mut log = p2p_chat_protocol::group::rules::Log::new(
        team,
        net.get("alice").store.group_changes(team).await.unwrap(),
    )
    .unwrap();
    let rename = log
        .propose("alice", GroupOp::Rename { name: "x".into() }, 4)
        .unwrap();
    let frame = |change| PeerMessage::GroupChange {
        group: team,
        id: MessageId::new(),
        change,
    };
    let carol = &mut net.get("carol").groups;
    let taken = carol
        .receive("alice", &[0xee; 32], frame(rename))
        .await
        .unwrap();
    assert!(
        matches!(taken, Received::Refuse { ref reason, .. } if reason.contains("key")),
        "{taken:?}"
    );
    let ours = log.propose("carol", GroupOp::Leave, 5);
    let ours = ours.unwrap();
    log.apply(ours.clone()).unwrap();
    let taken = carol
        .receive("dave", &member("dave").key, frame(ours))
        .await
        .unwrap();
    assert!(matches!(taken, Received::Refuse { .. }), "{taken:?}");
    assert_eq!(net.members("carol", team), ["alice", "carol", "dave"]);
}
