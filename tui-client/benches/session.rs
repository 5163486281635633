//! Benchmark: chat messages over a real p2p-chat session (Noise-encrypted, framed, each
//! acknowledged by a receipt) against the baseline of raw length-delimited frames over tokio
//! `Framed` on TCP, both on loopback in the same process and run. Prints messages per second
//! and round-trip times, and the session's ratio to the baseline; no absolute thresholds
//! (machines here are noisy).
//!
//! Run: `cargo bench -p p2p-chat --bench session`

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use p2p_chat::identity::Identity;
use p2p_chat::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent};
use p2p_chat_protocol::MessageId;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Messages per throughput run.
const MESSAGES: usize = 20_000;
/// Round trips timed one after another.
const ROUND_TRIPS: usize = 500;
/// Text of each message: 100 bytes, a typical chat line.
const TEXT: &str = "a chat line of about one hundred bytes, which is what people type most of the time in a chat...";

/// Throughput in messages per second and the median round trip.
struct Measured {
    per_sec: f64,
    rtt_p50: Duration,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Baseline: the sender writes frames of [`TEXT`]; the receiver answers each with an 8-byte
/// frame (as a receipt would be), over raw `Framed` TCP.
async fn raw_framed() -> Measured {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let (mut sink, mut frames) = Framed::new(stream, LengthDelimitedCodec::new()).split();
        while let Some(Ok(_)) = frames.next().await {
            if sink.send(Bytes::from_static(b"receipt!")).await.is_err() {
                return;
            }
        }
    });
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sink, mut acks) = Framed::new(stream, LengthDelimitedCodec::new()).split();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..MESSAGES {
            sink.send(Bytes::from_static(TEXT.as_bytes()))
                .await
                .expect("send");
        }
        sink
    });
    for _ in 0..MESSAGES {
        acks.next().await.expect("ack").expect("frame");
    }
    let per_sec = MESSAGES as f64 / started.elapsed().as_secs_f64();
    let mut sink = sender.await.expect("sender");
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let at = Instant::now();
        sink.send(Bytes::from_static(TEXT.as_bytes()))
            .await
            .expect("send");
        acks.next().await.expect("ack").expect("frame");
        samples.push(at.elapsed());
    }
    Measured {
        per_sec,
        rtt_p50: median(samples),
    }
}

/// The real thing: a listener and a dialled session; the listener acknowledges each message
/// as the chat window does, and the sender counts the receipts.
async fn session() -> Measured {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let peer = |name: &str| LocalPeer {
        username: name.to_owned(),
        listen_port: None,
        local_addr: None,
        identity: Identity::generate().expect("identity"),
    };
    let (server_tx, mut server_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    tokio::spawn(net::listener::serve(listener, peer("bob"), server_tx));
    tokio::spawn(async move {
        let mut handles = std::collections::HashMap::new();
        while let Some(NetEvent { session, event }) = server_rx.recv().await {
            match event {
                SessionEvent::Opened { handle, .. } => {
                    handles.insert(session, handle);
                }
                SessionEvent::Message { id, .. } => {
                    if let Some(handle) = handles.get(&session) {
                        let _ = handle.acknowledge(id);
                    }
                }
                _ => {}
            }
        }
    });
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let handle = net::dial(&addr, &peer("alice"), None, 0, tx)
        .await
        .expect("dial");
    assert!(matches!(
        rx.recv().await.expect("opened").event,
        SessionEvent::Opened { .. }
    ));
    let delivered = |event: Option<NetEvent>| {
        matches!(
            event.expect("session open").event,
            SessionEvent::Delivered { .. }
        )
    };
    let started = Instant::now();
    let sender = {
        let handle = handle.clone();
        tokio::spawn(async move {
            for _ in 0..MESSAGES {
                handle
                    .send_chat(MessageId::new(), 0, TEXT.to_owned())
                    .await
                    .expect("send");
            }
        })
    };
    let mut receipts = 0;
    while receipts < MESSAGES {
        if delivered(rx.recv().await) {
            receipts += 1;
        }
    }
    let per_sec = MESSAGES as f64 / started.elapsed().as_secs_f64();
    sender.await.expect("sender");
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let at = Instant::now();
        handle
            .send_chat(MessageId::new(), 0, TEXT.to_owned())
            .await
            .expect("send");
        while !delivered(rx.recv().await) {}
        samples.push(at.elapsed());
    }
    handle.close();
    Measured {
        per_sec,
        rtt_p50: median(samples),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // Warm-up, then the measured runs, alternating so that drift hits both alike.
    let _ = raw_framed().await;
    let _ = session().await;
    let raw = raw_framed().await;
    let real = session().await;
    println!(
        "raw Framed over TCP:   {:>9.0} msg/s   round trip p50 {:>6.1} µs",
        raw.per_sec,
        raw.rtt_p50.as_secs_f64() * 1e6
    );
    println!(
        "p2p-chat session:      {:>9.0} msg/s   round trip p50 {:>6.1} µs",
        real.per_sec,
        real.rtt_p50.as_secs_f64() * 1e6
    );
    println!(
        "session / raw:         throughput {:.2}x, round trip {:.2}x",
        real.per_sec / raw.per_sec,
        real.rtt_p50.as_secs_f64() / raw.rtt_p50.as_secs_f64()
    );
}
