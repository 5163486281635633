//! The chat window's loop (`tui::event_loop`) under load, driven without a terminal: a
//! `TestBackend`, key events from a channel, a real local store on disk, and real peers on
//! loopback sessions. Nothing here may stall: no loop waits on a session it also drains.

mod groups;
mod support;

use p2p_chat_protocol::MessageId;
use support::{PATIENCE, Peer, Window};

/// Messages in the flood: 100,000, the burst that deadlocked `listen` and the window.
const FLOOD: usize = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_100000_messages_is_stored_once_in_order_and_every_one_receipted() {
    let window = Window::start("bob").await;
    let mut flooder = Peer::dial("flooder", &window.addr).await;
    let ids: Vec<MessageId> = (0..FLOOD).map(|_| MessageId::new()).collect();
    flooder.send_all(
        ids.iter()
            .enumerate()
            .map(|(n, id)| (*id, format!("flood {n:06}"))),
    );
    let receipted = flooder.count_receipts(FLOOD, PATIENCE * 30).await;
    assert_eq!(receipted, FLOOD, "receipts");
    let stored = window.stored("flooder").await;
    assert_eq!(stored.len(), FLOOD, "each message stored exactly once");
    let got: Vec<MessageId> = stored.iter().map(|m| m.id).collect();
    assert!(got == ids, "stored in the sender's order");
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_never_freezes_the_other_chats() {
    // 400 messages of 15 KiB wait for "stuck" (far more than the socket buffers hold); it
    // connects, then never reads, so its session's sending waits on TCP.
    let window = Window::start_with_outbox("bob", "stuck", 400, 15 * 1024).await;
    let stuck = Peer::dial_and_stop_reading("stuck", &window.addr).await;
    window.wait_for_chat("stuck").await;
    // Meanwhile another peer chats as usual: every message is stored and receipted.
    let mut other = Peer::dial("carol", &window.addr).await;
    let ids: Vec<MessageId> = (0..5_000).map(|_| MessageId::new()).collect();
    other.send_all(ids.iter().map(|id| (*id, "still here".to_owned())));
    assert_eq!(other.count_receipts(ids.len(), PATIENCE).await, ids.len());
    drop(stuck);
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_message_is_one_frame_and_a_new_session_resends_only_the_unacknowledged_once() {
    let window = Window::start("bob").await;
    let mut peer = Peer::dial("carol", &window.addr).await;
    window.wait_for_chat("carol").await;
    // A healthy session: n typed messages are n chat frames, acknowledged as they come.
    for n in 0..30 {
        window.paste_and_enter(&format!("quick {n}"));
    }
    let first = peer.receive(30, true).await;
    assert_eq!(
        texts(&first),
        (0..30).map(|n| format!("quick {n}")).collect::<Vec<_>>()
    );
    window.wait_delivered("carol", 30).await;
    peer.expect_no_more_after_marker(&window, "marker 1").await;

    // Ten more, not acknowledged; then the session ends and the peer dials again.
    for n in 0..10 {
        window.paste_and_enter(&format!("unacked {n}"));
    }
    let unacked = peer.receive(10, false).await;
    let identity = peer.identity();
    peer.close().await;
    let mut peer = Peer::dial_as(identity, "carol", &window.addr).await;
    // The new session carries the ten unacknowledged messages, each once, in order, and
    // then only what is typed after.
    let resent = peer.receive(10, true).await;
    assert_eq!(ids(&resent), ids(&unacked));
    peer.expect_no_more_after_marker(&window, "marker 2").await;
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_cannot_write_ends_the_session_and_the_message_comes_on_the_next() {
    let window = Window::start("bob").await;
    let peer = Peer::dial("carol", &window.addr).await;
    window.wait_for_chat("carol").await;
    // Another program holds the write lock past the store's busy timeout: the window cannot
    // store the message, so it sends no receipt and ends the session rather than let it
    // count an unacknowledged message for good.
    let lock = window.lock_store().await;
    let id = MessageId::new();
    peer.send_all(std::iter::once((id, "kept".to_owned())));
    let identity = peer.identity();
    peer.expect_closed().await;
    drop(lock);
    // On the next session the sender resends it; it is stored once and receipted.
    let mut peer = Peer::dial_as(identity, "carol", &window.addr).await;
    peer.send_all(std::iter::once((id, "kept".to_owned())));
    assert_eq!(peer.count_receipts(1, PATIENCE).await, 1);
    let stored: Vec<MessageId> = window.stored("carol").await.iter().map(|m| m.id).collect();
    assert_eq!(stored, [id], "stored once");
    window.quit().await;
}

fn texts(messages: &[(MessageId, String)]) -> Vec<String> {
    messages.iter().map(|(_, t)| t.clone()).collect()
}

fn ids(messages: &[(MessageId, String)]) -> Vec<MessageId> {
    messages.iter().map(|(id, _)| *id).collect()
}
