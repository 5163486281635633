//! `listen` under load: a flood of messages and a flood of connections.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use p2p_chat::identity::Identity;
use p2p_chat::net::{
    self, EVENT_CHANNEL_CAPACITY, LocalPeer, NetEvent, SessionEvent, SessionHandle,
};
use p2p_chat_protocol::MessageId;
use tokio::sync::mpsc;

use crate::procs::{Running, client_bin};

/// Bound for anything that should happen at once; only reached on failure.
const PATIENCE: Duration = Duration::from_secs(60);

/// Starts `listen --json` as "bot" in `home`; returns the process and its address.
pub fn start_listen(home: &std::path::Path) -> (Running, String) {
    start_listen_on(home, "127.0.0.1:0", &["--name", "bot"])
}

/// Starts `listen --json EXTRA...` in `home` on `listen`; returns the process (its stdout
/// piped) and the address it prints.
pub fn start_listen_on(home: &std::path::Path, listen: &str, extra: &[&str]) -> (Running, String) {
    let mut child = Command::new(client_bin())
        .args(["--home", home.to_str().unwrap(), "--listen", listen])
        .args(["listen", "--json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .expect("listen prints its address")
        .to_owned();
    // Keep draining its notices so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    (Running(child), addr)
}

/// A `/proc/PID/status` field in KiB (VmHWM: peak resident memory).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

async fn dial(identity: &Identity, addr: &str) -> (SessionHandle, mpsc::Receiver<NetEvent>) {
    try_dial(identity, addr).await.unwrap()
}

async fn try_dial(
    identity: &Identity,
    addr: &str,
) -> Result<(SessionHandle, mpsc::Receiver<NetEvent>), net::DialError> {
    let me = LocalPeer {
        username: "flooder".to_owned(),
        listen_port: None,
        local_addr: None,
        identity: identity.clone(),
    };
    let (tx, mut rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let handle = net::dial(addr, &me, None, 0, tx).await?;
    assert!(matches!(
        rx.recv().await.unwrap().event,
        SessionEvent::Opened { .. }
    ));
    Ok((handle, rx))
}

/// Sends `ids` as fast as the session takes them and counts the receipts.
async fn flood(handle: &SessionHandle, rx: &mut mpsc::Receiver<NetEvent>, ids: &[MessageId]) {
    let sender = handle.clone();
    let to_send = ids.to_vec();
    tokio::spawn(async move {
        for (n, id) in to_send.into_iter().enumerate() {
            let _ = sender.send_chat(id, 1, format!("flood {n:06}")).await;
        }
    });
    let mut receipts = 0;
    while receipts < ids.len() {
        let event = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("receipts keep coming")
            .expect("session open");
        match event.event {
            SessionEvent::Delivered { .. } => receipts += 1,
            SessionEvent::Closed { reason } => panic!("session closed: {reason}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_a_flood_of_100000_messages_once_each_in_order_and_stays_small() {
    const FLOOD: usize = 100_000;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("bot");
    let (mut child, addr) = start_listen(&home);
    let pid = child.id();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let printed = std::thread::spawn(move || {
        let mut ids = Vec::new();
        for line in stdout.lines() {
            let json: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            ids.push(json["id"].as_str().unwrap().to_owned());
            if ids.len() == FLOOD {
                break;
            }
        }
        ids
    });
    let identity = Identity::generate().unwrap();
    let ids: Vec<MessageId> = (0..FLOOD).map(|_| MessageId::new()).collect();
    let (handle, mut rx) = dial(&identity, &addr).await;
    flood(&handle, &mut rx, &ids).await;
    // A resend of the first thousand on a new session is receipted, never printed again.
    handle.close();
    let (again, mut rx) = dial(&identity, &addr).await;
    flood(&again, &mut rx, &ids[..1000]).await;
    let printed = printed.join().unwrap();
    let expected: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    assert!(
        printed == expected,
        "each message printed once, in the sender's order"
    );
    let peak_mib = status_kib(pid, "VmHWM:") / 1024;
    assert!(peak_mib < 200, "listen grew to {peak_mib} MiB");
    child.kill().unwrap();
    child.wait().unwrap();
    // Stored before acknowledged: the history has every one of them, once.
    let out = crate::procs::run_client(
        &[
            "--home",
            home.to_str().unwrap(),
            "history",
            "flooder",
            "--limit",
            "100000",
            "--json",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: HashSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(stored.len(), FLOOD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_survives_5000_held_connections_and_then_takes_a_real_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr) = start_listen(&tmp.path().join("bot"));
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // 5,000 connections that never say a word, opened as fast as the kernel takes them.
    let mut tasks = Vec::new();
    for _ in 0..5_000 {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let connect = tokio::net::TcpStream::connect(addr);
            tokio::time::timeout(Duration::from_secs(3), connect)
                .await
                .ok()?
                .ok()
        }));
    }
    let mut held = Vec::new();
    for task in tasks {
        held.extend(task.await.unwrap());
    }
    assert!(!held.is_empty());
    let (fds, rss_mib) = (open_fds(pid), status_kib(pid, "VmRSS:") / 1024);
    assert!(fds < 200, "listen holds {fds} descriptors");
    assert!(rss_mib < 100, "listen grew to {rss_mib} MiB");
    drop(held);
    // Once they are gone, a real peer gets through: listen may still be draining the kernel's
    // backlog of closed connections, so the peer retries as a client would.
    let identity = Identity::generate().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (handle, mut rx) = loop {
        match try_dial(&identity, &addr).await {
            Ok(session) => break session,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("retrying after: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("a real peer never got through: {e}"),
        }
    };
    flood(&handle, &mut rx, &[MessageId::new()]).await;
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("flood 000000"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}
