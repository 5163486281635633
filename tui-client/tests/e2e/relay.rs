//! The directory's relay end to end: a peer whose published address leads nowhere (as behind
//! a router without a forwarded port) is reached through the relay, by `send` and by the chat
//! window, encrypted end to end.

use std::io::BufRead;

use crate::listen::start_listen_on;
use crate::procs::{Directory, alice_and_bob, client_bin, free_port, run_client};
use crate::pty::Tui;

/// Waits until `name`'s client is connected to the directory (and so can be offered a relay),
/// as `home` sees it.
fn wait_online(home: &std::path::Path, name: &str) {
    let deadline = std::time::Instant::now() + crate::pty::PATIENCE;
    loop {
        let out = run_client(&["--home", home.to_str().unwrap(), "lookup", name], "");
        if String::from_utf8_lossy(&out.stdout).contains("status:     online") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} never came online"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `send --json` from `home` to bob: its exit code and summary.
fn send_json(home: &std::path::Path, words: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["--home", home.to_str().unwrap(), "send", "--json", "bob"];
    args.extend_from_slice(words);
    let out = run_client(&args, "");
    let summary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no summary: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), summary)
}

#[test]
fn send_reaches_a_peer_without_a_reachable_address_through_the_relay() {
    let tmp = tempfile::tempdir().unwrap();
    // On loopback a hole punch always works; these sessions are for the relay.
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--hole-punching", "off"]);
    // bob's registered port is one nobody listens on; his listen runs on another.
    let (alice, _, bob, _) = alice_and_bob(tmp.path(), &directory);
    let (mut listener, _) = start_listen_on(&bob, "127.0.0.1:0", &[]);
    let mut printed = std::io::BufReader::new(listener.stdout.take().unwrap());
    wait_online(&alice, "bob");
    let (code, summary) = send_json(&alice, &["over", "the", "relay"]);
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["outcome"], "delivered");
    assert_eq!(summary["path"], "relayed");
    let mut line = String::new();
    printed.read_line(&mut line).unwrap();
    let message: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(message["from"], "alice");
    assert_eq!(message["text"], "over the relay");
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn a_client_that_refuses_strangers_is_not_met_on_the_relay_and_gets_mail() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--hole-punching", "off"]);
    let (alice, _, bob, _) = alice_and_bob(tmp.path(), &directory);
    let (mut listener, _) = start_listen_on(&bob, "127.0.0.1:0", &["--refuse-strangers"]);
    let mut printed = std::io::BufReader::new(listener.stdout.take().unwrap());
    wait_online(&alice, "bob");
    // bob never talked to alice: her relay offer goes unanswered, and the mailbox takes it.
    let (code, summary) = send_json(&alice, &["from", "a", "stranger"]);
    assert_eq!(code, Some(3), "{summary}");
    assert_eq!(summary["path"], "mailbox");
    let mut line = String::new();
    printed.read_line(&mut line).unwrap();
    let message: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(message["text"], "from a stranger");
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn two_chat_windows_without_reachable_addresses_chat_through_the_relay() {
    let tmp = tempfile::tempdir().unwrap();
    // On loopback a hole punch always works; these sessions are for the relay.
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--hole-punching", "off"]);
    let (alice_home, _, bob_home, _) = alice_and_bob(tmp.path(), &directory);
    let bin = client_bin();
    // Both listen on ports other than the ones they published.
    let window = |name: &str, home: &std::path::Path| {
        let listen = format!("127.0.0.1:{}", free_port());
        Tui::spawn(
            name,
            &bin,
            &["--home", home.to_str().unwrap(), "--listen", &listen],
        )
    };
    let mut bob = window("bob", &bob_home);
    let mut alice = window("alice", &alice_home);
    bob.wait_for("directory: online");
    alice.wait_for("directory: online");
    alice.wait_for("● bob");
    alice.type_text("/connect bob\r");
    alice.wait_for("connected to bob (through the directory's relay");
    alice.type_text("hello through the relay\r");
    bob.wait_for("hello through the relay");
    bob.wait_for("connected to alice (through the directory's relay");
    bob.type_text("and back\r");
    alice.wait_for("and back");
    alice.wait_for("✓");
    alice.quit();
    bob.quit();
}

