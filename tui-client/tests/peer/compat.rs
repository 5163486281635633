//! A peer of the release before features (empty handshake payloads, nine messages) and this
//! release chat both ways, and it is never sent a message it could not decode (`Typing`,
//! `Reply`: a reply reaches it as a chat with the same quoted text); two peers of this release
//! see each other typing and know which message a reply answers.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use p2p_chat::identity::Identity;
use p2p_chat::net::{self, NetEvent, SessionEvent};
use p2p_chat_protocol::noise::{Pattern, Preamble, SecureCodec, raw_codec};
use p2p_chat_protocol::peer::LEGACY_KNOWN_MESSAGES;
use p2p_chat_protocol::{MessageId, PeerMessage};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

use crate::support::{PATIENCE, connect, listen, next_event, peer};

type Legacy = Framed<TcpStream, SecureCodec>;

/// The Noise part of the handshake as releases before features ran it: empty payloads
/// written, payloads read and ignored.
async fn legacy_noise(
    raw: &mut Framed<TcpStream, p2p_chat_protocol::noise::RawCodec>,
    mut state: snow::HandshakeState,
) -> snow::TransportState {
    let mut buf = vec![0u8; 65535];
    while !state.is_handshake_finished() {
        if state.is_my_turn() {
            let len = state.write_message(&[], &mut buf).unwrap();
            raw.send(Bytes::copy_from_slice(&buf[..len])).await.unwrap();
        } else {
            let frame = raw.next().await.unwrap().unwrap();
            state.read_message(&frame, &mut buf).unwrap();
        }
    }
    state.into_transport_mode().unwrap()
}

/// Accepts one session as a legacy peer named `name`.
async fn legacy_accept(listener: TcpListener, name: &str) -> Legacy {
    let identity = Identity::generate().unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let mut raw = Framed::new(stream, raw_codec());
    let first = raw.next().await.unwrap().unwrap();
    let preamble = Preamble::from_bytes(&first).unwrap();
    assert_eq!(
        preamble.protocol_version, 2,
        "this release still speaks version 2"
    );
    let state = snow::Builder::new(preamble.pattern.params())
        .local_private_key(identity.secret())
        .unwrap()
        .prologue(&Preamble::prologue(&first))
        .unwrap()
        .build_responder()
        .unwrap();
    let transport = legacy_noise(&mut raw, state).await;
    let mut framed = raw.map_codec(|_| SecureCodec::new(transport));
    let hello = framed.next().await.unwrap().unwrap();
    assert!(matches!(hello, PeerMessage::Hello { .. }), "{hello:?}");
    let welcome = PeerMessage::Welcome {
        protocol_version: 2,
        username: name.to_owned(),
    };
    framed.send(welcome).await.unwrap();
    framed
}

/// Dials `addr` as a legacy peer named `name` (XX: it knows no key).
async fn legacy_dial(addr: &str, name: &str) -> Legacy {
    let identity = Identity::generate().unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut raw = Framed::new(stream, raw_codec());
    let preamble = Preamble {
        protocol_version: 2,
        pattern: Pattern::XX,
    }
    .to_bytes();
    raw.send(Bytes::from(preamble.clone())).await.unwrap();
    let state = snow::Builder::new(Pattern::XX.params())
        .local_private_key(identity.secret())
        .unwrap()
        .prologue(&Preamble::prologue(&preamble))
        .unwrap()
        .build_initiator()
        .unwrap();
    let transport = legacy_noise(&mut raw, state).await;
    let mut framed = raw.map_codec(|_| SecureCodec::new(transport));
    framed
        .send(PeerMessage::Hello {
            protocol_version: 2,
            username: name.to_owned(),
            client: "p2p-chat/0.0.9".to_owned(),
            listen_port: None,
        })
        .await
        .unwrap();
    let welcome = framed.next().await.unwrap().unwrap();
    assert!(
        matches!(welcome, PeerMessage::Welcome { .. }),
        "{welcome:?}"
    );
    framed
}

/// The next chat message the legacy peer gets, answering pings on the way; fails on any
/// message a legacy peer could not have decoded.
async fn legacy_receive(framed: &mut Legacy) -> String {
    loop {
        let message = tokio::time::timeout(PATIENCE, framed.next())
            .await
            .expect("a frame in time")
            .expect("the session stays open")
            .expect("a frame a legacy peer decodes");
        assert!(
            message.index() < LEGACY_KNOWN_MESSAGES,
            "a legacy peer was sent {message:?}, which it cannot decode"
        );
        match message {
            PeerMessage::Chat { id, text, .. } => {
                framed.send(PeerMessage::Receipt { id }).await.unwrap();
                return text;
            }
            PeerMessage::Ping { nonce } => framed.send(PeerMessage::Pong { nonce }).await.unwrap(),
            _ => {}
        }
    }
}

