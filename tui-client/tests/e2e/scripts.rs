//! `send` and `listen` as scripts use them: the chat window's delivery rules, exit statuses
//! and `--json`, the mailbox for a peer that is offline.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use crate::listen::start_listen_on;
use crate::procs::{
    Directory, Running, alice_and_bob, client_bin, directory_bin, history_json, run_client,
};
use crate::pty::PATIENCE;

/// `listen --json` for the profile `home` on `listen`; its stdout lines arrive on the receiver.
fn listen(home: &Path, listen: &str) -> (Running, Receiver<serde_json::Value>) {
    let (mut child, _) = start_listen_on(home, listen, &[]);
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// The next printed message; fails after [`PATIENCE`].
fn next(rx: &Receiver<serde_json::Value>) -> serde_json::Value {
    rx.recv_timeout(PATIENCE)
        .expect("a message within the patience")
}

fn send(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut full = vec!["--home", home.to_str().unwrap(), "send"];
    full.extend_from_slice(args);
    let out = run_client(&full, "");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `history PEER --json` of `home`: (text, delivery) of each message.
fn history(home: &Path, peer: &str) -> Vec<(String, Option<String>)> {
    history_json(home, peer)
        .into_iter()
        .map(|v| {
            (
                v["text"].as_str().unwrap().to_owned(),
                v["delivery"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn stop(mut child: Running) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "listen did not stop on SIGINT");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn send_delivers_words_directly_or_leaves_them_in_the_mailbox_for_listen() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    words_directly_or_through_the_mailbox(tmp.path(), &directory);
}

/// The same story with the directory on PostgreSQL (a database on the test server of
/// `directory-server/tests/support/postgres.rs`).
#[test]
fn on_postgresql_too_users_register_chat_and_use_the_mailbox() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start_on(&crate::postgres::database(), "127.0.0.1:0", &[]);
    words_directly_or_through_the_mailbox(tmp.path(), &directory);
}

/// alice and bob register under `dir`; `send` leaves a message in the mailbox while bob is
/// away, `listen` prints it once, and a second message goes directly.
fn words_directly_or_through_the_mailbox(dir: &Path, directory: &Directory) {
    let (alice, _, bob, bob_port) = alice_and_bob(dir, directory);
    let bob_listen = format!("127.0.0.1:{bob_port}");

    // bob is offline: the message waits in the mailbox, exit status 3.
    let (code, out, err) = send(&alice, &["--json", "bob", "while", "you", "were", "out"]);
    assert_eq!(code, Some(3), "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["outcome"], "deposited");
    assert_eq!(summary["path"], "mailbox");
    assert!(summary["rtt_ms"].is_null());
    let mailed_id = summary["id"].as_str().unwrap().to_owned();
    // --no-mailbox only tries directly: exit 1, nothing kept to send later.
    let (code, _, err) = send(&alice, &["--no-mailbox", "bob", "direct or nothing"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");

    // bob's listen takes the mailbox at start, prints the mail once, and receipts it.
    let (listener, printed) = listen(&bob, &bob_listen);
    let first = next(&printed);
    assert_eq!(first["from"], "alice");
    assert_eq!(first["text"], "while you were out");
    assert_eq!(first["id"], mailed_id.as_str());

    // Online now: unquoted words, delivered directly, exit 0.
    let (code, out, err) = send(&alice, &["--json", "bob", "hello", "there"]);
    assert_eq!(code, Some(0), "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["outcome"], "delivered");
    assert_eq!(summary["path"], "direct");
    assert!(summary["rtt_ms"].as_u64().is_some(), "{summary}");
    let second = next(&printed);
    assert_eq!(second["text"], "hello there");
    assert!(
        printed.try_recv().is_err(),
        "the failed message was never sent later"
    );
    stop(listener);

    // bob's history has both, in order; alice's outbox knows the outcomes.
    let texts: Vec<String> = history(&bob, "alice").into_iter().map(|(t, _)| t).collect();
    assert_eq!(texts, ["while you were out", "hello there"]);
    let mine = history(&alice, "bob");
    assert_eq!(
        mine.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["while you were out", "direct or nothing", "hello there"]
    );
    assert_eq!(mine[1].1.as_deref(), Some("failed"));
    assert_eq!(mine[2].1.as_deref(), Some("delivered"));
}

#[test]
fn send_help_has_one_usage_line_and_bad_words_are_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_client(&["send", "--help"], "");
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(help.matches("Usage").count(), 1, "one usage line:\n{help}");
    assert!(
        help.contains(
            "p2p-chat send [OPTIONS] <USERNAME | --ip HOST:PORT | --group NAME> <TEXT>..."
        )
    );
    assert!(
        help.contains("--no-mailbox") && help.contains("--json"),
        "{help}"
    );
    let home = tmp.path().join("nobody");
    // Arguments the command cannot use exit 2, like those clap refuses itself.
    let (code, _, err) = send(&home, &["bob"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("give the USERNAME and the TEXT"), "{err}");
    let (code, _, err) = send(&home, &["--ip", "nowhere", "hi"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("HOST:PORT"), "{err}");
    // A word starting with '-' goes after `--`.
    let (code, _, err) = send(&home, &["bob", "deploy", "--force"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--"), "{err}");
}

#[test]
fn the_readme_tables_list_every_option_and_variable_of_help() {
    let help = |bin: &Path| {
        let out = Command::new(bin)
            .arg("--help")
            .output()
            .expect("run --help");
        String::from_utf8(out.stdout).unwrap()
    };
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let client = assert_table_covers(&readme, "`P2P_CHAT_LISTEN`", &help(&client_bin()));
    assert!(
        client >= 12,
        "only {client} client options and variables in --help"
    );
    let directory = assert_table_covers(
        &readme,
        "`P2P_CHAT_DIRECTORY_LISTEN`",
        &help(&directory_bin()),
    );
    assert!(
        directory > 20,
        "only {directory} directory options and variables in --help"
    );
}

/// Asserts that the README's table holding `anchor` (a block of `|` rows) names every option
/// and environment variable of `help`; returns how many it checked.
fn assert_table_covers(readme: &str, anchor: &str, help: &str) -> usize {
    let lines: Vec<&str> = readme.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with('|') && l.contains(anchor))
        .unwrap_or_else(|| panic!("the README has no table with {anchor}"));
    let start = (0..at)
        .rev()
        .find(|&i| !lines[i].starts_with('|'))
        .map_or(0, |i| i + 1);
    let end = (at..lines.len())
        .find(|&i| !lines[i].starts_with('|'))
        .unwrap_or(lines.len());
    let table = lines[start..end].join("\n");
    let options = help.split_whitespace().filter_map(|word| {
        let flag = word.trim_end_matches([',', '=']);
        let name = flag.strip_prefix("--")?;
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .then(|| flag.to_owned())
    });
    let variables = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split('=').next().map(str::to_owned));
    let mut checked = 0;
    for needle in options.chain(variables) {
        if matches!(needle.as_str(), "--help" | "--version") {
            continue;
        }
        // A flag may be followed by its value's name: `--listen ADDR`.
        assert!(
            table.contains(&format!("`{needle}`")) || table.contains(&format!("`{needle} ")),
            "README's table with {anchor} lacks `{needle}`:\n{table}"
        );
        checked += 1;
    }
    checked
}

#[test]
fn doctor_without_an_account_says_to_register() {
    let home = tempfile::tempdir().unwrap();
    let out = run_client(&["--home", home.path().to_str().unwrap(), "doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("p2p-chat register"), "{said}");
    // Garbage after the command is a usage error.
    let out = run_client(
        &["--home", home.path().to_str().unwrap(), "doctor", "now"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn doctor_on_this_machine_says_what_each_finding_means() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start_with(tmp.path(), "127.0.0.1:0", &["--relay", "off"]);
    let (alice, alice_port, _, _) = alice_and_bob(tmp.path(), &directory);
    let listen = format!("127.0.0.1:{alice_port}");
    let args = [
        "--home",
        alice.to_str().unwrap(),
        "--listen",
        &listen,
        "--no-port-mapping",
    ];
    let run = |extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        all.push("doctor");
        let out = run_client(&all, "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let said = run(&[]);
    assert!(
        said.contains("NAT          none — the directory runs on this machine"),
        "{said}"
    );
    assert!(said.contains("reachable    yes"), "{said}");
    assert!(said.contains("relay        off"), "{said}");
    assert!(said.contains("port mapping off"), "{said}");
    // With --relay-only on a directory without relay, the conflict is named.
    let said = run(&["--relay-only"]);
    assert!(said.contains("withholds this address"), "{said}");
    assert!(said.contains("relay only   cannot work here"), "{said}");
    // While a client of the profile holds the port, doctor says so once instead of judging
    // another port's mapping.
    let (_listening, _) = crate::listen::start_listen_on(&alice, &listen, &[]);
    let said = run(&[]);
    assert_eq!(said.matches("is held by a running").count(), 1, "{said}");
}

#[test]
fn register_tells_the_command_for_this_profile_and_knows_its_own_name() {
    let tmp = tempfile::tempdir().unwrap();
    let directory = Directory::start(tmp.path());
    let home = tmp.path().join("carol");
    let register = || {
        run_client(
            &[
                "--home",
                home.to_str().unwrap(),
                "--listen",
                "127.0.0.1:55601",
                "register",
                "carol",
                "--server",
                &directory.url,
                "--host",
                "127.0.0.1",
                "--password-stdin",
            ],
            "correct horse battery\n",
        )
    };
    let out = register();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let start = format!(
        "p2p-chat --home {} --listen 127.0.0.1:55601",
        home.display()
    );
    assert!(
        said.contains(&format!("Run `{start}` to start chatting")),
        "{said}"
    );
    // The same name again, from the profile that holds it: not "taken by someone".
    let out = register();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("already registered as carol"), "{said}");
    assert!(said.contains(&format!("`{start} login`")), "{said}");
}

#[test]
fn the_directory_prints_completion_scripts() {
    let out = Command::new(directory_bin())
        .args(["completions", "bash"])
        .output()
        .expect("run completions");
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    for word in [
        "_p2p__chat__directory",
        "migrate-to",
        "--database",
        "--relay",
    ] {
        assert!(script.contains(word), "lacks {word}");
    }
    // bash completes the arguments of a subcommand too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("directory.bash");
    std::fs::write(&path, &script).unwrap();
    let probe = format!(
        "source {}\nCOMP_WORDS=(p2p-chat-directory completions b)\nCOMP_CWORD=2\n_p2p__chat__directory p2p-chat-directory b completions\necho \"${{COMPREPLY[@]}}\"\n",
        path.display()
    );
    let out = Command::new("bash").arg("-c").arg(probe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bash");
    let out = Command::new(directory_bin())
        .args(["completions", "zsh"])
        .output()
        .expect("run completions");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("#compdef p2p-chat-directory"));
}
