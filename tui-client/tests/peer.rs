//! Peer sessions over real loopback TCP: chatting both ways, and hostile or broken peers that
//! are turned away while another peer on the same listener keeps chatting.

use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use p2p_chat::net::{
    self, CloseReason, DialError, Direction, LocalPeer, NetEvent, SessionEvent, SessionHandle,
};
use p2p_chat_protocol::{MAX_FRAME_BYTES, MessageId, PeerCodec, PeerMessage, RefuseReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Encoder, Framed};

/// Generous bound for anything that should happen at once on loopback; only hit on failure.
const PATIENCE: Duration = Duration::from_secs(20);

fn peer(name: &str, port: Option<u16>) -> LocalPeer {
    LocalPeer {
        username: name.to_owned(),
        listen_port: port,
    }
}

async fn next_event(rx: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("event in time")
        .expect("channel open")
}

/// Starts a listener as `name`; returns its address and event receiver.
async fn listen(name: &str) -> (String, mpsc::Receiver<NetEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(net::listener::serve(
        listener,
        peer(name, Some(addr.port())),
        tx,
    ));
    (addr.to_string(), rx)
}

/// A dialled session from `name` to `addr`, with the listener's side of it.
struct Pair {
    client: SessionHandle,
    client_rx: mpsc::Receiver<NetEvent>,
    server: SessionHandle,
}

async fn connect(name: &str, addr: &str, server_rx: &mut mpsc::Receiver<NetEvent>) -> Pair {
    let (tx, mut client_rx) = mpsc::channel(64);
    let client = net::dial(addr, &peer(name, None), 7, tx).await.unwrap();
    let opened = next_event(&mut client_rx).await;
    assert!(matches!(
        opened.event,
        SessionEvent::Opened {
            direction: Direction::Outgoing { request: 7 },
            ..
        }
    ));
    let NetEvent {
        event:
            SessionEvent::Opened {
                handle,
                peer,
                direction,
            },
        ..
    } = next_event(server_rx).await
    else {
        panic!("listener did not open a session")
    };
    assert_eq!(direction, Direction::Incoming);
    assert_eq!(peer.username, name);
    Pair {
        client,
        client_rx,
        server: handle,
    }
}

/// Sends `text` from `from` and checks it arrives on `to_rx` and is acknowledged on `from_rx`.
async fn exchange(
    from: &SessionHandle,
    from_rx: &mut mpsc::Receiver<NetEvent>,
    to_rx: &mut mpsc::Receiver<NetEvent>,
    text: &str,
) {
    let id = MessageId::new();
    from.send_chat(id, 1_700_000_000_000, text.to_owned())
        .await
        .unwrap();
    match next_event(to_rx).await.event {
        SessionEvent::Message {
            id: got,
            sent_at_ms,
            text: got_text,
        } => {
            assert_eq!(
                (got, sent_at_ms, got_text.as_str()),
                (id, 1_700_000_000_000, text)
            );
        }
        other => panic!("expected the message, got {other:?}"),
    }
    match next_event(from_rx).await.event {
        SessionEvent::Delivered { id: acked } => assert_eq!(acked, id),
        other => panic!("expected a receipt, got {other:?}"),
    }
}

/// Writes raw bytes to the listener and returns the frames it answers with until it closes.
async fn hostile(addr: &str, bytes: &[u8]) -> Vec<PeerMessage> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut framed = Framed::new(stream, PeerCodec::new());
    let mut answers = Vec::new();
    while let Some(frame) = tokio::time::timeout(PATIENCE, framed.next())
        .await
        .expect("listener answers")
    {
        answers.push(frame.unwrap());
    }
    answers
}

fn refusal(answers: &[PeerMessage]) -> (RefuseReason, String) {
    match answers {
        [PeerMessage::Refuse { reason, message }] => (reason.clone(), message.clone()),
        other => panic!("expected exactly one refusal, got {other:?}"),
    }
}

fn frame(msg: &PeerMessage) -> Vec<u8> {
    let mut buf = BytesMut::new();
    PeerCodec::new().encode(msg, &mut buf).unwrap();
    buf.to_vec()
}

