//! End-to-end tests of the account commands: the real `p2p-chat` binary against a directory
//! served in-process on a random port, each test with its own profile directories.

mod account_support;
#[path = "account_support/config.rs"]
mod config;
#[path = "account_support/history.rs"]
mod history;
#[path = "account_support/https.rs"]
mod https;
#[path = "account_support/invites.rs"]
mod invites;
#[path = "account_support/keys.rs"]
mod keys;
#[path = "account_support/mailbox.rs"]
mod mailbox;
#[path = "account_support/sessions.rs"]
mod sessions;

use account_support::{PASSWORD, directory, no_profile, p2p, profile, register_args};
use p2p_chat_protocol::api::{ClientRecord, RegisterRequest};
use tempfile::TempDir;

#[test]
fn register_list_lookup_login_unregister() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();

    let out = p2p(
        home,
        &register_args("Alice", &dir.url),
        &format!("{PASSWORD}\n"),
    );
    // The test's profile is not the default one: the hint names it.
    let expected = format!(
        "Registered alice on {}; peers will reach you at 127.0.0.1:4000. Run `p2p-chat --home {} --listen 0.0.0.0:4000` to start chatting.\n",
        dir.url,
        home.display()
    );
    assert_eq!(out.assert_ok(), expected);
    let saved = profile(home);
    assert_eq!(saved["server"], dir.url.as_str());
    assert_eq!(saved["username"], "alice");
    let token = saved["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64);
    assert!(saved["token_expires_at"].is_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(home.join("profile.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    let list: Vec<ClientRecord> =
        serde_json::from_str(p2p(home, &["contacts", "--json"], "").assert_ok()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].username.as_str(), list[0].host.as_str()),
        ("alice", "127.0.0.1")
    );
    assert_eq!(list[0].port, 4000);
    assert!(
        !list[0].online,
        "registered, but no client running, so offline: {list:?}"
    );

    let table = p2p(home, &["contacts"], "");
    let lines: Vec<&str> = table.assert_ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("USERNAME") && lines[0].contains("ADDRESS"));
    assert!(lines[1].starts_with("alice") && lines[1].contains("127.0.0.1:4000"));
    assert!(lines[1].contains("last seen"), "{lines:?}");

    let record: ClientRecord =
        serde_json::from_str(p2p(home, &["lookup", "alice", "--json"], "").assert_ok()).unwrap();
    assert_eq!(record, list[0]);
    let text = p2p(home, &["lookup", "ALICE"], "");
    assert!(
        text.assert_ok().contains("address:    127.0.0.1:4000"),
        "{text:?}"
    );
    p2p(home, &["lookup", "nobody"], "").assert_error("no user named nobody on the directory");

    // The same name from another profile directory.
    let other = TempDir::new().unwrap();
    p2p(
        other.path(),
        &register_args("alice", &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_error("alice is already taken");
    assert!(no_profile(other.path()));

    let wrong = p2p(home, &["login", "--password-stdin"], "not the password\n");
    wrong.assert_error("wrong username or password");
    assert_eq!(
        profile(home)["token"],
        token.as_str(),
        "a failed login changed the profile"
    );

    // Windows line endings are stripped too, and the profile supplies server and username.
    let login = p2p(
        home,
        &["login", "--password-stdin"],
        &format!("{PASSWORD}\r\n"),
    );
    assert!(
        login.assert_ok().starts_with("Logged in as alice on "),
        "{login:?}"
    );
    let new_token = profile(home)["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, token);

    // A second profile directory holding the same account finds it gone later.
    let copy = TempDir::new().unwrap();
    std::fs::copy(home.join("profile.json"), copy.path().join("profile.json")).unwrap();

    let unregister = ["unregister", "--password-stdin"];
    p2p(home, &unregister, "wrong password\n").assert_error("wrong username or password");
    let gone = p2p(home, &unregister, &format!("{PASSWORD}\n"));
    assert_eq!(
        gone.assert_ok(),
        format!("Deleted the account alice from {}.\n", dir.url)
    );
    let saved = profile(home);
    assert_eq!(saved["server"], dir.url.as_str());
    assert!(
        saved["username"].is_null() && saved["token"].is_null(),
        "{saved}"
    );
    p2p(home, &["lookup", "alice"], "").assert_error("no user named alice");
    // Without a login, this directory does not list its users.
    p2p(home, &["contacts", "--json"], "").assert_error("run `p2p-chat login` first");
    p2p(home, &unregister, &format!("{PASSWORD}\n")).assert_error("nothing to unregister");

    let stale = p2p(copy.path(), &unregister, &format!("{PASSWORD}\n"));
    let expected = format!("alice was no longer registered on {}", dir.url);
    assert!(stale.assert_ok().contains(&expected), "{stale:?}");
    assert!(profile(copy.path())["username"].is_null());
}

#[test]
fn bad_inputs_fail_early_and_save_nothing() {
    let dir = directory();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let long = "x".repeat(73);
    let good = format!("{PASSWORD}\n");
    let cases: [(Vec<&str>, String, &str); 8] = [
        (
            register_args("A!", &dir.url),
            good.clone(),
            "username must be 3-32 characters",
        ),
        (
            register_args("al!ce", &dir.url),
            good.clone(),
            "username may contain only",
        ),
        (
            register_args("alice", &dir.url),
            "short\n".into(),
            "at least 8 bytes",
        ),
        (
            register_args("alice", &dir.url),
            format!("{long}\n"),
            "bcrypt",
        ),
        (
            register_args("alice", &dir.url),
            String::new(),
            "standard input is empty",
        ),
        (
            register_args("alice", "not-a-url"),
            good.clone(),
            "not a usable directory URL",
        ),
        (
            register_args("alice", &closed),
            good.clone(),
            "cannot reach the directory",
        ),
        (
            vec!["register", "alice", "--server", &closed, "--password-stdin"],
            good.clone(),
            "cannot reach the directory",
        ),
    ];
    for (args, stdin, needle) in cases {
        let home = TempDir::new().unwrap();
        p2p(home.path(), &args, &stdin).assert_error(needle);
        assert!(no_profile(home.path()), "{args:?} saved a profile");
    }

    let home = TempDir::new().unwrap();
    let home = home.path();
    p2p(home, &["contacts"], "").assert_error("no profile yet — run `p2p-chat register");
    p2p(home, &["login", "--password-stdin"], &good).assert_error("no profile yet");
    let bad_host = [
        "register",
        "alice",
        "--server",
        &dir.url,
        "--host",
        "a b",
        "--password-stdin",
    ];
    p2p(home, &bad_host, &good).assert_error("host must be an IP address or a DNS name");
    std::fs::write(home.join("profile.json"), "{oops").unwrap();
    p2p(home, &["contacts"], "").assert_error("is corrupt");
    // Nothing was registered by any of the above.
    let fresh = TempDir::new().unwrap();
    p2p(fresh.path(), &register_args("alice", &dir.url), &good).assert_ok();
}

#[test]
fn register_defaults_host_to_the_route_and_port_to_listen() {
    let dir = directory();
    let home = TempDir::new().unwrap();
    let home = home.path();
    let args = [
        "--listen",
        "0.0.0.0:7000",
        "register",
        "bob",
        "--server",
        &dir.url,
    ];
    let out = p2p(
        home,
        &[&args[..], &["--password-stdin"]].concat(),
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.assert_ok().contains("reach you at 127.0.0.1:7000."),
        "{out:?}"
    );

    let args = [
        "--listen",
        "127.0.0.1:0",
        "register",
        "carol",
        "--server",
        &dir.url,
    ];
    let out = p2p(
        home,
        &[&args[..], &["--password-stdin"]].concat(),
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.assert_ok().contains("reach you at 127.0.0.1:55555."),
        "{out:?}"
    );
    assert!(out.stderr.contains("note: the profile held bob"), "{out:?}");
    assert_eq!(profile(home)["username"], "carol");
}

#[test]
fn contacts_walks_every_page() {
    // 101 registrations at once from one address: more connections than the directory allows
    // one address by default.
    let dir = account_support::directory_with(p2p_chat_directory::Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        connections: p2p_chat_directory::connections::ConnectionLimits {
            max_per_address: 1000,
            ..Default::default()
        },
        ..Default::default()
    });
    let home = TempDir::new().unwrap();
    let home = home.path();
    p2p(
        home,
        &register_args("user-000", &dir.url),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();

    // 101 more users make 102: a full page of 100 and a short page of 2.
    p2p_chat::directory::install_crypto_provider();
    let http = reqwest::Client::new();
    dir.runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 1..=101 {
            let request = http
                .post(format!("{}/register", dir.url))
                .json(&RegisterRequest {
                    username: format!("user-{i:03}"),
                    password: PASSWORD.into(),
                    host: "127.0.0.1".into(),
                    port: Some(4000),
                    public_key: format!("{i:02x}").repeat(32),
                    invite: None,
                });
            tasks.spawn(async move { request.send().await.unwrap().status() });
        }
        while let Some(status) = tasks.join_next().await {
            assert_eq!(status.unwrap(), reqwest::StatusCode::CREATED);
        }
    });

    let out = p2p(home, &["contacts", "--json"], "");
    let list: Vec<ClientRecord> = serde_json::from_str(out.assert_ok()).unwrap();
    let names: Vec<String> = list.into_iter().map(|r| r.username).collect();
    let expected: Vec<String> = (0..=101).map(|i| format!("user-{i:03}")).collect();
    assert_eq!(names, expected);
}

#[test]
fn the_chat_window_without_a_terminal_says_it_needs_one() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        vec!["demo"],
        vec!["--listen", "127.0.0.1:0", "connect", "--ip", "127.0.0.1:9"],
    ] {
        p2p(home.path(), &args, "").assert_error("the chat window needs a terminal");
    }
}
