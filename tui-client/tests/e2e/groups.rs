//! Groups from scripts, with the real binaries: `group new`, `send --group`, `group
//! remove` and `group members` against members running `listen --json`, and a member that
//! is not running.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::listen::start_listen_on;
use crate::procs::{Directory, free_port, register, run_client};
use crate::pty::PATIENCE;

/// Runs `p2p-chat --home HOME ARGS…`; its exit code and its stdout's JSON lines.
fn json_run(home: &Path, args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut all = vec!["--home", home.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run_client(&all, "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.code(), lines)
}

/// The JSON lines a `listen --json` prints, as they come.
fn lines_of(listener: &mut crate::procs::Running) -> mpsc::Receiver<serde_json::Value> {
    let stdout = BufReader::new(listener.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Ok(json) = serde_json::from_str(&line) {
                let _ = tx.send(json);
            }
        }
    });
    rx
}

/// The next line `rx` gets for which `wanted` holds (others are skipped).
fn next_where(
    rx: &mpsc::Receiver<serde_json::Value>,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(_) => {}
            Err(_) => panic!("no {what} in time"),
        }
    }
}

#[test]
fn a_group_made_and_used_from_scripts_reaches_its_members_only() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = |name: &str| tmp.path().join(name);
    for name in ["alice", "bob", "carol", "dave"] {
        register(&home(name), &directory, name, free_port());
    }
    let (mut bob, _) = start_listen_on(&home("bob"), "127.0.0.1:0", &[]);
    let (mut carol, _) = start_listen_on(&home("carol"), "127.0.0.1:0", &[]);
    let (bob_lines, carol_lines) = (lines_of(&mut bob), lines_of(&mut carol));

    let (code, out) = json_run(
        &home("alice"),
        &["group", "new", "team", "bob", "carol", "--json"],
    );
    assert_eq!(code, Some(0), "{out:?}");
    assert_eq!(out[0]["name"], "team");
    assert_eq!(out[0]["delivered"], serde_json::json!(["bob", "carol"]));
    let joined = next_where(&bob_lines, "bob's invitation", |l| l["event"].is_string());
    assert_eq!(joined["event"], "alice added you to team, with carol");
    assert_eq!(joined["group_name"], "team");

    let (code, _) = json_run(
        &home("alice"),
        &["send", "--group", "team", "--json", "hello", "team"],
    );
    assert_eq!(code, Some(0));
    for lines in [&bob_lines, &carol_lines] {
        let post = next_where(lines, "the post", |l| l["text"].is_string());
        assert_eq!(
            (
                post["from"].as_str(),
                post["text"].as_str(),
                post["group_name"].as_str()
            ),
            (Some("alice"), Some("hello team"), Some("team"))
        );
    }

    // carol is removed: she hears of it, then nothing more.
    let (code, out) = json_run(
        &home("alice"),
        &["group", "remove", "team", "carol", "--json"],
    );
    assert_eq!(code, Some(0), "{out:?}");
    assert_eq!(out[0]["done"], "you removed carol");
    let removed = next_where(&carol_lines, "carol's removal", |l| l["event"].is_string());
    assert_eq!(removed["event"], "alice removed you");
    let (code, _) = json_run(
        &home("alice"),
        &["send", "--group", "team", "--json", "just us"],
    );
    assert_eq!(code, Some(0));
    let post = next_where(&bob_lines, "the second post", |l| l["text"].is_string());
    assert_eq!(post["text"], "just us");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        carol_lines.try_iter().all(|l| l["text"] != "just us"),
        "a removed member got a post"
    );

    // dave is not running: added all the same, his invitation waits (exit status 3).
    let (code, out) = json_run(&home("alice"), &["group", "add", "team", "dave", "--json"]);
    assert_eq!(code, Some(3), "{out:?}");
    assert_eq!(out[0]["waiting"][0]["member"], "dave");
    let why = out[0]["waiting"][0]["why"].as_str().unwrap();
    assert!(
        why.ends_with("left sealed in the directory's mailbox"),
        "{why}"
    );
    let (_, members) = json_run(&home("bob"), &["group", "members", "team", "--json"]);
    let names: Vec<_> = members.iter().map(|m| m["member"].clone()).collect();
    assert_eq!(names, ["alice", "bob", "dave"]);
    assert_eq!(members[0]["role"], "creator");

    // A rename reaches bob; the group is listed under its new name.
    let (code, out) = json_run(
        &home("alice"),
        &["group", "rename", "team", "crew", "--json"],
    );
    assert_eq!(code, Some(3), "dave still waits: {out:?}");
    assert_eq!(out[0]["done"], "you renamed team to crew");
    let renamed = next_where(&bob_lines, "the rename", |l| {
        l["event"].as_str().is_some_and(|e| e.contains("renamed"))
    });
    assert_eq!(renamed["event"], "alice renamed team to crew");
    let (_, listed) = json_run(&home("bob"), &["group", "list", "--json"]);
    assert_eq!(listed[0]["name"], "crew");
    // dave starts listening: his mailbox holds the invitation and the rename, never the
    // posts from before he joined.
    let (mut dave, _) = start_listen_on(&home("dave"), "127.0.0.1:0", &[]);
    let dave_lines = lines_of(&mut dave);
    let joined = next_where(&dave_lines, "dave's invitation", |l| l["event"].is_string());
    assert_eq!(joined["event"], "alice added you to team, with bob");
    let renamed = next_where(&dave_lines, "the rename, by mail", |l| {
        l["event"].is_string()
    });
    assert_eq!(renamed["event"], "alice renamed team to crew");
    let (_, listed) = json_run(&home("bob"), &["group", "list", "--json"]);
    assert_eq!(listed[0]["name"], "crew");

    // Garbage and unknown names get one clear line and a usage or failure status.
    let out = run_client(
        &[
            "--home",
            home("alice").to_str().unwrap(),
            "send",
            "--group",
            "nosuch",
            "hi",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no group called nosuch"));
    let (code, _) = json_run(&home("bob"), &["group", "remove", "crew", "alice"]);
    assert_eq!(code, Some(1), "bob is no admin");
    assert!(
        dave_lines.try_iter().all(|l| l["text"].is_null()),
        "dave got a post from before he joined"
    );
    for child in [&mut bob, &mut carol, &mut dave] {
        let _ = child.kill();
        let _ = child.wait();
    }
}