#[tokio::test]
async fn two_peers_chat_both_ways_and_say_goodbye() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    exchange(&pair.client, &mut pair.client_rx, &mut server_rx, "hi bob").await;
    exchange(
        &pair.server,
        &mut server_rx,
        &mut pair.client_rx,
        "hi alice ✓",
    )
    .await;
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
async fn hostile_peers_are_refused_while_another_keeps_chatting() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;

    let oversize = ((MAX_FRAME_BYTES as u32) + 1).to_be_bytes();
    let (reason, message) = refusal(&hostile(&addr, &oversize).await);
    assert_eq!(reason, RefuseReason::BadHello);
    assert!(message.contains("exceeds"), "{message}");
    exchange(
        &pair.client,
        &mut pair.client_rx,
        &mut server_rx,
        "after oversize",
    )
    .await;

    let garbage = [0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0xff];
    let (reason, message) = refusal(&hostile(&addr, &garbage).await);
    assert_eq!(reason, RefuseReason::BadHello);
    assert!(message.contains("malformed"), "{message}");
    exchange(
        &pair.server,
        &mut server_rx,
        &mut pair.client_rx,
        "after garbage",
    )
    .await;

    let old = PeerMessage::Hello {
        protocol_version: 0,
        username: "mallory".into(),
        client: String::new(),
        listen_port: None,
    };
    let (reason, message) = refusal(&hostile(&addr, &frame(&old)).await);
    assert_eq!(
        reason,
        RefuseReason::VersionMismatch {
            supported: p2p_chat_protocol::PROTOCOL_VERSION
        }
    );
    assert!(message.contains("version"), "{message}");

    let chat_first = PeerMessage::chat("no hello");
    assert_eq!(
        refusal(&hostile(&addr, &frame(&chat_first)).await).0,
        RefuseReason::BadHello
    );

    let bad_name = PeerMessage::hello("NOT A NAME!", None);
    assert_eq!(
        refusal(&hostile(&addr, &frame(&bad_name)).await).0,
        RefuseReason::BadHello
    );

    exchange(
        &pair.client,
        &mut pair.client_rx,
        &mut server_rx,
        "still here",
    )
    .await;
    // None of the hostile connections produced an event on the listener's channel.
    assert!(server_rx.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_dropped_after_the_handshake_timeout() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    // The listener closes the connection without a word once the timeout passes (the paused
    // clock jumps ahead while everything waits).
    let read = tokio::time::timeout(net::HANDSHAKE_TIMEOUT * 2, silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0))), "expected EOF, got {read:?}");
    exchange(
        &pair.client,
        &mut pair.client_rx,
        &mut server_rx,
        "after silence",
    )
    .await;
}

#[tokio::test]
async fn mid_session_garbage_closes_only_that_session() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut good = connect("alice", &addr, &mut server_rx).await;
    // A raw client that completes the handshake and then sends an oversize length prefix.
    let stream = TcpStream::connect(&addr).await.unwrap();
    let mut raw = Framed::new(stream, PeerCodec::new());
    raw.send(PeerMessage::hello("carol", None)).await.unwrap();
    assert!(matches!(
        raw.next().await,
        Some(Ok(PeerMessage::Welcome { .. }))
    ));
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
    // Carol is told why before the connection closes.
    assert!(matches!(
        raw.next().await,
        Some(Ok(PeerMessage::Goodbye { .. }))
    ));
    exchange(
        &good.client,
        &mut good.client_rx,
        &mut server_rx,
        "unaffected",
    )
    .await;
}

#[tokio::test]
async fn dial_errors_name_the_cause() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let (tx, _rx) = mpsc::channel(8);
    let err = net::dial(&addr, &peer("alice", None), 0, tx.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("is the peer running"), "{err}");

    let err = net::dial(
        "no-such-host.invalid:1",
        &peer("alice", None),
        0,
        tx.clone(),
    )
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
    let err = net::dial(&http_addr, &peer("alice", None), 0, tx)
        .await
        .unwrap_err();
    assert!(matches!(err, DialError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("does not speak"), "{err}");
}

#[tokio::test]
async fn a_refusal_reaches_the_dialler_with_its_reason() {
    // A peer that refuses everyone as busy.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(s, PeerCodec::new());
        let _ = framed.next().await;
        let _ = framed
            .send(PeerMessage::Refuse {
                reason: RefuseReason::Busy,
                message: "full".into(),
            })
            .await;
    });
    let (tx, _rx) = mpsc::channel(8);
    let err = net::dial(&addr, &peer("alice", None), 0, tx)
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
