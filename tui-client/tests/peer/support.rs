//! Listeners, dialled pairs and a frame-aware forwarding proxy, all on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use futures::StreamExt;
use p2p_chat::identity::Identity;
use p2p_chat::net::{self, Direction, LocalPeer, NetEvent, SessionEvent, SessionHandle};
use p2p_chat_protocol::{MessageId, PeerCodec, PeerMessage, RefuseReason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Encoder, Framed};

/// Generous bound for anything that should happen at once on loopback; only hit on failure.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn peer(name: &str, port: Option<u16>) -> LocalPeer {
    LocalPeer {
        username: name.to_owned(),
        listen_port: port,
        local_addr: None,
        identity: Identity::generate().unwrap(),
    }
}

/// The next event that is not a round-trip measurement (those come whenever a keepalive is
/// answered).
pub async fn next_event(rx: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    loop {
        let event = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("event in time")
            .expect("channel open");
        if !matches!(event.event, SessionEvent::RoundTrip { .. }) {
            return event;
        }
    }
}

/// Whether an event other than a round-trip measurement is waiting (without waiting).
pub fn has_event(rx: &mut mpsc::Receiver<NetEvent>) -> bool {
    while let Ok(event) = rx.try_recv() {
        if !matches!(event.event, SessionEvent::RoundTrip { .. }) {
            return true;
        }
    }
    false
}

/// Starts a listener as `me`; returns its address and event receiver.
pub async fn listen_as(me: LocalPeer) -> (String, mpsc::Receiver<NetEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(net::listener::serve(
        listener,
        LocalPeer {
            listen_port: Some(addr.port()),
            local_addr: None,
            ..me
        },
        tx,
    ));
    (addr.to_string(), rx)
}

/// Starts a listener as a fresh peer called `name`.
pub async fn listen(name: &str) -> (String, mpsc::Receiver<NetEvent>) {
    listen_as(peer(name, None)).await
}

/// A dialled session, with the listener's side of it.
pub struct Pair {
    pub client: SessionHandle,
    pub client_rx: mpsc::Receiver<NetEvent>,
    pub server: SessionHandle,
}

/// Dials `addr` as `me` (expecting `key`, if given) and waits for both sides to open.
pub async fn connect_as(
    me: &LocalPeer,
    addr: &str,
    key: Option<&[u8; 32]>,
    server_rx: &mut mpsc::Receiver<NetEvent>,
) -> Pair {
    let (tx, mut client_rx) = mpsc::channel(64);
    let client = net::dial(addr, me, key, 7, tx).await.unwrap();
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
    assert_eq!(peer.username, me.username);
    assert_eq!(
        &peer.key,
        me.identity.public(),
        "the listener sees the dialler's proven key"
    );
    Pair {
        client,
        client_rx,
        server: handle,
    }
}

pub async fn connect(name: &str, addr: &str, server_rx: &mut mpsc::Receiver<NetEvent>) -> Pair {
    connect_as(&peer(name, None), addr, None, server_rx).await
}

impl Pair {
    /// The dialler sends `text`; checks it arrives at the listener and is acknowledged.
    pub async fn client_says(&mut self, server_rx: &mut mpsc::Receiver<NetEvent>, text: &str) {
        exchange(
            &self.client,
            &mut self.client_rx,
            &self.server,
            server_rx,
            text,
        )
        .await;
    }

    /// The listener sends `text`; checks it arrives at the dialler and is acknowledged.
    pub async fn server_says(&mut self, server_rx: &mut mpsc::Receiver<NetEvent>, text: &str) {
        exchange(
            &self.server,
            server_rx,
            &self.client,
            &mut self.client_rx,
            text,
        )
        .await;
    }
}

/// Sends `text` from `from`, checks it arrives on `to_rx`, acknowledges it on `to` (as a
/// client does once the message is stored) and checks the receipt arrives on `from_rx`.
async fn exchange(
    from: &SessionHandle,
    from_rx: &mut mpsc::Receiver<NetEvent>,
    to: &SessionHandle,
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
            reply_to: None,
        } => {
            assert_eq!(
                (got, sent_at_ms, got_text.as_str()),
                (id, 1_700_000_000_000, text)
            );
        }
        other => panic!("expected the message, got {other:?}"),
    }
    // No receipt before the receiver acknowledges.
    assert!(
        !has_event(from_rx),
        "a receipt went out before the message was stored"
    );
    to.acknowledge(id).unwrap();
    match next_event(from_rx).await.event {
        SessionEvent::Delivered { id: acked } => assert_eq!(acked, id),
        other => panic!("expected a receipt, got {other:?}"),
    }
}

/// Writes raw bytes to the listener and returns the frames it answers with until it closes.
pub async fn hostile(addr: &str, bytes: &[u8]) -> Vec<PeerMessage> {
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

pub fn refusal(answers: &[PeerMessage]) -> (RefuseReason, String) {
    match answers {
        [PeerMessage::Refuse { reason, message }] => (reason.clone(), message.clone()),
        other => panic!("expected exactly one refusal, got {other:?}"),
    }
}

/// A frame carrying `payload` as is.
pub fn raw_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// A frame carrying a postcard-encoded message (what a cleartext peer would send).
pub fn frame(msg: &PeerMessage) -> Vec<u8> {
    let mut buf = BytesMut::new();
    PeerCodec::new().encode(msg, &mut buf).unwrap();
    buf.to_vec()
}

/// What the proxy does with the n-th (0-based) frame from the dialler: the byte strings to
/// write in its place, and whether to close the connection afterwards.
pub type Mangle = fn(usize, Vec<u8>) -> (Vec<Vec<u8>>, bool);

/// A forwarding proxy on loopback in front of `upstream` that cuts the dialler's stream into
/// frames, lets `mangle` rewrite them, and records every byte in both directions.
pub async fn proxy(upstream: String, mangle: Mangle) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let wire = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&wire);
    tokio::spawn(async move {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let back = Arc::clone(&record);
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = server_read.read(&mut buf).await {
                if n == 0 || client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                back.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut index = 0;
        loop {
            let mut prefix = [0u8; 4];
            if client_read.read_exact(&mut prefix).await.is_err() {
                break;
            }
            let mut frame = prefix.to_vec();
            frame.resize(4 + u32::from_be_bytes(prefix) as usize, 0);
            if client_read.read_exact(&mut frame[4..]).await.is_err() {
                break;
            }
            record.lock().unwrap().extend_from_slice(&frame);
            let (out, close) = mangle(index, frame);
            index += 1;
            for bytes in out {
                if server_write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            if close {
                return;
            }
        }
    });
    (addr, wire)
}
