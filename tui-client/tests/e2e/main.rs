//! End to end: the real `p2p-chat` and `p2p-chat-directory` binaries, TUIs in pseudo-terminals.

mod attention;
mod crashes;
mod delivery;
mod file_windows;
mod files;
mod group_windows;
mod groups;
mod listen;
#[path = "../../../directory-server/tests/support/postgres.rs"]
mod postgres;
mod presence;
mod procs;
mod proxy;
mod pty;
mod relay;
mod replicas;
mod scripts;
mod trust;
mod window;

use std::io::{BufRead, BufReader};

use procs::{Directory, alice_and_bob, client_bin, free_port, register, run_client};
use pty::Tui;

#[test]
fn two_registered_users_chat_through_their_tuis() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);

    let listen = |port: u16| format!("127.0.0.1:{port}");
    let bin = client_bin();
    let (alice_listen, bob_listen) = (listen(alice_port), listen(bob_port));
    let mut bob = Tui::spawn(
        "bob",
        &bin,
        &[
            "--home",
            bob_home.to_str().unwrap(),
            "--listen",
            &bob_listen,
        ],
    );
    let mut alice = Tui::spawn(
        "alice",
        &bin,
        &[
            "--home",
            alice_home.to_str().unwrap(),
            "--listen",
            &alice_listen,
        ],
    );
    bob.wait_for("directory: online");
    alice.wait_for("directory: online");
    // Bob is alice's only contact: Enter opens the chat and dials him.
    alice.wait_for("bob");
    alice.type_text("\r");
    alice.wait_for("connected to bob");
    // The title gives the session's round trip as soon as the first ping is answered.
    alice.wait_for(" ms · ");
    alice.type_text("hello bob, it's alice\r");
    bob.wait_for("hello bob, it's alice");
    alice.wait_for("✓");
    // Bob's chat with alice opened on its own; typing goes to it.
    bob.type_text("hi alice!\r");
    alice.wait_for("hi alice!");
    alice.quit();
    bob.wait_for("alice left");
    bob.quit();

    // Both see the same safety number; alice marks bob verified.
    let safety = |home: &std::path::Path, peer: &str, confirm: bool| {
        let mut args = vec!["--home", home.to_str().unwrap(), "verify", peer];
        if confirm {
            args.push("--confirm");
        }
        let out = run_client(&args, "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let digits: Vec<String> = text
            .lines()
            .filter(|l| l.split(' ').count() == 6)
            .map(str::to_owned)
            .collect();
        assert_eq!(digits.len(), 2, "{text}");
        (digits, text)
    };
    let (alice_sees, _) = safety(&alice_home, "bob", false);
    let (bob_sees, _) = safety(&bob_home, "alice", false);
    assert_eq!(alice_sees, bob_sees);
    let (_, confirmed) = safety(&alice_home, "bob", true);
    assert!(confirmed.contains("marked verified"), "{confirmed}");
    let whoami = run_client(&["--home", bob_home.to_str().unwrap(), "whoami"], "");
    let whoami = String::from_utf8_lossy(&whoami.stdout).into_owned();
    assert!(
        whoami.contains("username:    bob") && bob_sees.iter().any(|l| whoami.contains(l.as_str())),
        "{whoami}"
    );

    // Bob starts over with a new identity key: alice is warned and refuses until she accepts.
    let bob_home_str = bob_home.to_str().unwrap();
    let out = run_client(
        &["--home", bob_home_str, "unregister", "--password-stdin"],
        "correct horse battery\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(bob_home.join("identity.json")).unwrap();
    register(&bob_home, &directory, "bob", bob_port);
    let mut bob = Tui::spawn(
        "bob",
        &bin,
        &["--home", bob_home_str, "--listen", &bob_listen],
    );
    let mut alice = Tui::spawn(
        "alice",
        &bin,
        &[
            "--home",
            alice_home.to_str().unwrap(),
            "--listen",
            &alice_listen,
        ],
    );
    alice.wait_for("directory: online");
    alice.type_text("\r");
    alice.wait_for("Key changed");
    alice.wait_for("KEY CHANGED");
    alice.type_text("hello?\r");
    alice.wait_for("needs /accept");
    alice.type_text("/accept\r");
    alice.wait_for("trusting bob's key");
    alice.wait_for("connected to bob");
    bob.wait_for("hello?");
    alice.quit();
    bob.quit();
}

#[test]
fn connect_by_ip_needs_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = client_bin();
    let carol_port = free_port();
    let carol_listen = format!("127.0.0.1:{carol_port}");
    let carol_home = tmp.path().join("carol");
    let dave_home = tmp.path().join("dave");
    let mut carol = Tui::spawn(
        "carol",
        &bin,
        &[
            "--home",
            carol_home.to_str().unwrap(),
            "--listen",
            &carol_listen,
            "connect",
            "--ip",
            "127.0.0.1:1",
            "--name",
            "carol",
        ],
    );
    // Carol's own dial to a dead port fails visibly, with a next step.
    carol.wait_for("cannot reach 127.0.0.1:1");
    let mut dave = Tui::spawn(
        "dave",
        &bin,
        &[
            "--home",
            dave_home.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "connect",
            "--ip",
            &carol_listen,
            "--name",
            "dave",
        ],
    );
    // Dave reached a stranger by address: he sees carol's fingerprint and must accept it
    // before anything is sent.
    dave.wait_for("first contact with carol");
    dave.type_text("hi carol, no directory needed\r");
    dave.wait_for("needs /accept");
    dave.type_text("/accept\r");
    dave.wait_for("trusting carol's key");
    // Dave's chat appears in carol's list with an unread count; Ctrl+N switches to it.
    carol.wait_for("dave             (1)");
    carol.type_text("\x0e");
    carol.wait_for("hi carol, no directory needed");
    carol.type_text("hello dave\r");
    dave.wait_for("hello dave");
    dave.quit();
    carol.quit();
}

