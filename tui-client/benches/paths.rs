//! Benchmark: a direct dial, a hole punch timed by the directory and the directory's relay
//! against each other, with a directory in this process and everything on loopback: the time
//! to open a session (median of a series), chat messages per second and bulk throughput
//! (large messages) over a direct and a relayed session (a punched session is a TCP
//! connection like a direct one), and the directory's CPU time per relayed megabyte: the
//! process's CPU time (`/proc/self/stat`) of the relayed run less that of the direct run, which
//! moves the same messages between the same peers. Prints the
//! figures and their ratios to the direct path; no thresholds (machines here are noisy, and
//! loopback has no latency, so the ratios show what each path costs, not how far away a peer
//! is). A punch includes the directory's scheduled start (half the measured round trip) and
//! the requester's lag (`punch::REQUESTER_LAG`).
//!
//! Run: `cargo bench -p p2p-chat --bench paths`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use p2p_chat::directory::DirectoryClient;
use p2p_chat::identity::Identity;
use p2p_chat::net::{self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent};
use p2p_chat::presence::Account;
use p2p_chat::relay::Answering;
use p2p_chat_directory::{AppState, Settings, open_store};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::api::RegisterRequest;
use tokio::sync::mpsc;

/// Sessions opened per path.
const OPENS: usize = 30;
/// Punches measured: 9, since the directory times 10 at once per requester (one more each
/// 6 s after that), and the warm-up takes one.
const PUNCHES: usize = 9;
/// Messages per throughput run.
const MESSAGES: usize = 10_000;
/// Text of each message: 100 bytes, a typical chat line.
const TEXT: &str = "a chat line of about one hundred bytes, which is what people type most of the time in a chat...";
/// Messages per bulk run: 25,000 of [`BULK_BYTES`], 205 MB (enough CPU time to measure in
/// clock ticks of 10 ms).
const BULK_MESSAGES: usize = 25_000;
/// Size of each bulk message: 8 KiB (half the largest chat message).
const BULK_BYTES: usize = 8 * 1024;

