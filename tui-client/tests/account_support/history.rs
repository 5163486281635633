//! `history` (with `--grep`) and the completion scripts, through the real binary.

use crate::account_support::p2p;

/// Stores `messages` (sender, text) as received in the profile `home`, a millisecond apart.
fn seed(home: &std::path::Path, messages: &[(&str, String)]) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = p2p_chat::store::LocalStore::open(home).await.unwrap();
        for (n, (peer, text)) in messages.iter().enumerate() {
            let id = p2p_chat_protocol::MessageId::new();
            store
                .insert_incoming(peer, id, 1_700_000_000_000 + n as u64, text)
                .await
                .unwrap();
        }
        store.close().await;
    });
}

#[test]
fn history_says_when_older_messages_are_not_shown() {
    let home = tempfile::tempdir().unwrap();
    let messages: Vec<_> = (0..25).map(|n| ("bob", format!("m{n}"))).collect();
    seed(home.path(), &messages);
    let out = p2p(home.path(), &["history", "bob"], "");
    assert_eq!(out.assert_ok().lines().count(), 20);
    assert!(
        out.stderr.contains("showing the newest 20") && out.stderr.contains("--limit"),
        "{}",
        out.stderr
    );
    let all = p2p(home.path(), &["history", "bob", "--limit", "25"], "");
    assert_eq!(all.assert_ok().lines().count(), 25);
    assert!(all.stderr.is_empty(), "{}", all.stderr);
}

#[test]
fn history_grep_finds_messages_as_search_does() {
    let home = tempfile::tempdir().unwrap();
    let texts = [
        ("bob", "Lunch at the Café?"),
        ("bob", "no"),
        ("carol", "cafe with carol"),
        ("bob", "first line\nthe cafe again"),
    ];
    seed(
        home.path(),
        &texts.map(|(peer, text)| (peer, text.to_owned())),
    );
    let out = p2p(home.path(), &["history", "bob", "--grep", "CAFE"], "");
    let lines: Vec<&str> = out.assert_ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].ends_with("bob: Lunch at the Café?"),
        "oldest first: {lines:?}"
    );
    assert!(
        lines[1].ends_with("bob: first line the cafe again"),
        "{lines:?}"
    );
    let out = p2p(
        home.path(),
        &["history", "bob", "--grep", "caf", "--json", "--limit", "1"],
        "",
    );
    let json: serde_json::Value = serde_json::from_str(out.assert_ok().trim()).unwrap();
    assert_eq!(json["text"], "first line\nthe cafe again", "the newest hit");
    let out = p2p(home.path(), &["history", "bob", "--grep", "zebra"], "");
    assert!(
        out.assert_ok()
            .contains("no message with bob contains \"zebra\"")
    );
    // FTS5 syntax is matched as words, never an error.
    let out = p2p(
        home.path(),
        &["history", "bob", "--grep", "\"NEAR( AND *"],
        "",
    );
    assert!(out.assert_ok().contains("no message"), "{out:?}");
}

#[test]
fn completion_scripts_for_each_shell_and_bash_accepts_its_own() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _p2p__chat"),
        ("zsh", "#compdef p2p-chat"),
        ("fish", "complete -c p2p-chat"),
    ] {
        let out = p2p(home.path(), &["completions", shell], "");
        let script = out.assert_ok();
        assert!(script.contains(marker), "{shell}: {script}");
        // Subcommands and their options are offered.
        for word in ["register", "send", "history", "grep", "config"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
        if shell == "bash" {
            let path = home.path().join("p2p-chat.bash");
            std::fs::write(&path, script).unwrap();
            let syntax = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .status()
                .unwrap();
            assert!(syntax.success(), "bash -n refuses the script");
        }
    }
    // bash really completes: options of the program and of a subcommand.
    let bash = |words: &[&str]| -> String {
        let path = home.path().join("p2p-chat.bash");
        let line = words.join(" ");
        let script = format!(
            "source {}\nCOMP_WORDS=({line})\nCOMP_CWORD={}\n_p2p__chat p2p-chat \"{}\" \"{}\"\necho \"${{COMPREPLY[@]}}\"\n",
            path.display(),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(bash(&["p2p-chat", "--hom"]).contains("--home"));
    assert!(bash(&["p2p-chat", "reg"]).contains("register"));
    let register = bash(&["p2p-chat", "register", "--s"]);
    assert!(register.contains("--server"), "{register:?}");
    assert!(bash(&["p2p-chat", "history", "bob", "--gr"]).contains("--grep"));
    let out = p2p(home.path(), &["completions", "tcsh"], "");
    assert!(
        !out.success && out.stderr.contains("possible values"),
        "{out:?}"
    );
}
