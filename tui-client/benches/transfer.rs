//! Benchmark: a file transfer between two peers over real loopback sessions (Noise-encrypted
//! chunks, credit, SHA-256 on both sides, the receiver writing its file), against the baseline
//! of raw TCP bulk throughput on loopback in the same process and run; and the chat's round
//! trip (a message and its receipt) on the same session while the transfer runs, against the
//! idle session's. Prints MB/s, round trips and the ratios; no absolute thresholds (machines
//! here are noisy). Goals (issue 11): transfer ≥ 0.5× raw TCP, chat round trip ≤ 2× idle.
//!
//! Run: `cargo bench -p p2p-chat --bench transfer` (`P2P_CHAT_BENCH_MIB` sets the file size,
//! default 1024 MiB; the files go to `/dev/shm` where it exists).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use p2p_chat::identity::Identity;
use p2p_chat::net::{
    self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent, SessionHandle,
};
use p2p_chat::store::LocalStore;
use p2p_chat::transfer::policy::Rules;
use p2p_chat::transfer::{Progress, Report, Transfers};
use p2p_chat_protocol::MessageId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Bytes per write of the raw TCP baseline: 256 KiB, a large batched write.
const RAW_WRITE_BYTES: usize = 256 * 1024;
/// Chat round trips timed on the idle session.
const IDLE_ROUND_TRIPS: usize = 300;

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(mut samples: Vec<Duration>, p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

/// Baseline: `bytes` written in [`RAW_WRITE_BYTES`] writes over loopback TCP and read.
async fn raw_tcp(bytes: u64) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let reader = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0; RAW_WRITE_BYTES];
        let mut got = 0u64;
        while got < bytes {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "early end");
            got += n as u64;
        }
    });
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let block = vec![0x5a; RAW_WRITE_BYTES];
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(RAW_WRITE_BYTES as u64) as usize;
        stream.write_all(&block[..n]).await.expect("write");
        sent += n as u64;
    }
    reader.await.expect("reader");
    started.elapsed()
}

/// What one core does per byte a transfer moves, without any I/O: ChaCha20-Poly1305 seal
/// and open of chunk-sized Noise messages (the session's cipher, through ring), and SHA-256
/// (what the receiver hashes). Returns both times for `bytes`.
fn ceilings(bytes: u64) -> (Duration, Duration) {
    use sha2::Digest;
    let params: snow::params::NoiseParams =
        "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse().expect("params");
    let mut a = snow::Builder::new(params.clone())
        .build_initiator()
        .expect("initiator");
    let mut b = snow::Builder::new(params)
        .build_responder()
        .expect("responder");
    let (mut m1, mut m2) = (vec![0u8; 65_535], vec![0u8; 65_535]);
    let n = a.write_message(&[], &mut m1).expect("handshake");
    b.read_message(&m1[..n], &mut m2).expect("handshake");
    let n = b.write_message(&[], &mut m1).expect("handshake");
    a.read_message(&m1[..n], &mut m2).expect("handshake");
    let (mut a, mut b) = (
        a.into_transport_mode().expect("a"),
        b.into_transport_mode().expect("b"),
    );
    let chunk = vec![0x5a; p2p_chat_protocol::transfer::MAX_CHUNK_BYTES];
    let rounds = bytes / chunk.len() as u64;
    let started = Instant::now();
    for _ in 0..rounds {
        let n = a.write_message(&chunk, &mut m1).expect("seal");
        b.read_message(&m1[..n], &mut m2).expect("open");
    }
    let cipher = started.elapsed();
    let started = Instant::now();
    let mut hasher = sha2::Sha256::new();
    for _ in 0..rounds {
        hasher.update(&chunk);
    }
    std::hint::black_box(hasher.finalize());
    (cipher, started.elapsed())
}

fn peer(name: &str) -> LocalPeer {
    LocalPeer {
        username: name.into(),
        listen_port: None,
        local_addr: None,
        identity: Identity::generate().expect("key"),
    }
}

/// What the driver of one side reports to the benchmark.
enum Seen {
    Delivered(MessageId),
    Report(Report),
}

/// Drives one side: its engine gets the transfer events, chat messages are acknowledged at
/// once, receipts and reports go to `out`.
fn drive(
    peer_name: &'static str,
    mut engine: Transfers,
    mut reports: mpsc::UnboundedReceiver<Report>,
    mut events: mpsc::Receiver<NetEvent>,
    handle: SessionHandle,
    out: mpsc::UnboundedSender<Seen>,
) -> mpsc::UnboundedSender<std::path::PathBuf> {
    let (offers, mut offer_rx) = mpsc::unbounded_channel::<std::path::PathBuf>();
    tokio::spawn(async move {
        engine
            .session_opened(peer_name, handle.clone(), true)
            .await
            .expect("store");
        loop {
            tokio::select! {
                Some(NetEvent { event, .. }) = events.recv() => match event {
                    SessionEvent::File(event) => engine.on_event(peer_name, event).await.expect("store"),
                    SessionEvent::Message { id, .. } => handle.acknowledge(id).expect("session"),
                    SessionEvent::Delivered { id } => { let _ = out.send(Seen::Delivered(id)); }
                    _ => {}
                },
                Some(report) = reports.recv() => { let _ = out.send(Seen::Report(report)); }
                Some(path) = offer_rx.recv() => {
                    engine.offer(peer_name, &path, Arc::new(Progress::new())).await.expect("offer");
                }
                else => return,
            }
        }
    });
    offers
}