/// The next chat message from the peer, as this release's session reports it.
async fn receive(rx: &mut mpsc::Receiver<NetEvent>) -> String {
    loop {
        match next_event(rx).await.event {
            SessionEvent::Message { text, .. } => return text,
            SessionEvent::Typing => panic!("a legacy peer cannot send typing"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn we_dial_a_legacy_peer_and_chat_without_sending_it_typing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let legacy = tokio::spawn(async move { legacy_accept(listener, "oldbob").await });
    let (tx, mut rx) = mpsc::channel(64);
    let session = net::dial(&addr, &peer("alice", None), None, 7, tx)
        .await
        .unwrap();
    let mut legacy = legacy.await.unwrap();
    session.send_typing().unwrap();
    session
        .send_chat(MessageId::new(), 1, "hello old friend".to_owned())
        .await
        .unwrap();
    assert_eq!(legacy_receive(&mut legacy).await, "hello old friend");
    let quoted = "> oldbob: are you there?\nyes".to_owned();
    session
        .send_message(MessageId::new(), 2, quoted.clone(), Some(MessageId::new()))
        .await
        .unwrap();
    assert_eq!(
        legacy_receive(&mut legacy).await,
        quoted,
        "a reply arrives as a chat"
    );
    let id = MessageId::new();
    let chat = PeerMessage::Chat {
        id,
        sent_at_ms: 2,
        text: "hi from the past".into(),
    };
    legacy.send(chat).await.unwrap();
    assert_eq!(receive(&mut rx).await, "hi from the past");
}

#[tokio::test]
async fn a_legacy_peer_dials_us_and_is_never_sent_typing() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut legacy = legacy_dial(&addr, "oldalice").await;
    let NetEvent {
        event: SessionEvent::Opened { handle, .. },
        ..
    } = next_event(&mut server_rx).await
    else {
        panic!("no session");
    };
    handle.send_typing().unwrap();
    handle
        .send_chat(MessageId::new(), 1, "welcome back".to_owned())
        .await
        .unwrap();
    assert_eq!(legacy_receive(&mut legacy).await, "welcome back");
}

#[tokio::test]
async fn peers_of_this_release_see_each_other_typing() {
    let (addr, mut server_rx) = listen("bob").await;
    let mut pair = connect("alice", &addr, &mut server_rx).await;
    pair.client.send_typing().unwrap();
    loop {
        match next_event(&mut server_rx).await.event {
            SessionEvent::Typing => break,
            SessionEvent::Message { .. } | SessionEvent::Closed { .. } => {
                panic!("expected typing")
            }
            _ => {}
        }
    }
    pair.server.send_typing().unwrap();
    loop {
        if let SessionEvent::Typing = next_event(&mut pair.client_rx).await.event {
            break;
        }
    }
    pair.client_says(&mut server_rx, "and the message").await;
    // A reply names the message it answers.
    let original = MessageId::new();
    let text = "> bob: and the message\nyes".to_owned();
    pair.server
        .send_message(MessageId::new(), 3, text.clone(), Some(original))
        .await
        .unwrap();
    loop {
        if let SessionEvent::Message {
            text: got,
            reply_to,
            ..
        } = next_event(&mut pair.client_rx).await.event
        {
            assert_eq!((got, reply_to), (text, Some(original)));
            break;
        }
    }
}

#[tokio::test]
async fn a_legacy_peer_is_never_sent_group_frames() {
    use p2p_chat::delivery::sessions::Sessions;
    use p2p_chat::groups::Groups;
    use p2p_chat::store::LocalStore;
    use p2p_chat_protocol::group::Member;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let legacy = tokio::spawn(async move { legacy_accept(listener, "oldbob").await });
    let (tx, _rx) = mpsc::channel(64);
    let alice = peer("alice", None);
    let session = net::dial(&addr, &alice, None, 7, tx).await.unwrap();
    let mut legacy = legacy.await.unwrap();
    let store = LocalStore::in_memory().await.unwrap();
    let me = Member {
        username: "alice".into(),
        key: *alice.identity.public(),
    };
    let mut groups = Groups::load(store.clone(), me).await.unwrap();
    let oldbob = Member {
        username: "oldbob".into(),
        key: [7; 32],
    };
    let team = groups.create("team", vec![oldbob], 1).await.unwrap();
    groups.post(team, "hello group", None, 2).await.unwrap();
    let mut sessions = Sessions::new(store).with_groups(groups);
    sessions.admit(session.id(), "oldbob".into(), session.clone());
    sessions
        .queue("oldbob", MessageId::new(), 3, "a plain chat")
        .await
        .unwrap();
    // The chat arrives, and nothing it could not decode came before it (the pump sends a
    // member's group frames first).
    assert_eq!(legacy_receive(&mut legacy).await, "a plain chat");
}
