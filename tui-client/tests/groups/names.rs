//! Group names: unique among our own groups, and a name another member's group shares with
//! one of ours asks for the id.

use p2p_chat::groups::GroupsError;
use p2p_chat_protocol::group::GroupOp;

use crate::net::{Net, member};

#[tokio::test]
async fn names_of_our_groups_are_unique_and_a_shared_one_asks_for_the_id() {
    let mut net = Net::new(&["alice", "bob", "carol"]).await;
    let team = net.team().await;
    let alice = &mut net.get("alice").groups;
    let again = alice.create("team", vec![member("bob")], 3).await;
    assert!(
        matches!(&again, Err(GroupsError::NameTaken(name)) if name == "team"),
        "{again:?}"
    );
    let crew = alice
        .create("crew", vec![member("carol")], 4)
        .await
        .unwrap();
    let renamed = alice
        .change(
            crew,
            GroupOp::Rename {
                name: "team".into(),
            },
            5,
        )
        .await;
    assert!(
        matches!(renamed, Err(GroupsError::NameTaken(_))),
        "{renamed:?}"
    );
    // bob makes a "crew" of his own with alice: her two groups called crew are told apart
    // by their ids.
    let bobs = net
        .get("bob")
        .groups
        .create("crew", vec![member("alice")], 6)
        .await
        .unwrap();
    net.settle(&[]).await;
    let alice = &net.get("alice").groups;
    match alice.find("crew") {
        Err(GroupsError::Ambiguous { ids, .. }) => {
            let mut expected = vec![crew.to_string(), bobs.to_string()];
            let mut ids = ids;
            expected.sort();
            ids.sort();
            assert_eq!(ids, expected);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(alice.find(&bobs.to_string()).unwrap(), bobs);
    assert_eq!(alice.find("team").unwrap(), team);
}
