//! A group made in the chat window reaches a member over a real session, and the member's
//! posts come back into the group's chat.

use p2p_chat::delivery::outbound::{Pump, PumpReport};
use p2p_chat::delivery::sessions::Sessions;
use p2p_chat::groups::{GroupNews, Groups};
use p2p_chat::store::{LocalStore, conversation_key};
use p2p_chat_protocol::group::Member;
use tokio::sync::mpsc;

use crate::support::{PATIENCE, Peer, Window};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_made_in_the_window_reaches_a_member_and_its_posts_come_back() {
    let window = Window::start_with_groups("bob").await;
    let identity = p2p_chat::identity::Identity::generate().unwrap();
    let carol = Member {
        username: "carol".into(),
        key: *identity.public(),
    };
    let peer = Peer::dial_as(identity, "carol", &window.addr).await;
    // carol is met (and pinned) first: her key is the one the group holds.
    window.wait_for_chat("carol").await;
    let (handle, mut rx) = peer.into_parts();
    let store = LocalStore::in_memory().await.unwrap();
    let groups = Groups::load(store.clone(), carol).await.unwrap();
    let mut sessions = Sessions::new(store.clone()).with_groups(groups);
    sessions.admit(handle.id(), "bob".into(), handle.clone());

    window.paste_and_enter("/group new team carol");
    // The window opened the group's chat: what is typed next is a post.
    window.paste_and_enter("hello carol");
    let mut news = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while !news
            .iter()
            .any(|n| matches!(n, GroupNews::Post { text, sender, .. } if text == "hello carol" && sender == "bob"))
        {
            let event = rx.recv().await.expect("the session stays open");
            let taken = sessions.take(vec![event]).await.unwrap();
            news.extend(taken.groups.into_iter().map(|(_, n)| n));
        }
    })
    .await
    .expect("the invitation and the post in time");
    assert!(
        matches!(&news[0], GroupNews::Changed { words, .. } if words == "bob added you to team"),
        "{news:?}"
    );
    let team = sessions.groups().unwrap().find("team").unwrap();

    // carol answers; her frames go out through a pump on the same session.
    sessions
        .groups()
        .unwrap()
        .post(team, "hi bob", None, 1)
        .await
        .unwrap();
    let _pump = Pump::start(
        store,
        "bob".into(),
        handle,
        None::<mpsc::Sender<PumpReport>>,
    );
    let key = conversation_key(team);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        // Receipts for carol's post come back on the session; they are taken as they come.
        while let Ok(event) = rx.try_recv() {
            sessions.take(vec![event]).await.unwrap();
        }
        let stored = window.stored(&key).await;
        if let Some(post) = stored.iter().find(|m| m.text == "hi bob") {
            assert_eq!(post.sender.as_deref(), Some("carol"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "carol's post never stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    window.quit().await;
}
