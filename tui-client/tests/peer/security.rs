//! Encryption on the wire, impersonation, and tampered, replayed or truncated ciphertext,
//! through a proxy between the peers.

use p2p_chat::net::{self, CloseReason, DialError, NetEvent, SessionEvent};
use p2p_chat_protocol::MessageId;
use tokio::sync::mpsc;

use crate::support::{connect_as, has_event, listen_as, next_event, peer, proxy};

/// With IK (the dialler knows the key), the dialler's frames are: preamble, Noise message,
/// `Hello`, then its first chat message.
const FIRST_CHAT_FRAME: usize = 3;

fn forward(_: usize, frame: Vec<u8>) -> (Vec<Vec<u8>>, bool) {
    (vec![frame], false)
}

#[tokio::test]
async fn the_wire_never_carries_a_message_in_the_clear() {
    let bob = peer("bob", None);
    let bob_key = *bob.identity.public();
    let (addr, mut bob_rx) = listen_as(bob).await;
    let (via, wire) = proxy(addr, forward).await;
    let alice = peer("alice", None);
    let mut pair = connect_as(&alice, &via, Some(&bob_key), &mut bob_rx).await;
    let secret = "the spare key is under the blue flowerpot";
    pair.client_says(&mut bob_rx, secret).await;
    pair.server_says(&mut bob_rx, "and the code is 4711-0815")
        .await;
    let wire = wire.lock().unwrap().clone();
    assert!(
        wire.len() > 200,
        "the proxy saw the session ({} bytes)",
        wire.len()
    );
    for needle in [secret.as_bytes(), b"4711-0815", b"alice", b"blue flowerpot"] {
        assert!(
            !wire.windows(needle.len()).any(|w| w == needle),
            "{:?} crossed the wire in the clear",
            String::from_utf8_lossy(needle)
        );
    }
}

#[tokio::test]
async fn a_relay_with_its_own_key_is_detected_by_both_sides() {
    let bob = peer("bob", None);
    let bob_key = *bob.identity.public();
    let (bob_addr, mut bob_rx) = listen_as(bob).await;
    let alice = peer("alice", None);
    let alice_key = *alice.identity.public();
    // Mallory answers as "bob" with her own key, and dials bob as "alice" with her own key.
    let (mallory_addr, mut mallory_rx) = listen_as(peer("bob", None)).await;

    let (tx, mut alice_rx) = mpsc::channel(8);
    let err = net::dial(&mallory_addr, &alice, Some(&bob_key), 0, tx)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Handshake { .. }), "{err}");
    assert!(err.to_string().contains("could not prove"), "{err}");
    assert!(
        !has_event(&mut alice_rx),
        "alice's side opened nothing and delivered nothing"
    );
    assert!(
        !has_event(&mut mallory_rx),
        "mallory got no session from alice"
    );

    let mallory_as_alice = peer("alice", None);
    let (tx, _m_rx) = mpsc::channel(8);
    let handle = net::dial(&bob_addr, &mallory_as_alice, Some(&bob_key), 0, tx)
        .await
        .unwrap();
    handle
        .send_chat(MessageId::new(), 0, "hi bob, it's alice".into())
        .await
        .unwrap();
    let NetEvent {
        event: SessionEvent::Opened { peer, .. },
        ..
    } = next_event(&mut bob_rx).await
    else {
        panic!("bob saw no session")
    };
    // Bob's side learns the proven key, which is not alice's: the client refuses it (see the
    // app's pinning tests), so the name alone never lets mallory in.
    assert_eq!(peer.username, "alice");
    assert_ne!(peer.key, alice_key);
    assert_eq!(&peer.key, mallory_as_alice.identity.public());
}

async fn first_chat_through(mangle: crate::support::Mangle) -> Vec<SessionEvent> {
    let bob = peer("bob", None);
    let bob_key = *bob.identity.public();
    let (addr, mut bob_rx) = listen_as(bob).await;
    let (via, _) = proxy(addr, mangle).await;
    let alice = peer("alice", None);
    let pair = connect_as(&alice, &via, Some(&bob_key), &mut bob_rx).await;
    pair.client
        .send_chat(MessageId::new(), 0, "transfer 10 coins to bob".into())
        .await
        .unwrap();
    // Collect bob's events until his session ends.
    let mut events = Vec::new();
    loop {
        let event = next_event(&mut bob_rx).await.event;
        let done = matches!(event, SessionEvent::Closed { .. });
        events.push(event);
        if done {
            return events;
        }
    }
}

fn assert_closed_without_messages(events: &[SessionEvent], expect: &str) {
    let messages = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Message { .. }))
        .count();
    match events.last() {
        Some(SessionEvent::Closed {
            reason: CloseReason::ProtocolError { detail },
        }) => {
            assert!(detail.contains(expect), "{detail}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert_eq!(messages, 0, "a damaged message was shown: {events:?}");
}

#[tokio::test]
async fn a_tampered_ciphertext_closes_the_session_and_shows_nothing() {
    fn flip(index: usize, mut frame: Vec<u8>) -> (Vec<Vec<u8>>, bool) {
        if index == FIRST_CHAT_FRAME {
            let last = frame.len() - 1;
            frame[last / 2 + 2] ^= 0x20;
        }
        (vec![frame], false)
    }
    assert_closed_without_messages(&first_chat_through(flip).await, "authentication");
}

#[tokio::test]
async fn a_replayed_ciphertext_closes_the_session_after_the_original() {
    fn replay(index: usize, frame: Vec<u8>) -> (Vec<Vec<u8>>, bool) {
        let copies = if index == FIRST_CHAT_FRAME { 2 } else { 1 };
        (vec![frame; copies], false)
    }
    let events = first_chat_through(replay).await;
    let messages = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Message { .. }))
        .count();
    assert_eq!(
        messages, 1,
        "the original arrives once, the replay never: {events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(SessionEvent::Closed {
            reason: CloseReason::ProtocolError { .. }
        })
    ));
}

#[tokio::test]
async fn a_truncated_ciphertext_closes_the_session_and_shows_nothing() {
    fn cut(index: usize, mut frame: Vec<u8>) -> (Vec<Vec<u8>>, bool) {
        if index == FIRST_CHAT_FRAME {
            frame.truncate(frame.len() - 5);
            return (vec![frame], true);
        }
        (vec![frame], false)
    }
    assert_closed_without_messages(&first_chat_through(cut).await, "middle of a frame");
}

#[tokio::test]
async fn a_preamble_altered_in_transit_fails_the_handshake() {
    fn downgrade(index: usize, mut frame: Vec<u8>) -> (Vec<Vec<u8>>, bool) {
        // The preamble frame is a 4-byte length, then [version, pattern]: switch IK to XX, as
        // an attacker would to make the acceptor reveal its key to an unauthenticated party.
        if index == 0 {
            frame[5] = 1;
        }
        (vec![frame], false)
    }
    let bob = peer("bob", None);
    let bob_key = *bob.identity.public();
    let (addr, mut bob_rx) = listen_as(bob).await;
    let (via, _) = proxy(addr, downgrade).await;
    let (tx, _rx) = mpsc::channel(8);
    let err = net::dial(&via, &peer("alice", None), Some(&bob_key), 0, tx)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Handshake { .. }), "{err}");
    assert!(!has_event(&mut bob_rx), "bob opened no session");
}