#[test]
fn a_relay_only_chat_window_dials_no_address_even_without_an_account() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().to_str().unwrap();
    let args = ["--home", home, "--listen", "127.0.0.1:0", "--relay-only"];
    let mut window = Tui::spawn("alice", &client_bin(), &args);
    // The first-run hint names the invite code a directory's operator hands out.
    window.wait_for("not registered: p2p-chat register NAME --server URL [--invite CODE]");
    window.type_text("/connect --ip 127.0.0.1:9\r");
    window.wait_for("--relay-only: this client dials no address");
    window.quit();
}

#[test]
fn a_relay_only_peer_on_a_directory_without_relay_gets_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--relay", "off"]);
    let (alice, _, bob, bob_port) = alice_and_bob(tmp.path(), &directory);
    let listen = format!("127.0.0.1:{bob_port}");
    let mut child = std::process::Command::new(client_bin())
        .args([
            "--home",
            bob.to_str().unwrap(),
            "--listen",
            &listen,
            "--relay-only",
        ])
        .args(["listen", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let _bob_listening = crate::procs::Running(child);
    // listen confirms the mode at start.
    let second = said.nth(1).expect("a second line").unwrap();
    assert!(
        second.starts_with("relay only: the directory withholds"),
        "{second}"
    );
    std::thread::spawn(move || said.for_each(drop));
    // bob's record withholds his address once his listen has announced itself.
    let deadline = std::time::Instant::now() + crate::pty::PATIENCE;
    loop {
        let out = run_client(&["--home", alice.to_str().unwrap(), "lookup", "bob"], "");
        if String::from_utf8_lossy(&out.stdout).contains("relay only") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bob's address stayed published"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let home = alice.to_str().unwrap();
    let out = run_client(&["--home", home, "send", "--no-mailbox", "bob", "hi"], "");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("bob takes sessions only through the directory's relay"),
        "{said}"
    );
    assert!(
        !said.contains("resolve"),
        "no made-up address is dialled: {said}"
    );
}

#[test]
fn a_file_crosses_the_relay_in_several_sessions_when_it_is_over_the_relay_cap() {
    let tmp = tempfile::tempdir().unwrap();
    // A 16 MiB cap per relayed session: a 40 MiB file needs at least three sessions.
    let directory = Directory::start_with(
        tmp.path(),
        "127.0.0.1:0",
        &["--hole-punching", "off", "--relay-max-bytes", "16777216"],
    );
    let (alice, _, bob, _) = alice_and_bob(tmp.path(), &directory);
    let inbox = tmp.path().join("inbox");
    let file = tmp.path().join("slides.pdf");
    let data: Vec<u8> = (0..40u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let (mut listener, _) = start_listen_on(
        &bob,
        "127.0.0.1:0",
        &["--accept-files", inbox.to_str().unwrap()],
    );
    let printed = std::io::BufReader::new(listener.stdout.take().unwrap());
    wait_online(&alice, "bob");
    let out = run_client(
        &[
            "--home",
            alice.to_str().unwrap(),
            "send-file",
            "--json",
            "bob",
            file.to_str().unwrap(),
        ],
        "",
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // The sender is told the operator's cap before the bytes move.
    assert!(
        said.contains("the directory's relay carries at most 16.0 MiB per session"),
        "{said}"
    );
    let mut starts = Vec::new();
    for line in printed.lines() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        match event["file"].as_str() {
            Some("started") => starts.push(event["at"].as_u64().unwrap()),
            Some("done") => break,
            _ => {}
        }
    }
    assert!(starts.len() >= 3, "sessions: {starts:?}");
    assert!(
        starts[1..].iter().all(|at| *at > 0),
        "each resumed: {starts:?}"
    );
    assert_eq!(std::fs::read(inbox.join("slides.pdf")).unwrap(), data);
    listener.kill().unwrap();
    listener.wait().unwrap();
}
