//! Read receipts between two real clients, the terminal bell (and `--no-bell`), Alt+A and the
//! "new messages" rule.

use crate::procs::{Directory, client_bin, free_port, register};
use crate::pty::Tui;

/// Starts a registered user's chat window listening on `port`, with `extra` arguments.
fn start(name: &str, home: &std::path::Path, port: u16, extra: &[&str]) -> Tui {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["--home", home.to_str().unwrap(), "--listen", &listen];
    args.extend_from_slice(extra);
    Tui::spawn(name, &client_bin(), &args)
}

#[test]
fn read_receipts_bells_and_alt_a_between_three_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let names = ["alice", "bob", "carol"];
    let homes = names.map(|n| tmp.path().join(n));
    let ports = names.map(|_| free_port());
    for i in 0..3 {
        register(&homes[i], &directory, names[i], ports[i]);
    }
    let mut bob = start("bob", &homes[1], ports[1], &["--no-bell"]);
    let mut alice = start("alice", &homes[0], ports[0], &[]);
    let mut carol = start("carol", &homes[2], ports[2], &[]);
    for tui in [&mut alice, &mut bob, &mut carol] {
        tui.wait_for("directory: online");
    }

    // bob reads with receipts on: alice's message is shown to him, so it is marked read.
    // `i` leaves the contact list for the input line (where `/` starts a command).
    bob.type_text("/receipts on\r");
    bob.wait_for("read receipts on");
    alice.wait_for("bob");
    alice.type_text("\r");
    alice.wait_for("connected to bob");
    alice.type_text("read this\r");
    bob.wait_for("read this");
    alice.wait_for("read this ✓✓");
    // alice never turned them on: bob's answer stays merely delivered.
    bob.type_text("done\r");
    alice.wait_for("done");
    bob.wait_for("done ✓");
    assert!(!bob.contents().contains("done ✓✓"), "{}", bob.contents());

    // carol writes to both; neither has her chat on screen.
    carol.type_text("/connect alice\r");
    carol.wait_for("connected to alice");
    carol.type_text("hi alice\r");
    carol.wait_for("hi alice ✓");
    alice.wait_until("carol's unread badge", |s| s.contains("(1)"));
    assert_eq!(alice.bells(), 1, "a message in a chat not shown rings");
    // Without a D-Bus session the terminal shows the notification: the sender, not the text.
    assert_eq!(
        alice.notifications(),
        ["777;notify;p2p-chat;message from carol"]
    );
    carol.type_text("/connect bob\r");
    carol.wait_for("connected to bob");
    carol.type_text("psst bob\r");
    carol.wait_for("psst bob ✓");
    bob.wait_until("carol's unread badge", |s| s.contains("(1)"));
    assert_eq!(bob.bells(), 0, "--no-bell");
    assert_eq!(
        bob.notifications().len(),
        1,
        "the bell is off, notifications are not"
    );

    // Alt+A shows carol's chat with the rule above her message.
    bob.type_text("\x1ba");
    bob.wait_for("new messages");
    let screen = bob.contents();
    let rule = screen.lines().position(|l| l.contains("new messages"));
    let message = screen.lines().position(|l| l.contains("psst bob"));
    assert_eq!(rule.map(|r| r + 1), message, "{screen}");

    for tui in [alice, bob, carol] {
        tui.quit();
    }
}
