//! Connection reversal: the peer asked for a hole punch dials our listener instead of crossing
//! our SYN; the listener hands its session to the punch that waits for it, so both sides agree
//! that we dialled.

use p2p_chat::net::{self, Direction, SessionEvent, SessionPath};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::support::{PATIENCE, has_event, listen_as, next_event, peer};

#[tokio::test]
async fn a_punch_answer_that_reaches_our_listener_becomes_our_dial() {
    let alice = peer("alice", None);
    let bob = peer("bob", None);
    let (addr, mut alice_rx) = listen_as(alice.clone()).await;
    let mut awaited = net::reversal::await_peer(&alice, "bob");
    // bob, asked to punch, dials alice's listener and starts the handshake.
    let (bob_tx, mut bob_rx) = mpsc::channel(8);
    let stream = TcpStream::connect(&addr).await.unwrap();
    tokio::spawn(net::initiate_punched(stream, "alice", bob.clone(), bob_tx));
    let reversed = tokio::time::timeout(PATIENCE, awaited.arrived())
        .await
        .expect("the listener hands the session over");
    let (alice_tx, mut punch_rx) = mpsc::channel(8);
    let expected = *bob.identity.public();
    let handle = net::adopt_punched(reversed, "bob", "bob", Some(&expected), 7, alice_tx)
        .await
        .unwrap();
    // alice: our dial (request 7), punched; nothing reported as an incoming session.
    let opened = next_event(&mut punch_rx).await;
    assert_eq!(opened.session, handle.id());
    let SessionEvent::Opened {
        peer, direction, ..
    } = opened.event
    else {
        panic!("opened first")
    };
    assert_eq!(direction, Direction::Outgoing { request: 7 });
    assert_eq!(
        (peer.username.as_str(), peer.path),
        ("bob", SessionPath::Punched)
    );
    assert!(!has_event(&mut alice_rx), "the listener reported nothing");
    // bob: alice dialled him.
    let SessionEvent::Opened {
        direction, peer, ..
    } = next_event(&mut bob_rx).await.event
    else {
        panic!("opened first")
    };
    assert_eq!(direction, Direction::Incoming);
    assert_eq!(peer.username, "alice");
    // Once nobody waits, the listener reports peers as usual.
    drop(awaited);
    let (bob_tx, _bob_rx) = mpsc::channel(8);
    let stream = TcpStream::connect(&addr).await.unwrap();
    tokio::spawn(net::initiate_punched(stream, "alice", bob, bob_tx));
    let SessionEvent::Opened { direction, .. } = next_event(&mut alice_rx).await.event else {
        panic!("opened first")
    };
    assert_eq!(direction, Direction::Incoming);
}

