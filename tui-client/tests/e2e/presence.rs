//! What the directory shows about a user is true: the registered port survives a start, only a
//! running client is online, and a clean quit is offline at once.

use std::time::{Duration, Instant};

use crate::listen::start_listen;
use crate::procs::{Directory, register, run_client};
use crate::pty::PATIENCE;

/// `p2p-chat lookup NAME` from `home`: (address, status) as printed.
fn lookup(home: &std::path::Path, name: &str) -> (String, String) {
    let out = run_client(&["--home", home.to_str().unwrap(), "lookup", name], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {key} in {text}"))
    };
    (field("address:"), field("status:"))
}

/// Polls `lookup` until `check` holds for (address, status); fails after [`PATIENCE`].
fn eventually(home: &std::path::Path, name: &str, what: &str, check: impl Fn(&str, &str) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (address, status) = lookup(home, name);
        if check(&address, &status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {address} / {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn the_registered_port_survives_a_start_and_a_clean_quit_is_offline_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = tmp.path().join("alice");
    // A router forwards external port 40000 to whatever port the client listens on.
    register(&home, &directory, "alice", 40000);
    let (address, status) = lookup(&home, "alice");
    assert_eq!(address, "127.0.0.1:40000");
    assert!(
        status.starts_with("last seen"),
        "registered but no client running: {status}"
    );

    let (mut listen, listen_addr) = start_listen(&home);
    assert!(!listen_addr.ends_with(":40000"));
    eventually(
        &home,
        "alice",
        "the running client is online",
        |_, status| status == "online",
    );
    assert_eq!(lookup(&home, "alice").0, "127.0.0.1:40000", "--port kept");

    // Ctrl+C: listen signs off before it exits.
    let pid = listen.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(listen.wait().unwrap().success());
    let (_, status) = lookup(&home, "alice");
    assert!(
        status.starts_with("last seen"),
        "offline at once, not after the presence window: {status}"
    );
}

#[test]
fn a_second_client_on_one_profile_is_refused_with_the_running_one_named() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = tmp.path().join("alice");
    register(&home, &directory, "alice", 40001);
    let (mut first, _) = start_listen(&home);
    let home_arg = home.to_str().unwrap();
    let second = run_client(
        &["--home", home_arg, "--listen", "127.0.0.1:0", "listen"],
        "",
    );
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another p2p-chat is running")
            && err.contains(&format!("pid {}", first.id()))
            && err.contains("listen on 127.0.0.1:0"),
        "{err}"
    );
    // Read-only commands still work.
    for args in [vec!["whoami"], vec!["history", "bob"]] {
        let mut full = vec!["--home", home_arg];
        full.extend(args);
        let out = run_client(&full, "");
        assert!(
            out.status.success(),
            "{full:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // Killed, not quit: the lock went with the process.
    let mut again = std::process::Command::new(crate::procs::client_bin())
        .args(["--home", home_arg, "--listen", "127.0.0.1:0", "listen"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(again.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("listening for peers"), "{line}");
    again.kill().unwrap();
    again.wait().unwrap();
}

#[test]
fn quitting_the_chat_window_is_offline_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = tmp.path().join("alice");
    let port = crate::procs::free_port();
    register(&home, &directory, "alice", port);
    let listen = format!("127.0.0.1:{port}");
    let mut window = crate::pty::Tui::spawn(
        "alice",
        &crate::procs::client_bin(),
        &["--home", home.to_str().unwrap(), "--listen", &listen],
    );
    window.wait_for("directory: online");
    eventually(
        &home,
        "alice",
        "the running window is online",
        |_, status| status == "online",
    );
    window.quit();
    let (_, status) = lookup(&home, "alice");
    assert!(
        status.starts_with("last seen"),
        "offline at once after Ctrl+C: {status}"
    );
}

#[test]
fn the_directory_pushes_presence_to_a_chat_window_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, _, bob_home, bob_port) = crate::procs::alice_and_bob(tmp.path(), &directory);
    let listen = format!("127.0.0.1:{bob_port}");
    let mut bob = crate::pty::Tui::spawn(
        "bob",
        &crate::procs::client_bin(),
        &["--home", bob_home.to_str().unwrap(), "--listen", &listen],
    );
    bob.wait_for("directory: online");
    bob.wait_for("○ alice");
    // alice starts a client: bob's list turns without waiting for its 20 s reload.
    let (mut alice, _) = start_listen(&alice_home);
    let started = Instant::now();
    bob.wait_for("● alice");
    let online_after = started.elapsed();
    let pid = alice.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    alice.wait().unwrap();
    let stopped = Instant::now();
    bob.wait_for("○ alice");
    let offline_after = stopped.elapsed();
    // Pushed, not polled: well under the 20 s between two reloads of the contact list.
    for (what, took) in [("online", online_after), ("offline", offline_after)] {
        assert!(took < Duration::from_secs(10), "{what} took {took:?}");
    }
    bob.quit();
}

#[test]
fn listen_takes_mail_the_moment_the_directory_announces_it() {
    let tmp = tempfile::tempdir().unwrap();
    // Without the relay, mail is the only way to bob.
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--relay", "off"]);
    // bob's registered port (a forwarded one) leads nowhere: mail is the only way in.
    let (alice_home, _, bob_home, _) = crate::procs::alice_and_bob(tmp.path(), &directory);
    let (mut bob, _) = start_listen(&bob_home);
    eventually(&bob_home, "bob", "bob's listen is online", |_, status| {
        status == "online"
    });
    let mut printed = std::io::BufReader::new(bob.stdout.take().unwrap());
    let out = run_client(
        &[
            "--home",
            alice_home.to_str().unwrap(),
            "send",
            "bob",
            "straight",
            "from",
            "the",
            "mailbox",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(3), "deposited");
    let deposited = Instant::now();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut printed, &mut line).unwrap();
    assert!(line.contains("straight from the mailbox"), "{line}");
    // Announced, not polled: well under the 20 s between two mailbox checks.
    assert!(
        deposited.elapsed() < Duration::from_secs(10),
        "{:?}",
        deposited.elapsed()
    );
    bob.kill().unwrap();
    bob.wait().unwrap();
}

#[test]
fn signaling_comes_back_after_the_directory_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", crate::procs::free_port());
    let directory = Directory::start_at(tmp.path(), &listen);
    let (alice_home, _, bob_home, bob_port) = crate::procs::alice_and_bob(tmp.path(), &directory);
    let bob_listen = format!("127.0.0.1:{bob_port}");
    let mut bob = crate::pty::Tui::spawn(
        "bob",
        &crate::procs::client_bin(),
        &[
            "--home",
            bob_home.to_str().unwrap(),
            "--listen",
            &bob_listen,
        ],
    );
    bob.wait_for("directory: online");
    bob.wait_for("○ alice");
    // The directory dies and comes back on the same address, with the same database.
    directory.crash();
    let _directory = Directory::start_at(tmp.path(), &listen);
    // bob's client reconnects its signaling by itself, and catches up on what was pushed
    // while it could not be: alice coming online reaches it without the 20 s reload, whether
    // she comes before or after the reconnect.
    let (mut alice, _) = start_listen(&alice_home);
    let started = Instant::now();
    bob.wait_for("● alice");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    alice.kill().unwrap();
    alice.wait().unwrap();
    bob.quit();
}