/// One chat round trip: a message from `handle` until its receipt shows up on `seen`.
async fn round_trip(
    handle: &SessionHandle,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> (Duration, Option<Report>) {
    let id = MessageId::new();
    let started = Instant::now();
    handle
        .send_chat(id, 1, "ping".into())
        .await
        .expect("session");
    let mut report = None;
    loop {
        match seen.recv().await.expect("driver") {
            Seen::Delivered(got) if got == id => return (started.elapsed(), report),
            Seen::Delivered(_) => {}
            Seen::Report(r) => report = Some(r),
        }
    }
}

fn write_file(path: &Path, mib: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut state = 1u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in block.chunks_exact_mut(8) {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block).expect("write");
    }
    file.flush().expect("flush");
}

fn main() {
    let mib: u64 = std::env::var("P2P_CHAT_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let bytes = mib << 20;
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let source = dir.path().join("source.bin");
    write_file(&source, mib);
    let inbox = dir.path().join("inbox");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let raw = raw_tcp(bytes).await;

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address").to_string();
        let (server_tx, mut server_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        tokio::spawn(net::listener::serve(listener, peer("bob"), server_tx));
        let (client_tx, mut client_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let alice = peer("alice");
        net::dial(&addr, &alice, None, 1, client_tx).await.expect("dial");
        let opened = |event: Option<NetEvent>| match event.map(|e| e.event) {
            Some(SessionEvent::Opened { handle, .. }) => handle,
            _ => panic!("no session"),
        };
        let client = opened(client_rx.recv().await);
        let server = opened(server_rx.recv().await);

        let store = || async { LocalStore::in_memory().await.expect("store") };
        let (alice_engine, alice_reports) = Transfers::new(store().await, Rules::default());
        let rules = Rules { accept_into: Some(inbox.clone()), ..Rules::default() };
        let (bob_engine, bob_reports) = Transfers::new(store().await, rules);
        let (alice_seen, mut seen) = mpsc::unbounded_channel();
        let (bob_seen, mut bob_rx) = mpsc::unbounded_channel();
        let offers = drive("bob", alice_engine, alice_reports, client_rx, client.clone(), alice_seen);
        drive("alice", bob_engine, bob_reports, server_rx, server.clone(), bob_seen);

        let mut idle = Vec::new();
        for _ in 0..IDLE_ROUND_TRIPS {
            idle.push(round_trip(&client, &mut seen).await.0);
        }

        offers.send(source.clone()).expect("driver");
        // Bytes move once bob's engine accepted; time from alice's start to bob's save.
        let started = loop {
            match seen.recv().await.expect("driver") {
                Seen::Report(Report::Started { .. }) => break Instant::now(),
                Seen::Report(other) => panic!("unexpected {other:?}"),
                Seen::Delivered(_) => {}
            }
        };
        // Probes both ways: from the sending side, and from the receiving side (whose
        // session is busy reading chunks).
        let (mut busy, mut busy_back) = (Vec::new(), Vec::new());
        let finished = loop {
            let (rtt, _) = round_trip(&client, &mut seen).await;
            busy.push(rtt);
            let (rtt, report) = round_trip(&server, &mut bob_rx).await;
            busy_back.push(rtt);
            match report {
                Some(Report::Finished { .. }) => break Instant::now(),
                Some(Report::Ended { reason, .. }) => panic!("transfer ended: {reason}"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let took = finished - started;

        let raw_rate = mb_per_s(bytes, raw);
        let rate = mb_per_s(bytes, took);
        let (cipher, sha) = ceilings(bytes);
        println!("file of {mib} MiB over loopback, 2 worker threads");
        println!("  raw TCP bulk (baseline):    {raw_rate:9.1} MB/s");
        println!("  file transfer:              {rate:9.1} MB/s   ratio {:.2} (goal >= 0.50)", rate / raw_rate);
        println!("what one core does per byte moved, no I/O (the ceiling: every byte is sealed, opened and hashed)");
        println!("  ChaCha20-Poly1305 seal+open:{:9.1} MB/s", mb_per_s(bytes, cipher));
        println!("  SHA-256:                    {:9.1} MB/s", mb_per_s(bytes, sha));
        println!("  all three, one core:        {:9.1} MB/s", mb_per_s(bytes, cipher + sha));
        let (idle_p50, busy_p50) = (median(idle.clone()), median(busy.clone()));
        println!("chat round trip on the same session (message to receipt)");
        println!("  idle:            p50 {:7.3} ms   p90 {:7.3} ms", idle_p50.as_secs_f64() * 1e3, percentile(idle, 90).as_secs_f64() * 1e3);
        println!(
            "  during transfer: p50 {:7.3} ms   p90 {:7.3} ms   ({} samples)   ratio p50 {:.2} (goal <= 2)",
            busy_p50.as_secs_f64() * 1e3,
            percentile(busy.clone(), 90).as_secs_f64() * 1e3,
            busy.len(),
            busy_p50.as_secs_f64() / idle_p50.as_secs_f64()
        );
        let back_p50 = median(busy_back.clone());
        println!(
            "  receiver to sender, during transfer: p50 {:7.3} ms   p90 {:7.3} ms   ratio p50 {:.2} (goal <= 2)",
            back_p50.as_secs_f64() * 1e3,
            percentile(busy_back, 90).as_secs_f64() * 1e3,
            back_p50.as_secs_f64() / idle_p50.as_secs_f64()
        );
    });
}