#[test]
fn send_reaches_a_headless_listener() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut listener, addr) = listen::start_listen(&tmp.path().join("bot"));

    let sender_home = tmp.path().join("sender");
    let out = run_client(
        &[
            "--home",
            sender_home.to_str().unwrap(),
            "send",
            "--ip",
            &addr,
            "ping from a script",
            "--name",
            "script",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut stdout = BufReader::new(listener.stdout.take().unwrap());
    let mut received = String::new();
    stdout.read_line(&mut received).unwrap();
    let json: serde_json::Value = serde_json::from_str(&received).unwrap();
    assert_eq!(json["from"], "script");
    assert_eq!(json["text"], "ping from a script");
    assert_eq!(json["id"].as_str().map(str::len), Some(36));

    // Nobody listening: a clear error and a non-zero exit.
    let out = run_client(
        &[
            "--home",
            sender_home.to_str().unwrap(),
            "send",
            "--ip",
            &format!("127.0.0.1:{}", free_port()),
            "hello?",
        ],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach") && err.lines().count() == 1,
        "{err}"
    );

    let _ = listener.kill();
    let _ = listener.wait();
}

#[test]
fn bad_command_lines_fail_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["send", "bob"], "USERNAME and the TEXT"),
        (
            &["send", "--ip", "127.0.0.1:9", "a", "b"],
            "cannot reach 127.0.0.1:9",
        ),
        (
            &["send", "--ip", "not an address", "hi"],
            "is not HOST:PORT",
        ),
        (&["send", "--ip", "127.0.0.1:0", "hi"], "is not HOST:PORT"),
        (&["send", "--ip", "127.0.0.1:9", "   "], "empty"),
        (&["send", "Bad Name!", "hi"], "username"),
        (&["send", "bob", "hi"], "no directory configured"),
        (&["connect", "--ip", "nonsense"], "is not HOST:PORT"),
        (&["connect", "bob"], "not registered"),
        (&["listen", "--name", "x"], "3-32"),
    ];
    for (args, expected) in cases {
        let mut full = vec!["--home", home, "--listen", "127.0.0.1:0"];
        full.extend_from_slice(args);
        let out = run_client(&full, "");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in {err:?}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    let huge = "x".repeat(p2p_chat_protocol::peer::MAX_TEXT_BYTES + 1);
    let out = run_client(&["--home", home, "send", "--ip", "127.0.0.1:9", &huge], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("limit"));
    // clap rejects malformed options before anything runs.
    for args in [
        &["--listen", "nowhere", "listen"][..],
        &["send"],
        &["frobnicate"],
    ] {
        let out = run_client(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
