//! No message lost: queued messages wait for an offline peer, survive a SIGKILL of the
//! sender, and arrive exactly once, in order.

use crate::procs::{Directory, alice_and_bob, client_bin, free_port, history_json, run_client};
use crate::pty::Tui;

/// Starts a registered user's chat window listening on `port`.
fn start(name: &str, home: &std::path::Path, port: u16) -> Tui {
    let listen = format!("127.0.0.1:{port}");
    Tui::spawn(
        name,
        &client_bin(),
        &["--home", home.to_str().unwrap(), "--listen", &listen],
    )
}

/// How often `text` appears on the screen.
fn count(tui: &Tui, text: &str) -> usize {
    tui.contents().matches(text).count()
}

#[test]
fn messages_to_an_offline_peer_survive_a_crash_and_arrive_exactly_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);

    // bob is not running: alice's messages wait as queued.
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("directory: online");
    alice.type_text("\r");
    alice.wait_for("cannot reach");
    for n in 1..=3 {
        alice.type_text(&format!("queued message {n}\r"));
        alice.wait_for(&format!("queued message {n}"));
    }
    // They wait in alice's outbox (and are sealed into the directory's mailbox).
    alice.wait_until("three undelivered messages", |s| {
        s.lines()
            .filter(|l| l.contains("queued message") && (l.contains('◷') || l.contains('○')))
            .count()
            == 3
    });
    // The plug is pulled on alice.
    alice.crash();

    // bob starts; alice comes back and her client resends what was queued.
    let mut bob = start("bob", &bob_home, bob_port);
    bob.wait_for("directory: online");
    let mut alice = start("alice", &alice_home, alice_port);
    bob.wait_for("queued message 3");
    alice.wait_until("all three delivered", |s| s.matches('✓').count() == 3);
    let screen = bob.contents();
    let positions: Vec<usize> = (1..=3)
        .map(|n| screen.find(&format!("queued message {n}")).unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{screen}"
    );
    for n in 1..=3 {
        assert_eq!(
            count(&bob, &format!("queued message {n}")),
            1,
            "shown twice:\n{screen}"
        );
    }
    alice.quit();
    bob.quit();

    // Both histories hold each message once, delivered.
    let out = run_client(
        &[
            "--home",
            alice_home.to_str().unwrap(),
            "history",
            "bob",
            "--json",
        ],
        "",
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<&str> = lines.iter().filter_map(|l| l["text"].as_str()).collect();
    assert_eq!(
        texts,
        ["queued message 1", "queued message 2", "queued message 3"]
    );
    assert!(
        lines.iter().all(|l| l["delivery"] == "delivered"),
        "{lines:?}"
    );
    let out = run_client(
        &["--home", bob_home.to_str().unwrap(), "export", "alice"],
        "",
    );
    let exported = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(exported.lines().count(), 3, "{exported}");
    assert!(
        exported.lines().all(|l| l.contains("\"from\":\"alice\"")),
        "{exported}"
    );
}

#[test]
fn history_survives_a_restart_and_opens_on_the_newest_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);
    let mut bob = start("bob", &bob_home, bob_port);
    // bob listens (and the directory says so) before alice dials him.
    bob.wait_for("directory: online");
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("directory: online");
    alice.type_text("\r");
    alice.wait_for("connected to bob");
    alice.type_text("remember this\r");
    bob.wait_for("remember this");
    alice.quit();
    bob.quit();
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("bob");
    alice.type_text("\x0e");
    alice.wait_for("remember this");
    alice.quit();
    let out = run_client(
        &["--home", bob_home.to_str().unwrap(), "history", "alice"],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alice: remember this"), "{text}");
}

#[test]
fn when_both_are_offline_in_turn_messages_go_through_the_mailbox() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);

    // bob is offline; alice leaves her message sealed in the directory, then goes offline.
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("directory: online");
    alice.type_text("\r");
    alice.wait_for("cannot reach");
    alice.type_text("sealed for bob\r");
    alice.wait_for("left sealed in the directory's mailbox");
    alice.quit();

    // The directory's database never holds the text.
    let db = std::fs::read(tmp.path().join("directory.db")).unwrap();
    let wal = std::fs::read(tmp.path().join("directory.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(14).any(|w| w == b"sealed for bob"),
            "plaintext in the directory's files"
        );
    }

    // bob starts later, with alice offline: the mailbox delivers.
    let mut bob = start("bob", &bob_home, bob_port);
    bob.wait_for("sealed for bob");
    bob.quit();

    // alice comes back: bob's sealed receipt marks her message delivered.
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("sealed for bob");
    alice.wait_until("the message delivered", |s| s.contains("sealed for bob ✓"));
    alice.quit();
    let out = run_client(
        &[
            "--home",
            bob_home.to_str().unwrap(),
            "history",
            "alice",
            "--json",
        ],
        "",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("sealed for bob")
            .count(),
        1
    );
}

/// The texts of `peer`'s conversation in `home`'s history, oldest first.
fn history(home: &std::path::Path, peer: &str) -> Vec<String> {
    history_json(home, peer)
        .into_iter()
        .map(|v| v["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn killing_the_receiver_mid_burst_and_restarting_the_directory_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir_port = free_port();
    let dir_addr = format!("127.0.0.1:{dir_port}");
    let directory = Directory::start_at(tmp.path(), &dir_addr);
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);
    let mut bob = start("bob", &bob_home, bob_port);
    bob.wait_for("directory: online");
    let mut alice = start("alice", &alice_home, alice_port);
    alice.wait_for("directory: online");
    alice.type_text("\r");
    alice.wait_for("connected to bob");
    bob.wait_for("alice");

    // A burst; bob is killed while it arrives.
    let burst: Vec<String> = (1..=15).map(|n| format!("burst {n:02}")).collect();
    for text in &burst[..8] {
        alice.type_text(&format!("{text}\r"));
    }
    bob.crash();
    for text in &burst[8..] {
        alice.type_text(&format!("{text}\r"));
    }
    // The directory dies too, and comes back on the same port and file.
    directory.crash();
    let directory = Directory::start_at(tmp.path(), &dir_addr);
    let _ = &directory;
    // bob comes back; alice's client reconnects and resends what was not acknowledged.
    let mut bob = start("bob", &bob_home, bob_port);
    bob.wait_for("burst 15");
    alice.wait_until("the whole burst delivered", |s| {
        s.matches('✓').count() >= 10 && !s.contains('○') && !s.contains('◷')
    });
    alice.quit();
    bob.quit();
    assert_eq!(
        history(&bob_home, "alice"),
        burst,
        "bob's history: each message once, in order"
    );
    assert_eq!(history(&alice_home, "bob"), burst);
}
