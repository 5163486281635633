//! Benchmark: the directory's memory per idle signaling connection. Starts the real
//! `p2p-chat-directory` binary on loopback, registers [`USERS`] users, opens
//! [`PER_USER`] signaling WebSockets for each (what a running chat window keeps open), and
//! prints the directory's resident memory (VmRSS, /proc/PID/status) before and after, per
//! connection, and as a share of the goal of issue 8: 10,000 connected clients in at most
//! 100 MB. The process before the connections (same binary, same run) is the baseline; no
//! thresholds (machines here are noisy).
//!
//! Needs an open-file limit above the number of connections (`ulimit -n 20000`).
//!
//! Run: `cargo bench -p p2p-chat-directory --bench signaling_memory`

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Users registered.
const USERS: usize = 100;
/// Signaling connections per user: 100, for 10,000 in all.
const PER_USER: usize = 100;
/// Connections opened at once.
const BATCH: usize = 250;
/// The goal for 10,000 connected clients: 100 MB.
const GOAL_BYTES: f64 = 100e6;

/// Resident memory of process `pid`, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// The directory process, killed when dropped (a failed run leaves none behind).
struct Directory(std::process::Child);

impl Drop for Directory {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let limit = (USERS * PER_USER * 2).to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_p2p-chat-directory"))
        .args(["--listen", &listen, "--database", &db, "--bcrypt-cost", "4"])
        .args(["--rate-limit-per-minute", "0", "--max-connections", &limit])
        .args(["--max-connections-per-address", &limit])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start p2p-chat-directory");
    let pid = child.id();
    let _directory = Directory(child);
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/ping")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the directory never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tokens = Vec::with_capacity(USERS);
    for n in 0..USERS {
        let username = format!("user{n:03}");
        let password = "correct horse battery";
        let register = serde_json::json!({
            "username": username, "password": password, "host": "127.0.0.1",
            "port": 55555, "public_key": format!("{:02x}", n % 256).repeat(32),
        });
        let reply = http
            .post(format!("{base}/register"))
            .json(&register)
            .send()
            .await;
        assert!(
            reply.expect("register").status().is_success(),
            "register {username}"
        );
        let login = serde_json::json!({ "username": username, "password": password });
        let reply: serde_json::Value = http
            .post(format!("{base}/login"))
            .json(&login)
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login answer");
        tokens.push(reply["token"].as_str().expect("a token").to_owned());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss(pid);

    let opened = Instant::now();
    let all: Vec<String> = tokens
        .iter()
        .flat_map(|t| std::iter::repeat_n(t.clone(), PER_USER))
        .collect();
    let mut readers = Vec::with_capacity(all.len());
    for batch in all.chunks(BATCH) {
        let listen = listen.as_str();
        let connects = batch.iter().map(|token| {
            let mut request = format!("ws://{listen}/signal")
                .into_client_request()
                .expect("request");
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("header"),
            );
            async move {
                // A connect storm may see a reset now and then: try again, a few times.
                let mut tries = 0;
                loop {
                    let tcp = tokio::net::TcpStream::connect(listen).await?;
                    match tokio_tungstenite::client_async(request.clone(), tcp).await {
                        Err(e) if tries < 3 => {
                            tries += 1;
                            eprintln!("retrying a signaling connection: {e}");
                        }
                        done => return done,
                    }
                }
            }
        });
        for connected in futures::future::join_all(connects).await {
            let (mut socket, _) = connected.expect("a signaling connection (ulimit -n?)");
            // Read on, so pings are answered and pushes do not pile up.
            readers.push(tokio::spawn(async move {
                while socket.next().await.is_some() {}
            }));
        }
    }
    let took = opened.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = rss(pid);
    let connections = readers.len();
    let per = (loaded.saturating_sub(idle)) as f64 / connections as f64;
    let mb = |b: u64| b as f64 / 1e6;
    println!("directory resident memory (VmRSS):");
    println!("  idle, {USERS} users        {:>8.1} MB", mb(idle));
    println!(
        "  {connections} signaling connections  {:>8.1} MB  ({:.2}x idle; opened in {:.1} s)",
        mb(loaded),
        loaded as f64 / idle as f64,
        took.as_secs_f64()
    );
    println!("  per connection          {:>8.1} KB", per / 1e3);
    println!(
        "  goal: 10,000 clients in 100 MB; at this rate they take {:.0} MB ({:.2}x the goal)",
        (idle as f64 + per * 10_000.0) / 1e6,
        (idle as f64 + per * 10_000.0) / GOAL_BYTES
    );
    for reader in readers {
        reader.abort();
    }
}