#[tokio::test]
async fn someone_else_answering_a_punch_is_refused() {
    let alice = peer("alice", None);
    let mallory = peer("bob", None);
    let (addr, _alice_rx) = listen_as(alice.clone()).await;
    let mut awaited = net::reversal::await_peer(&alice, "bob");
    let (tx, _rx) = mpsc::channel(8);
    let stream = TcpStream::connect(&addr).await.unwrap();
    tokio::spawn(net::initiate_punched(stream, "alice", mallory, tx));
    let reversed = tokio::time::timeout(PATIENCE, awaited.arrived())
        .await
        .unwrap();
    // The real bob's key is another one.
    let real_bob = *peer("bob", None).identity.public();
    let (tx, _rx) = mpsc::channel(8);
    let refused = net::adopt_punched(reversed, "bob", "bob", Some(&real_bob), 1, tx).await;
    assert!(
        matches!(refused, Err(net::DialError::Handshake { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_requesters_dial_that_reaches_the_asked_listener_is_handed_to_the_punch() {
    let alice = peer("alice", None);
    let bob = peer("bob", None);
    let (bob_addr, mut bob_listener_rx) = listen_as(bob.clone()).await;
    // alice dials from the port she holds for the punch; bob, asked, waits for that dial.
    let held = net::port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
    let alice_addr = held.local_addr().unwrap();
    let mut awaited = net::reversal::await_dial(&bob, alice_addr);
    let stream = net::port::connect_from(alice_addr, bob_addr.parse().unwrap())
        .await
        .unwrap();
    let handed = tokio::time::timeout(PATIENCE, awaited.arrived())
        .await
        .expect("the listener hands the connection over");
    let (bob_tx, mut bob_rx) = mpsc::channel(8);
    tokio::spawn(net::initiate_punched(handed, "alice", bob, bob_tx));
    let (alice_tx, _alice_rx) = mpsc::channel(8);
    let handle = net::answer_punched(stream, "bob", "bob", &alice, None, 3, alice_tx)
        .await
        .expect("alice answers the handshake bob starts");
    let SessionEvent::Opened {
        direction, peer, ..
    } = next_event(&mut bob_rx).await.event
    else {
        panic!("opened first")
    };
    assert_eq!(
        direction,
        Direction::Incoming,
        "alice dialled, on bob's side too"
    );
    assert_eq!(
        (peer.username.as_str(), peer.path),
        ("alice", SessionPath::Punched)
    );
    assert!(
        !has_event(&mut bob_listener_rx),
        "the listener reported nothing"
    );
    drop(handle);
}

#[tokio::test]
async fn a_requesters_dial_that_arrives_before_the_asked_side_waits_is_still_handed_over() {
    let alice = peer("alice", None);
    let bob = peer("bob", None);
    let (bob_addr, mut bob_listener_rx) = listen_as(bob.clone()).await;
    let held = net::port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
    let alice_addr = held.local_addr().unwrap();
    // alice's dial reaches bob's listener first; bob hears of the punch a moment later.
    let stream = net::port::connect_from(alice_addr, bob_addr.parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(net::reversal::LATE_PUNCH / 4).await;
    let mut awaited = net::reversal::await_dial(&bob, alice_addr);
    let handed = tokio::time::timeout(PATIENCE, awaited.arrived())
        .await
        .expect("the silent connection waits for the late punch");
    let (bob_tx, mut bob_rx) = mpsc::channel(8);
    tokio::spawn(net::initiate_punched(handed, "alice", bob, bob_tx));
    let (alice_tx, _alice_rx) = mpsc::channel(8);
    let handle = net::answer_punched(stream, "bob", "bob", &alice, None, 3, alice_tx)
        .await
        .expect("alice answers the handshake bob starts");
    let SessionEvent::Opened { direction, .. } = next_event(&mut bob_rx).await.event else {
        panic!("opened first")
    };
    assert_eq!(direction, Direction::Incoming);
    assert!(
        !has_event(&mut bob_listener_rx),
        "the listener reported nothing"
    );
    drop(handle);
}

#[tokio::test]
async fn a_silent_connection_nobody_claims_goes_to_the_listener_after_the_grace() {
    let alice = peer("alice", None);
    let bob = peer("bob", None);
    let (bob_addr, mut bob_listener_rx) = listen_as(bob.clone()).await;
    let held = net::port::reserve("127.0.0.1:0".parse().unwrap()).unwrap();
    let alice_addr = held.local_addr().unwrap();
    let stream = net::port::connect_from(alice_addr, bob_addr.parse().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(net::reversal::LATE_PUNCH * 2).await;
    // Too late for a punch: the listener has it and answers alice's ordinary handshake.
    let mut awaited = net::reversal::await_dial(&bob, alice_addr);
    let (alice_tx, _alice_rx) = mpsc::channel(8);
    let dialled = net::initiate_punched(stream, "bob", alice, alice_tx);
    let (_, waited) = tokio::join!(
        dialled,
        tokio::time::timeout(net::reversal::LATE_PUNCH, awaited.arrived())
    );
    assert!(waited.is_err(), "the punch got nothing");
    let SessionEvent::Opened {
        direction, peer, ..
    } = next_event(&mut bob_listener_rx).await.event
    else {
        panic!("opened first")
    };
    assert_eq!(direction, Direction::Incoming);
    assert_eq!(peer.username, "alice");
}
