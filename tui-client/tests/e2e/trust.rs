//! The trust rule end to end: `listen` checks first contacts against the directory (a stranger
//! using a registered name is refused; unregistered names and the real owner are accepted),
//! and impostors cannot block a chat in the chat window.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Instant;

use crate::procs::{Directory, alice_and_bob, client_bin, free_port, register, run_client};
use crate::pty::{PATIENCE, Tui};

/// The lines of `pipe`, read on a thread of their own.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line containing `needle`; fails the test after [`PATIENCE`].
fn wait_for(rx: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line containing {needle:?} within {PATIENCE:?}"),
        }
    }
}

fn home_arg(home: &Path) -> &str {
    home.to_str().unwrap()
}

#[test]
fn listen_refuses_a_stranger_using_a_registered_name() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = |name: &str| tmp.path().join(name);
    register(&home("host"), &directory, "host", free_port());
    register(&home("bob"), &directory, "bob", free_port());

    let mut listener = Command::new(client_bin())
        .args(["--home", home_arg(&home("host"))])
        .args(["--listen", "127.0.0.1:0", "listen", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let errors = lines(listener.stderr.take().unwrap());
    let received = lines(listener.stdout.take().unwrap());
    let started = wait_for(&errors, "listening for peers on");
    let addr = started
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .expect("listen prints its address")
        .to_owned();
    // The signaling connection leaves from the listening port: what the directory sees is
    // the address a hole punch would reach.
    let seen = wait_for(&errors, "the directory sees this client at");
    assert!(seen.trim_end().ends_with(&addr), "{seen} vs {addr}");
    let send = |from: &str, text: &str, name: Option<&str>| {
        let from = home(from);
        let mut args = vec!["--home", home_arg(&from), "send", "--ip", &addr, text];
        args.extend(name.iter().flat_map(|name| ["--name", *name]));
        run_client(&args, "")
    };

    // Someone without bob's key, using his name.
    let out = send("impostor", "it's me, bob", Some("bob"));
    assert!(!out.status.success(), "the impostor's message was accepted");
    let refused = wait_for(&errors, "refused bob");
    assert!(
        refused.contains("neither the one pinned for bob nor the one the directory lists"),
        "{refused}"
    );
    // A name nobody registered is pinned on first contact, as without a directory.
    let out = send("newcomer", "hello from a newcomer", Some("newcomer"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The real bob proves the key the directory lists.
    let out = send("bob", "hi, it's really bob", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first: serde_json::Value = serde_json::from_str(&wait_for(&received, "{")).unwrap();
    let second: serde_json::Value = serde_json::from_str(&wait_for(&received, "{")).unwrap();
    assert_eq!(
        (&first["from"], &first["text"]),
        (&"newcomer".into(), &"hello from a newcomer".into())
    );
    assert_eq!(
        (&second["from"], &second["text"]),
        (&"bob".into(), &"hi, it's really bob".into())
    );
    let _ = listener.kill();
    let _ = listener.wait();
}

#[test]
fn impostors_cannot_block_a_chat_window() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let (alice_home, alice_port, bob_home, bob_port) = alice_and_bob(tmp.path(), &directory);
    // carol is registered, but bob has never talked to her.
    register(&tmp.path().join("carol"), &directory, "carol", free_port());
    let bin = client_bin();
    let bob_listen = format!("127.0.0.1:{bob_port}");
    let alice_listen = format!("127.0.0.1:{alice_port}");
    let mut bob = Tui::spawn(
        "bob",
        &bin,
        &["--home", home_arg(&bob_home), "--listen", &bob_listen],
    );
    let mut alice = Tui::spawn(
        "alice",
        &bin,
        &["--home", home_arg(&alice_home), "--listen", &alice_listen],
    );
    bob.wait_for("directory: online");
    alice.wait_for("directory: online");
    alice.type_text("/connect bob\r");
    alice.wait_for("connected to bob");
    alice.type_text("first\r");
    bob.wait_for("first");

    // A stranger from a fresh profile, calling itself carol: a notice, no key warning.
    let stranger = tmp.path().join("stranger");
    let claim = |name: &str, text: &str| {
        run_client(
            &[
                "--home",
                home_arg(&stranger),
                "send",
                "--ip",
                &bob_listen,
                "--name",
                name,
                text,
            ],
            "",
        )
    };
    let out = claim("carol", "hello from carol");
    assert!(!out.status.success(), "the stranger's message was accepted");
    bob.wait_for("claiming to be carol");
    assert!(!bob.contents().contains("hello from carol"));
    // The same stranger as alice, while alice is connected (notices from one address are
    // rate-limited, so this one is silent).
    let out = claim("alice", "it's me, alice");
    assert!(!out.status.success(), "the impostor's message was accepted");
    let screen = bob.contents();
    assert!(
        !screen.contains("Key changed") && !screen.contains("KEY CHANGED"),
        "{screen}"
    );
    assert!(!screen.contains("it's me, alice"), "{screen}");
    // The real chat goes on, both ways.
    alice.type_text("still here\r");
    bob.wait_for("still here");
    bob.type_text("good\r");
    alice.wait_for("good");
    let screen = bob.contents();
    assert!(!screen.contains("alice — failed"), "{screen}");
    alice.quit();
    bob.quit();
}
