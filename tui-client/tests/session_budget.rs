//! One budget of sessions that peers open with us, however they arrive: when it is spent, a
//! peer on the relay is refused as busy and a hole punch is not answered. A test binary of its
//! own, since the budget belongs to the whole process.

use std::time::Duration;

use p2p_chat::identity::Identity;
use p2p_chat::net::{self, DialError, LocalPeer, MAX_SESSIONS, SessionEvent, SessionPath};
use p2p_chat_protocol::peer::RefuseReason;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

fn peer(name: &str) -> LocalPeer {
    LocalPeer {
        username: name.to_owned(),
        listen_port: None,
        local_addr: None,
        identity: Identity::generate().unwrap(),
    }
}

/// alice reaches bob over an in-memory "relay"; what alice's dial says.
async fn relayed(
    alice: &LocalPeer,
    bob: &LocalPeer,
) -> (Result<(), DialError>, mpsc::Receiver<net::NetEvent>) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let relay = "203.0.113.10:27182".parse().unwrap();
    let (bob_tx, bob_rx) = mpsc::channel(16);
    tokio::spawn(net::accept_relayed(
        Box::new(theirs),
        relay,
        None,
        bob.clone(),
        bob_tx,
    ));
    let (alice_tx, _alice_rx) = mpsc::channel(16);
    let dialled = net::open_outgoing(
        Box::new(ours),
        SessionPath::Relayed { max_bytes: None },
        "bob on the relay",
        relay,
        alice,
        Some(bob.identity.public()),
        1,
        alice_tx,
    )
    .await;
    (dialled.map(drop), bob_rx)
}

#[tokio::test]
async fn sessions_from_the_relay_and_from_punches_share_the_listeners_budget() {
    let (alice, bob) = (peer("alice"), peer("bob"));
    // Every place taken (by sessions our listener accepted, say).
    let mut held: Vec<_> = std::iter::from_fn(net::listener::incoming_permit).collect();
    assert_eq!(held.len(), MAX_SESSIONS);
    let (refused, _) = relayed(&alice, &bob).await;
    assert!(
        matches!(
            refused,
            Err(DialError::Refused {
                reason: RefuseReason::Busy,
                ..
            })
        ),
        "{refused:?}"
    );
    // A hole punch asked of bob is not answered: the connection closes without a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (dialled, accepted) = tokio::join!(
        tokio::net::TcpStream::connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    let (mut requester, (asked, _)) = (dialled.unwrap(), accepted.unwrap());
    let (tx, mut punch_rx) = mpsc::channel(16);
    net::initiate_punched(asked, "alice", bob.clone(), tx).await;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), requester.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0))), "{read:?}");
    assert!(punch_rx.try_recv().is_err(), "no session");
    // One place free again: the relayed peer gets in.
    held.pop();
    let (opened, mut bob_rx) = relayed(&alice, &bob).await;
    opened.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), bob_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(event.event, SessionEvent::Opened { .. }),
        "{:?}",
        event.event
    );
}
