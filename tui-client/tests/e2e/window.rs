//! The chat window as its users live in it: a pasted three-line message found with /search on
//! the other side, Tab completion, a message written in $EDITOR, and /mute kept in the config
//! file across a restart.

use crate::procs::{Directory, alice_and_bob, client_bin, run_client};
use crate::pty::Tui;

#[test]
fn a_pasted_multi_line_message_is_found_by_search_and_settings_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);
    let bob_config = tmp.path().join("bob.toml");
    std::fs::write(
        &bob_config,
        "# bob's settings\ntimestamp_format = \"%H:%M:%S\"\n",
    )
    .unwrap();
    // alice's "editor" appends a line to the draft it is given.
    let editor = tmp.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'written in the editor\\n' >> \"$1\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .unwrap();

    let bin = client_bin();
    let (alice_home, bob_home) = (alice_home.to_str().unwrap(), bob_home.to_str().unwrap());
    let alice_listen = format!("127.0.0.1:{alice_port}");
    let bob_listen = format!("127.0.0.1:{bob_port}");
    let bob_args = [
        "--home",
        bob_home,
        "--listen",
        &bob_listen,
        "--config",
        bob_config.to_str().unwrap(),
    ];
    let mut bob = Tui::spawn("bob", &bin, &bob_args);
    let mut alice = Tui::spawn_env(
        "alice",
        &bin,
        &["--home", alice_home, "--listen", &alice_listen],
        &[("EDITOR", editor.to_str().unwrap()), ("VISUAL", "")],
    );
    bob.wait_for("directory: online");
    alice.wait_for("directory: online");

    // Tab completes the command and the name.
    alice.type_text("/con\t");
    alice.wait_for("> /connect ");
    alice.type_text("bo\t");
    alice.wait_for("> /connect bob ");
    alice.type_text("\r");
    alice.wait_for("connected to bob");

    // A paste keeps its lines (bracketed paste, as terminals send it).
    alice.type_text("\x1b[200~lunch plans:\r\nthe second line\r\nand a third\x1b[201~");
    alice.wait_for("and a third");
    alice.type_text("\r");
    bob.wait_until("the three lines, each on its own row", |screen| {
        let rows: Vec<&str> = screen.lines().collect();
        let at = |text: &str| rows.iter().position(|r| r.contains(text));
        matches!(
            (at("lunch plans:"), at("the second line"), at("and a third")),
            (Some(a), Some(b), Some(c)) if a + 1 == b && b + 1 == c
        )
    });
    // Times as bob's config file asks.
    let screen = bob.contents();
    let times = screen
        .split_whitespace()
        .filter(|w| w.len() == 8 && w.matches(':').count() == 2)
        .count();
    assert!(times > 0, "HH:MM:SS times:\n{screen}");

    // Alt+Enter starts a new line; Ctrl+X Ctrl+E hands the draft to the editor.
    alice.type_text("typed here\x1b\r");
    // bob sees alice typing, in his chat's title.
    bob.wait_for("alice is typing…");
    alice.type_text("\x18\x05");
    alice.wait_for("written in the editor");
    alice.wait_for("Enter sends it");
    alice.type_text("\r");
    bob.wait_for("written in the editor");

    // bob searches his history for a word of the pasted message.
    bob.type_text("/search SECOND\r");
    bob.wait_for("1/1");
    bob.wait_for("n/N next/previous");
    bob.type_text("\r");
    bob.wait_until("the search list closed", |s| {
        !s.contains("n/N next/previous")
    });
    // A reply to the message found: alice sees it with a quote of her own message.
    bob.type_text("/reply count me in\r");
    alice.wait_until("the reply with its quote", |screen| {
        let rows: Vec<&str> = screen.lines().collect();
        rows.windows(2)
            .any(|w| w[0].contains("> alice: lunch plans:") && w[1].contains("count me in"))
    });

    // /mute is saved in bob's config file and kept after a restart.
    bob.type_text("/mute alice\r");
    bob.wait_for("alice muted");
    bob.quit();
    let saved = std::fs::read_to_string(&bob_config).unwrap();
    assert!(
        saved.contains("# bob's settings"),
        "comments kept:\n{saved}"
    );
    assert!(saved.contains("mute = [\"alice\"]"), "{saved}");
    let mut bob = Tui::spawn("bob", &bin, &bob_args);
    bob.wait_for("directory: online");
    bob.type_text("/mute alice\r");
    bob.wait_for("alice was already muted");
    bob.quit();
    alice.quit();
    let config = run_client(&["--config", bob_config.to_str().unwrap(), "config"], "");
    let printed = String::from_utf8_lossy(&config.stdout);
    assert!(printed.contains("mute = [\"alice\"]"), "{printed}");
}
