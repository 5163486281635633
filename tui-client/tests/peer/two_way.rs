//! Two transfers at once in opposite directions on one session whose byte stream buffers
//! little (as a slow link or a busy relay does): both must finish, so neither side may stop
//! reading while its own writes wait for the other.

use std::sync::Arc;

use p2p_chat::net::{self, NetEvent, SessionEvent, SessionHandle, SessionPath};
use p2p_chat::store::LocalStore;
use p2p_chat::transfer::policy::Rules;
use p2p_chat::transfer::{Progress, Report, Transfers};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::transfer::MAX_CHUNK_BYTES;
use tokio::sync::mpsc;

use crate::support::{PATIENCE, next_event, peer};

/// A session between alice and bob over an in-memory stream holding `buffer` bytes each
/// way; alice's and bob's handles and event receivers.
async fn squeezed_session(
    buffer: usize,
) -> (
    (SessionHandle, mpsc::Receiver<NetEvent>),
    (SessionHandle, mpsc::Receiver<NetEvent>),
) {
    let (alice, bob) = (peer("alice", None), peer("bob", None));
    let (ours, theirs) = tokio::io::duplex(buffer);
    let addr = "203.0.113.10:27182".parse().unwrap();
    let (bob_tx, mut bob_rx) = mpsc::channel(64);
    tokio::spawn(net::accept_relayed(
        Box::new(theirs),
        addr,
        None,
        bob.clone(),
        bob_tx,
    ));
    let (alice_tx, mut alice_rx) = mpsc::channel(64);
    let path = SessionPath::Relayed { max_bytes: None };
    let alice_handle = net::open_outgoing(
        Box::new(ours),
        path,
        "bob",
        addr,
        &alice,
        Some(bob.identity.public()),
        1,
        alice_tx,
    )
    .await
    .unwrap();
    // Alice's own "opened" event, then bob's.
    opened(&mut alice_rx).await;
    let bob_handle = opened(&mut bob_rx).await;
    ((alice_handle, alice_rx), (bob_handle, bob_rx))
}

/// The handle of the session whose opening is the next event on `rx`.
async fn opened(rx: &mut mpsc::Receiver<NetEvent>) -> SessionHandle {
    match next_event(rx).await.event {
        SessionEvent::Opened { handle, .. } => handle,
        other => panic!("expected an open session, got {other:?}"),
    }
}

/// A transfer engine that takes every offer into `dir`.
async fn engine(dir: &std::path::Path) -> (Transfers, mpsc::UnboundedReceiver<Report>) {
    let store = LocalStore::in_memory().await.unwrap();
    let rules = Rules {
        accept_into: Some(dir.to_owned()),
        download_dir: dir.to_owned(),
        auto_accept_bytes: 0,
    };
    Transfers::new(store, rules)
}

#[tokio::test]
async fn files_sent_both_ways_at_once_over_a_tight_stream_both_arrive() {
    let tmp = tempfile::tempdir().unwrap();
    let (alice_dir, bob_dir) = (tmp.path().join("alice"), tmp.path().join("bob"));
    std::fs::create_dir_all(&alice_dir).unwrap();
    std::fs::create_dir_all(&bob_dir).unwrap();
    // Several credit windows each way; the stream holds a few chunks at most.
    let size = 8 << 20;
    let to_bob: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let to_alice: Vec<u8> = (0..size).map(|i| (i % 241) as u8).collect();
    let (from_alice, from_bob) = (
        tmp.path().join("to-bob.bin"),
        tmp.path().join("to-alice.bin"),
    );
    std::fs::write(&from_alice, &to_bob).unwrap();
    std::fs::write(&from_bob, &to_alice).unwrap();

    let ((alice_handle, mut alice_rx), (bob_handle, mut bob_rx)) =
        squeezed_session(2 * MAX_CHUNK_BYTES).await;
    let (mut alice, mut alice_reports) = engine(&alice_dir).await;
    let (mut bob, mut bob_reports) = engine(&bob_dir).await;
    alice
        .session_opened("bob", alice_handle, false)
        .await
        .unwrap();
    bob.session_opened("alice", bob_handle, false)
        .await
        .unwrap();
    alice
        .offer("bob", &from_alice, Arc::new(Progress::new()))
        .await
        .unwrap();
    bob.offer("alice", &from_bob, Arc::new(Progress::new()))
        .await
        .unwrap();

    // Each engine reports two finished transfers: the file it sent and the one it got.
    let mut finished = 0;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    tokio::time::timeout(PATIENCE, async {
        while finished < 4 {
            tokio::select! {
                Some(NetEvent { event, .. }) = alice_rx.recv() => match event {
                    SessionEvent::File(event) => alice.on_event("bob", event).await.unwrap(),
                    SessionEvent::Closed { reason } => panic!("alice's session closed: {reason:?}"),
                    _ => {}
                },
                Some(NetEvent { event, .. }) = bob_rx.recv() => match event {
                    SessionEvent::File(event) => bob.on_event("alice", event).await.unwrap(),
                    SessionEvent::Closed { reason } => panic!("bob's session closed: {reason:?}"),
                    _ => {}
                },
                Some(report) = alice_reports.recv() => finished += tally(report),
                Some(report) = bob_reports.recv() => finished += tally(report),
                _ = tick.tick() => {
                    alice.tick().await.unwrap();
                    bob.tick().await.unwrap();
                }
            }
        }
    })
    .await
    .expect("both transfers finish: neither side stops reading while it writes");
    assert_eq!(std::fs::read(bob_dir.join("to-bob.bin")).unwrap(), to_bob);
    assert_eq!(
        std::fs::read(alice_dir.join("to-alice.bin")).unwrap(),
        to_alice
    );
}

/// 1 for a finished transfer; panics on an ended one.
fn tally(report: Report) -> usize {
    match report {
        Report::Finished { .. } => 1,
        Report::Ended { transfer, reason } => panic!("{} ended: {reason}", transfer.name),
        _ => 0,
    }
}

#[tokio::test]
async fn chat_floods_both_ways_at_once_over_a_tight_stream_are_all_receipted() {
    let ((alice, mut alice_rx), (bob, mut bob_rx)) = squeezed_session(2 * MAX_CHUNK_BYTES).await;
    const EACH: usize = 1_000;
    for handle in [alice.clone(), bob.clone()] {
        tokio::spawn(async move {
            for n in 0..EACH {
                let text = format!("{n:04} {}", "x".repeat(15 * 1024));
                if handle.send_chat(MessageId::new(), 1, text).await.is_err() {
                    return;
                }
            }
        });
    }
    // Each side acknowledges what it receives and counts its receipts.
    let (mut alice_receipts, mut bob_receipts) = (0, 0);
    tokio::time::timeout(PATIENCE, async {
        while alice_receipts < EACH || bob_receipts < EACH {
            tokio::select! {
                Some(NetEvent { event, .. }) = alice_rx.recv() => match event {
                    SessionEvent::Message { id, .. } => alice.acknowledge(id).unwrap(),
                    SessionEvent::Delivered { .. } => alice_receipts += 1,
                    SessionEvent::Closed { reason } => panic!("alice's session closed: {reason:?}"),
                    _ => {}
                },
                Some(NetEvent { event, .. }) = bob_rx.recv() => match event {
                    SessionEvent::Message { id, .. } => bob.acknowledge(id).unwrap(),
                    SessionEvent::Delivered { .. } => bob_receipts += 1,
                    SessionEvent::Closed { reason } => panic!("bob's session closed: {reason:?}"),
                    _ => {}
                },
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("receipts: alice {alice_receipts}, bob {bob_receipts} of {EACH}"));
}
