//! Peer sessions over real loopback TCP: chatting both ways, encryption and keys, and hostile
//! or broken peers that are turned away while another peer on the same listener keeps chatting.

mod compat;
mod file_lab;
mod files;
mod groups;
mod reversal;
mod security;
mod support;

use futures::{SinkExt, StreamExt};
use p2p_chat::net::{self, CloseReason, DialError, NetEvent, SessionEvent, handshake};
use p2p_chat_protocol::noise::{Pattern, Preamble};
use p2p_chat_protocol::{MAX_FRAME_BYTES, PROTOCOL_VERSION, PeerCodec, PeerMessage, RefuseReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

use support::{connect, frame, has_event, hostile, listen, next_event, peer, raw_frame, refusal};

#[tokio::test]
async fn two_peers_chat_both_ways_and_say_goodbye() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    pair.client_says(&mut server_rx, "hi bob").await;
    pair.server_says(&mut server_rx, "hi alice ✓").await;
    pair.client.close();
    match next_event(&mut server_rx).await.event {
        SessionEvent::Closed {
            reason: CloseReason::PeerLeft { .. },
        } => {}
        other => panic!("expected the peer to leave, got {other:?}"),
    }
    match next_event(&mut pair.client_rx).await.event {
        SessionEvent::Closed { reason } => assert_eq!(reason, CloseReason::Local),
        other => panic!("expected a local close, got {other:?}"),
    }
}

#[tokio::test]
async fn a_read_receipt_reaches_the_sender_and_the_session_goes_on() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    pair.client_says(&mut server_rx, "read me").await;
    let id = p2p_chat_protocol::MessageId::new();
    pair.server.send_read(id).unwrap();
    match next_event(&mut pair.client_rx).await.event {
        SessionEvent::Read { id: read } => assert_eq!(read, id),
        other => panic!("expected a read receipt, got {other:?}"),
    }
    pair.server_says(&mut server_rx, "seen it").await;
}

#[tokio::test]
async fn hostile_peers_are_refused_while_another_keeps_chatting() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;

    let oversize = ((MAX_FRAME_BYTES as u32) + 1).to_be_bytes();
    let (reason, message) = refusal(&hostile(&addr, &oversize).await);
    assert_eq!(reason, RefuseReason::BadHello);
    assert!(message.contains("exceeds"), "{message}");
    pair.client_says(&mut server_rx, "after oversize").await;

    let garbage = raw_frame(&[0xde, 0xad, 0xbe, 0xef, 0xff]);
    let (reason, message) = refusal(&hostile(&addr, &garbage).await);
    assert_eq!(reason, RefuseReason::BadHello);
    assert!(message.contains("malformed"), "{message}");
    pair.server_says(&mut server_rx, "after garbage").await;

    let old = Preamble {
        protocol_version: 0,
        pattern: Pattern::XX,
    }
    .to_bytes();
    let (reason, message) = refusal(&hostile(&addr, &raw_frame(&old)).await);
    assert_eq!(
        reason,
        RefuseReason::VersionMismatch {
            supported: PROTOCOL_VERSION
        }
    );
    assert!(message.contains("version"), "{message}");

    // A cleartext chat message where the preamble belongs.
    let chat_first = PeerMessage::chat("no handshake");
    assert_eq!(
        refusal(&hostile(&addr, &frame(&chat_first)).await).0,
        RefuseReason::BadHello
    );

    // A preamble followed by garbage instead of a Noise message: dropped without a word.
    let mut bad_noise = raw_frame(
        &Preamble {
            protocol_version: PROTOCOL_VERSION,
            pattern: Pattern::XX,
        }
        .to_bytes(),
    );
    bad_noise.extend(raw_frame(&[1, 2, 3]));
    assert!(hostile(&addr, &bad_noise).await.is_empty());

    // A complete handshake, then a name that breaks the rules.
    let (tx, _rx) = mpsc::channel(8);
    let err = net::dial(&addr, &peer("NOT A NAME!", None), None, 0, tx)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DialError::Refused {
                reason: RefuseReason::BadHello,
                ..
            }
        ),
        "{err}"
    );

    pair.client_says(&mut server_rx, "still here").await;
    // None of the hostile connections produced an event on the listener's channel.
    assert!(!has_event(&mut server_rx));
}

#[tokio::test]
async fn a_silent_connection_is_dropped_after_the_handshake_timeout() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    // The listener closes the connection without a word once the timeout passes: the paused
    // clock jumps ahead while everything waits, so the test does not wait 10 s.
    tokio::time::pause();
    let read = tokio::time::timeout(net::HANDSHAKE_TIMEOUT * 2, silent.read(&mut buf)).await;
    tokio::time::resume();
    assert!(matches!(read, Ok(Ok(0))), "expected EOF, got {read:?}");
    pair.client_says(&mut server_rx, "after silence").await;
}

