//! Two directory processes sharing one PostgreSQL database behind nginx, configured as
//! docs/deploy.md says ("Several directory processes"), with the real binaries: alice's
//! requests go to one process and bob's to the other, and they still meet through the mailbox,
//! the relay and directly; when alice's process is killed, nginx sends her to the other one,
//! her `listen` reconnects there, and no message is lost.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};

use crate::procs::{Directory, Running, client_bin, free_port, register_at, run_client};
use crate::proxy::{block, deploy_md, nginx};
use crate::pty::PATIENCE;

/// What a running `listen --json` prints: messages on stdout, notices on stderr.
struct Listening {
    _child: Running,
    messages: Receiver<serde_json::Value>,
    notices: Receiver<String>,
}

impl Listening {
    /// `listen --json EXTRA…` of the profile `home` on `addr`.
    fn start(home: &Path, addr: &str, extra: &[&str]) -> Listening {
        let mut child = Command::new(client_bin())
            .args(["--home", home.to_str().unwrap(), "--listen", addr])
            .args(extra)
            .args(["listen", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (messages_tx, messages) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = messages_tx.send(serde_json::from_str(&line).unwrap());
            }
        });
        let (notices_tx, notices) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = notices_tx.send(line);
            }
        });
        Listening {
            _child: Running(child),
            messages,
            notices,
        }
    }

    /// The text of the next message printed; fails after [`PATIENCE`].
    fn next_text(&self) -> String {
        let message = self
            .messages
            .recv_timeout(PATIENCE)
            .expect("a message within the patience");
        message["text"].as_str().unwrap().to_owned()
    }

    /// Waits for a notice containing `what`; fails after [`PATIENCE`].
    fn wait_notice(&self, what: &str) {
        let mut seen = Vec::new();
        loop {
            let line = self
                .notices
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|_| panic!("no notice with {what:?}; saw {seen:?}"));
            if line.contains(what) {
                return;
            }
            seen.push(line);
        }
    }
}

/// `send --json bob TEXT` from `home`: (exit status, the summary's path).
fn send(home: &Path, to: &str, text: &str) -> (Option<i32>, String) {
    let out = run_client(
        &["--home", home.to_str().unwrap(), "send", "--json", to, text],
        "",
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "send printed no summary: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code(),
        summary["path"].as_str().unwrap_or("").to_owned(),
    )
}

/// nginx with deploy.md's upstream of the two processes, once per front: each front prefers
/// one process and falls back to the other (`backup`), so each user has a process of their
/// own until it dies. The two fronts' ports.
fn fronts(dir: &Path, first: &Directory, second: &Directory) -> (Running, u16, u16) {
    let upstream = block(&deploy_md(), "upstream p2p_chat_directory {");
    let addr = |d: &Directory| d.url.trim_start_matches("http://").to_owned();
    let pinned = |name: &str, main: &Directory, spare: &Directory| {
        assert!(
            upstream.contains("server 192.0.2.11:27182;")
                && upstream.contains("server 192.0.2.12:27182;"),
            "{upstream}"
        );
        upstream
            .replace("p2p_chat_directory", name)
            .replace("192.0.2.11:27182;", &format!("{};", addr(main)))
            .replace("192.0.2.12:27182;", &format!("{} backup;", addr(spare)))
    };
    let http = format!(
        "{}\n{}",
        pinned("to_first", first, second),
        pinned("to_second", second, first)
    );
    let (port_first, port_second) = (free_port(), free_port());
    let running = nginx(
        dir,
        &http,
        &[
            (port_first, "to_first".to_owned()),
            (port_second, "to_second".to_owned()),
        ],
    );
    (running, port_first, port_second)
}

#[test]
fn two_directory_processes_on_postgresql_serve_users_on_either_and_survive_losing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let database = crate::postgres::database();
    let proxy = ["--trusted-proxy", "127.0.0.1"];
    let first = Directory::start_on(&database, "127.0.0.1:0", &proxy);
    let second = Directory::start_on(&database, "127.0.0.1:0", &proxy);
    let (_nginx, to_first, to_second) = fronts(tmp.path(), &first, &second);
    let (alice, bob) = (tmp.path().join("alice"), tmp.path().join("bob"));
    register_at(
        &alice,
        &format!("http://127.0.0.1:{to_first}"),
        "alice",
        free_port(),
    );
    register_at(
        &bob,
        &format!("http://127.0.0.1:{to_second}"),
        "bob",
        free_port(),
    );
    let bob_addr = format!("127.0.0.1:{}", free_port());

    // bob, on the second process, takes nothing from strangers but mail: alice's message
    // waits in the mailbox, and the notice of it reaches bob's process, which has him fetch
    // it at once.
    let listening = Listening::start(&bob, &bob_addr, &["--relay-only", "--refuse-strangers"]);
    listening.wait_notice("the directory sees this client");
    assert_eq!(
        send(&alice, "bob", "by the mailbox"),
        (Some(3), "mailbox".into())
    );
    assert_eq!(listening.next_text(), "by the mailbox");
    drop(listening);

    // Through the relay: alice's ticket comes from the first process, bob joins at the
    // second, which passes him on.
    let listening = Listening::start(&bob, &bob_addr, &["--relay-only"]);
    listening.wait_notice("the directory sees this client");
    assert_eq!(
        send(&alice, "bob", "over the relay"),
        (Some(0), "relayed".into())
    );
    assert_eq!(listening.next_text(), "over the relay");
    drop(listening);

    // Directly.
    let bob_listening = Listening::start(&bob, &bob_addr, &[]);
    bob_listening.wait_notice("the directory sees this client");
    let (status, path) = send(&alice, "bob", "directly");
    assert_eq!(status, Some(0));
    assert!(path == "direct" || path == "punched", "{path}");
    assert_eq!(bob_listening.next_text(), "directly");

    // alice listens too, through her own process; then it is killed.
    let alice_addr = format!("127.0.0.1:{}", free_port());
    let alice_listening = Listening::start(&alice, &alice_addr, &[]);
    alice_listening.wait_notice("the directory sees this client");
    first.crash();
    // Her signaling connection comes back, through nginx, on the second process.
    alice_listening.wait_notice("lost the signaling connection");
    alice_listening.wait_notice("the signaling connection to the directory is back");
    assert_eq!(send(&bob, "alice", "after the crash").0, Some(0));
    assert_eq!(alice_listening.next_text(), "after the crash");
    assert_eq!(send(&alice, "bob", "me too").0, Some(0));
    assert_eq!(bob_listening.next_text(), "me too");
}