/// CPU time (user and system) this process has used so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // proc(5): the fields after the command name in parentheses; utime and stime are the
    // 14th and 15th of the line, in clock ticks.
    let after = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse().expect("a tick count"))
        .collect();
    let ticks = fields.iter().sum::<u64>();
    Duration::from_secs_f64(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// A directory in this process, with bcrypt at its cheapest and a relay that carries the
/// bulk run (more than its default 64 MiB a session); its URL.
async fn directory() -> String {
    let store = open_store("sqlite::memory:").await.expect("store");
    let settings = Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        relay: p2p_chat_directory::relay::RelayLimits {
            max_bytes: u64::MAX,
            ..Default::default()
        },
        ..Settings::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let state = AppState::new(store, settings);
    tokio::spawn(p2p_chat_directory::run(
        listener,
        state,
        std::future::pending(),
    ));
    url
}

/// A registered, logged-in user listening on loopback (sharing its port with its signaling
/// connection), that answers punches and relay offers and acknowledges every message.
async fn user(url: &str, name: &str) -> (Account, LocalPeer, SocketAddr) {
    let client = DirectoryClient::new(url).expect("client");
    let identity = Identity::generate().expect("identity");
    let listener = net::port::listen("127.0.0.1:0".parse().expect("address")).expect("listen");
    let addr = listener.local_addr().expect("address");
    let password = MessageId::new().to_string();
    client
        .register(&RegisterRequest {
            username: name.to_owned(),
            password: password.clone(),
            host: "127.0.0.1".to_owned(),
            port: Some(addr.port()),
            public_key: identity.public_hex(),
            invite: None,
        })
        .await
        .expect("register");
    let token = client.login(name, &password).await.expect("login").token;
    let account = Account {
        client,
        username: name.to_owned(),
        token,
        fixed_port: None,
        relay_only: false,
    };
    let me = LocalPeer {
        username: name.to_owned(),
        listen_port: Some(addr.port()),
        local_addr: Some(addr),
        identity,
    };
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    tokio::spawn(net::listener::serve(listener, me.clone(), tx.clone()));
    let (answer_as, answer_with) = (me.clone(), account.clone());
    let (welcomed_tx, welcomed) = tokio::sync::oneshot::channel();
    let mut welcomed_tx = Some(welcomed_tx);
    tokio::spawn(account.clone().keep_signaling(Some(addr), move |report| {
        if let p2p_chat::presence::SignalReport::Connected { .. } = report
            && let Some(tx) = welcomed_tx.take()
        {
            let _ = tx.send(());
        }
        p2p_chat::relay::answer_request(&report, &Answering::Anyone, &answer_with, &answer_as, &tx);
        true
    }));
    welcomed.await.expect("signaling opened");
    // Acknowledge everything, as a client does once it stored a message.
    tokio::spawn(async move {
        let mut handles = std::collections::HashMap::new();
        while let Some(NetEvent { session, event }) = rx.recv().await {
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
    (account, me, addr)
}

#[derive(Clone, Copy)]
enum Path {
    Direct,
    Punched,
    Relayed,
}

/// Opens one session from `me` to bob the way `path` says; its handle and event receiver.
async fn open(
    path: Path,
    account: &Account,
    me: &LocalPeer,
    bob: SocketAddr,
) -> (net::SessionHandle, mpsc::Receiver<NetEvent>) {
    let (tx, rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let handle = match path {
        Path::Direct => net::dial(&bob.to_string(), me, None, 0, tx).await,
        Path::Punched => p2p_chat::punch::dial(account, "bob", me, None, 0, tx).await,
        Path::Relayed => p2p_chat::relay::dial(account, "bob", me, None, 0, tx).await,
    };
    (handle.expect("session"), rx)
}

/// Median time to open a session on `path`, of `opens`.
async fn setup(
    path: Path,
    opens: usize,
    account: &Account,
    me: &LocalPeer,
    bob: SocketAddr,
) -> Duration {
    let mut samples = Vec::with_capacity(opens);
    for _ in 0..opens {
        let at = Instant::now();
        let (handle, mut rx) = open(path, account, me, bob).await;
        samples.push(at.elapsed());
        handle.close();
        // Closed before the next one, so the relay's per-user cap is never reached.
        while let Some(event) = rx.recv().await {
            if matches!(event.event, SessionEvent::Closed { .. }) {
                break;
            }
        }
    }
    samples.sort();
    samples[opens / 2]
}

/// One throughput run: messages per second and the process's CPU time.
struct Run {
    per_sec: f64,
    cpu: Duration,
}

/// `count` messages of `text` over one session on `path`, each acknowledged by bob.
async fn throughput(
    path: Path,
    text: &str,
    count: usize,
    account: &Account,
    me: &LocalPeer,
    bob: SocketAddr,
) -> Run {
    let (handle, mut rx) = open(path, account, me, bob).await;
    let (started, cpu) = (Instant::now(), cpu_time());
    let sender = {
        let (handle, text) = (handle.clone(), text.to_owned());
        tokio::spawn(async move {
            for _ in 0..count {
                handle
                    .send_chat(MessageId::new(), 0, text.clone())
                    .await
                    .expect("send");
            }
        })
    };
    let mut receipts = 0;
    while receipts < count {
        let event = rx.recv().await.expect("session open");
        if matches!(event.event, SessionEvent::Delivered { .. }) {
            receipts += 1;
        }
    }
    let run = Run {
        per_sec: count as f64 / started.elapsed().as_secs_f64(),
        cpu: cpu_time().saturating_sub(cpu),
    };
    sender.await.expect("sender");
    handle.close();
    run
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = directory().await;
    let (_, _, bob) = user(&url, "bob").await;
    let (account, me, _) = user(&url, "alice").await;
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    // Warm-up, then the measured runs.
    for path in [Path::Direct, Path::Punched, Path::Relayed] {
        let _ = open(path, &account, &me, bob).await;
    }
    let direct = setup(Path::Direct, OPENS, &account, &me, bob).await;
    let punched = setup(Path::Punched, PUNCHES, &account, &me, bob).await;
    let relayed = setup(Path::Relayed, OPENS, &account, &me, bob).await;
    println!("open a session (median of {OPENS}; punches: of {PUNCHES}):");
    println!("  direct   {:>7.2} ms", millis(direct));
    for (name, took) in [("punched", punched), ("relayed", relayed)] {
        println!(
            "  {name}  {:>7.2} ms  ({:.1}x direct)",
            millis(took),
            took.as_secs_f64() / direct.as_secs_f64()
        );
    }
    let run = |path, text, count| throughput(path, text, count, &account, &me, bob);
    let direct = run(Path::Direct, TEXT, MESSAGES).await;
    let relayed = run(Path::Relayed, TEXT, MESSAGES).await;
    println!(
        "{MESSAGES} chat messages of {} bytes, each acknowledged:",
        TEXT.len()
    );
    println!("  direct   {:>9.0} msg/s", direct.per_sec);
    println!(
        "  relayed  {:>9.0} msg/s  ({:.2}x direct)",
        relayed.per_sec,
        relayed.per_sec / direct.per_sec
    );
    let bulk = "x".repeat(BULK_BYTES);
    let direct = run(Path::Direct, &bulk, BULK_MESSAGES).await;
    let relayed = run(Path::Relayed, &bulk, BULK_MESSAGES).await;
    let mb_per_sec = |r: &Run| r.per_sec * BULK_BYTES as f64 / 1e6;
    println!(
        "{BULK_MESSAGES} messages of {} KiB, each acknowledged:",
        BULK_BYTES / 1024
    );
    println!("  direct   {:>9.1} MB/s", mb_per_sec(&direct));
    println!(
        "  relayed  {:>9.1} MB/s  ({:.2}x direct)",
        mb_per_sec(&relayed),
        mb_per_sec(&relayed) / mb_per_sec(&direct)
    );
    let megabytes = (BULK_MESSAGES * BULK_BYTES) as f64 / 1e6;
    let extra = relayed.cpu.saturating_sub(direct.cpu);
    println!(
        "directory CPU per relayed MB: {:.2} ms (the relayed run used {:.2} s of CPU, the direct one {:.2} s)",
        extra.as_secs_f64() * 1e3 / megabytes,
        relayed.cpu.as_secs_f64(),
        direct.cpu.as_secs_f64()
    );
}