#[tokio::test]
async fn mid_session_garbage_closes_only_that_session() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut good = connect("alice", &addr, &mut server_rx).await;
    // A client that completes the handshake, then sends an oversize length prefix.
    let stream = TcpStream::connect(&addr).await.unwrap();
    let mut raw = handshake::initiate(Box::new(stream), &peer("carol", None), None)
        .await
        .unwrap()
        .framed;
    let NetEvent {
        session,
        event: SessionEvent::Opened { handle: _carol, .. },
    } = next_event(&mut server_rx).await
    else {
        panic!("no session for carol")
    };
    raw.get_mut()
        .write_all(&u32::MAX.to_be_bytes())
        .await
        .unwrap();
    match next_event(&mut server_rx).await {
        NetEvent {
            session: closed,
            event:
                SessionEvent::Closed {
                    reason: CloseReason::ProtocolError { detail },
                },
        } => {
            assert_eq!(closed, session);
            assert!(detail.contains("exceeds"), "{detail}");
        }
        other => panic!("expected carol's session to close, got {other:?}"),
    }
    // Carol is told why before the connection closes (after the keepalive that measures the
    // round trip, when it went out first).
    let told = loop {
        match raw.next().await {
            Some(Ok(PeerMessage::Ping { .. })) => continue,
            other => break other,
        }
    };
    assert!(
        matches!(told, Some(Ok(PeerMessage::Goodbye { .. }))),
        "{told:?}"
    );
    good.client_says(&mut server_rx, "unaffected").await;
}

#[tokio::test]
async fn dial_errors_name_the_cause() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (tx, _rx) = mpsc::channel(8);
    let alice = peer("alice", None);
    let err = net::dial(&addr, &alice, None, 0, tx.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("is the peer running"), "{err}");

    let err = net::dial("no-such-host.invalid:1", &alice, None, 0, tx.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DialError::Resolve { .. } | DialError::Unreachable { .. }
        ),
        "{err}"
    );

    // Something that is not a p2p-chat peer (here: it answers with HTTP).
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = http.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = http.accept().await.unwrap();
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    });
    let err = net::dial(&http_addr, &alice, None, 0, tx)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("does not speak"), "{err}");
}

#[tokio::test]
async fn a_cleartext_refusal_reaches_the_dialler_with_its_reason() {
    // A peer that refuses everyone as busy, before any handshake.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, PeerCodec::new());
        let _ = framed.next().await;
        let refuse = PeerMessage::Refuse {
            reason: RefuseReason::Busy,
            message: "full".into(),
        };
        let _ = framed.send(refuse).await;
    });
    let (tx, _rx) = mpsc::channel(8);
    let err = net::dial(&addr, &peer("alice", None), None, 0, tx)
        .await
        .unwrap_err();
    match &err {
        DialError::Refused {
            reason: RefuseReason::Busy,
            message,
            ..
        } => assert_eq!(message, "full"),
        other => panic!("expected a busy refusal, got {other:?}"),
    }
    assert!(err.to_string().contains("busy"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_stalled_handshakes_from_many_addresses_cannot_keep_a_real_peer_out() {
    let (addr, mut server_rx) = listen("bob").await;
    let target: std::net::SocketAddr = addr.parse().unwrap();
    // 40 addresses, each as many stalled handshakes as it may have: five times the whole
    // handshake budget, every one of them started with the first bytes of a frame.
    let mut stalled = Vec::new();
    for host in 2..42u8 {
        for _ in 0..net::listener::MAX_HANDSHAKES_PER_ADDR {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::from(([127, 0, 0, host], 0)))
                .unwrap();
            let mut stream = socket.connect(target).await.unwrap();
            stream.write_all(&[0, 0]).await.unwrap();
            stalled.push(stream);
        }
    }
    // A real peer arriving behind all of them gets in at once, without a retry, and is not
    // refused as busy.
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    pair.client_says(&mut server_rx, "through the flood").await;
    drop(stalled);
}

#[tokio::test]
async fn a_pump_that_cannot_read_the_outbox_says_so() {
    use p2p_chat::delivery::outbound::{Pump, PumpReport};
    let (addr, mut server_rx) = listen("bob").await;
    let pair = connect("alice", &addr, &mut server_rx).await;
    let store = p2p_chat::store::LocalStore::in_memory().await.unwrap();
    store.close().await;
    let (tx, mut reports) = mpsc::channel::<PumpReport>(4);
    let _pump = Pump::start(store, "bob".into(), pair.client.clone(), Some(tx));
    let report = tokio::time::timeout(support::PATIENCE, reports.recv())
        .await
        .expect("a report in time");
    let Some(PumpReport::StoreFailed(text)) = report else {
        panic!("{report:?}")
    };
    assert!(text.contains("outbox") && text.contains("bob"), "{text}");
}
