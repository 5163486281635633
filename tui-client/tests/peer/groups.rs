//! Groups over real loopback sessions: frames queued by one profile's group engine go out
//! through its pump, are judged and stored by the other's, and come back as receipts.

use p2p_chat::delivery::sessions::Sessions;
use p2p_chat::groups::{GroupNews, Groups};
use p2p_chat::net::{LocalPeer, NetEvent};
use p2p_chat::store::{Delivery, LocalStore, conversation_key};
use p2p_chat_protocol::group::Member;
use tokio::sync::mpsc;

use crate::support::{PATIENCE, connect_as, listen_as, peer};

fn member_of(local: &LocalPeer) -> Member {
    Member {
        username: local.username.clone(),
        key: *local.identity.public(),
    }
}

async fn sessions_of(local: &LocalPeer) -> (Sessions, LocalStore) {
    let store = LocalStore::in_memory().await.unwrap();
    let groups = Groups::load(store.clone(), member_of(local)).await.unwrap();
    (Sessions::new(store.clone()).with_groups(groups), store)
}

/// Takes events from `rx` into `sessions` until `done` says so, gathering group news.
async fn drive(
    sessions: &mut Sessions,
    rx: &mut mpsc::Receiver<NetEvent>,
    news: &mut Vec<GroupNews>,
    done: impl Fn(&[GroupNews]) -> bool,
) {
    tokio::time::timeout(PATIENCE, async {
        while !done(news) {
            let event = rx.recv().await.expect("the session stays open");
            let taken = sessions.take(vec![event]).await.unwrap();
            news.extend(taken.groups.into_iter().map(|(_, n)| n));
        }
    })
    .await
    .expect("group news in time");
}

#[tokio::test]
async fn a_group_post_crosses_a_real_session_and_is_receipted() {
    let (alice, bob) = (peer("alice", None), peer("bob", None));
    let (addr, mut bob_rx) = listen_as(bob.clone()).await;
    let pair = connect_as(&alice, &addr, None, &mut bob_rx).await;
    let (mut alice_sessions, alice_store) = sessions_of(&alice).await;
    let (mut bob_sessions, bob_store) = sessions_of(&bob).await;
    let team = alice_sessions
        .groups()
        .unwrap()
        .create("team", vec![member_of(&bob)], 1)
        .await
        .unwrap();
    let (hi, _) = alice_sessions
        .groups()
        .unwrap()
        .post(team, "hi bob", None, 2)
        .await
        .unwrap();
    alice_sessions.admit(pair.client.id(), "bob".into(), pair.client.clone());
    bob_sessions.admit(pair.server.id(), "alice".into(), pair.server.clone());

    let mut news = Vec::new();
    drive(&mut bob_sessions, &mut bob_rx, &mut news, |n| {
        n.iter()
            .any(|n| matches!(n, GroupNews::Post { text, .. } if text == "hi bob"))
    })
    .await;
    assert!(matches!(
        &news[0],
        GroupNews::Changed { words, .. } if words == "alice added you to team"
    ));
    let page = bob_store
        .page(&conversation_key(team), None, 10)
        .await
        .unwrap();
    // The invitation's notice, then the post.
    let kinds: Vec<(bool, &str)> = page.iter().map(|m| (m.notice, m.text.as_str())).collect();
    assert_eq!(
        kinds,
        [(true, "alice added you to team"), (false, "hi bob")]
    );
    // The receipts come back to alice and are recorded per member.
    let mut alice_rx = pair.client_rx;
    tokio::time::timeout(PATIENCE, async {
        loop {
            let receipts = alice_store.group_receipts(hi).await.unwrap();
            if receipts == [("bob".to_owned(), Delivery::Delivered)] {
                return;
            }
            if let Some(event) = alice_rx.recv().await {
                alice_sessions.take(vec![event]).await.unwrap();
            }
        }
    })
    .await
    .expect("bob's receipt in time");
}

#[tokio::test]
async fn a_pump_reports_how_far_each_group_frame_got_once_it_is_handed_over() {
    use p2p_chat::delivery::outbound::{Pump, PumpReport};
    let (alice, bob) = (peer("alice", None), peer("bob", None));
    let (addr, mut bob_rx) = listen_as(bob.clone()).await;
    let pair = connect_as(&alice, &addr, None, &mut bob_rx).await;
    let (mut alice_sessions, alice_store) = sessions_of(&alice).await;
    let groups = alice_sessions.groups().unwrap();
    let team = groups
        .create("team", vec![member_of(&bob)], 1)
        .await
        .unwrap();
    let (hi, _) = groups.post(team, "hi bob", None, 2).await.unwrap();
    // Waiting, nothing handed over yet: queued for bob.
    assert_eq!(
        alice_store.group_receipts(hi).await.unwrap(),
        [("bob".to_owned(), Delivery::Queued)]
    );
    let (tx, mut reports) = mpsc::channel::<PumpReport>(16);
    let _pump = Pump::start(
        alice_store.clone(),
        "bob".into(),
        pair.client.clone(),
        Some(tx),
    );
    let mut got = Vec::new();
    while got.len() < 2 {
        let report = tokio::time::timeout(PATIENCE, reports.recv())
            .await
            .expect("a report in time")
            .expect("the pump runs");
        if let PumpReport::GroupReceipts { id, receipts } = report {
            got.push((id, receipts));
        }
    }
    // The invitation, then the post: each now sent to bob.
    assert_eq!(got[1], (hi, vec![("bob".to_owned(), Delivery::Sent)]));
    assert_eq!(got[0].1, [("bob".to_owned(), Delivery::Sent)]);
}
