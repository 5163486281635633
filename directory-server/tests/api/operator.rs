//! The operator's commands against a running directory, as docs/deploy.md walks through them:
//! the real binary serving a SQLite file, and the same binary's `invite`, `users`, `mailbox`
//! and `backup` commands run beside it on that file.

use std::path::Path;
use std::process::Child;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::binary::{directory, launch, stop};
use crate::support::{PASSWORD, key};

/// Runs `p2p-chat-directory --database URL ARGS…`; its stdout, or a panic with its stderr.
fn operate(db: &str, args: &[&str]) -> String {
    let out = directory()
        .args(["--database", db])
        .args(args)
        .output()
        .expect("run the binary");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs a command that must fail; its stderr.
fn refused(db: &str, args: &[&str]) -> String {
    let out = directory()
        .args(["--database", db])
        .args(args)
        .output()
        .expect("run the binary");
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).expect("UTF-8")
}

fn serve(db: &str) -> (Child, String) {
    // No --registration: a new install's default.
    launch(
        directory(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            db,
            "--bcrypt-cost",
            "4",
        ],
    )
}

async fn post(url: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn register(url: &str, name: &str, invite: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({
        "username": name, "password": PASSWORD, "host": "127.0.0.1", "port": 4000,
        "public_key": key(1),
    });
    if let Some(code) = invite {
        body["invite"] = json!(code);
    }
    post(url, "/register", body).await
}

async fn login(url: &str, name: &str) -> (StatusCode, Value) {
    post(
        url,
        "/login",
        json!({"username": name, "password": PASSWORD}),
    )
    .await
}

async fn lookup(url: &str, name: &str) -> StatusCode {
    reqwest::get(format!("{url}/clients/{name}"))
        .await
        .expect("request")
        .status()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_invites_friends_disables_one_and_restores_a_backup() {
    p2p_chat_directory::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("directory.db").display());
    let (mut server, url) = serve(&db);

    let (status, body) = register(&url, "alice", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "invite_required");

    let made = operate(
        &db,
        &["invite", "create", "--uses", "2", "--note", "friends"],
    );
    let code = made.lines().next().unwrap().to_owned();
    assert!(made.contains(&format!("--invite {code}")), "{made}");
    for name in ["alice", "bob"] {
        let (status, body) = register(&url, name, Some(&code)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = register(&url, "carol", Some(&code)).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::FORBIDDEN, &json!("invite_invalid"))
    );
    let invites = json_lines(&operate(&db, &["invite", "list", "--json"]));
    assert_eq!(invites.len(), 1);
    assert_eq!(
        (
            &invites[0]["uses"],
            &invites[0]["state"],
            &invites[0]["note"]
        ),
        (&json!(2), &json!("used up"), &json!("friends"))
    );
    let table = operate(&db, &["invite", "list"]);
    assert!(table.contains("2/2") && !table.contains(&code), "{table}");

    let users = json_lines(&operate(&db, &["users", "list", "--json"]));
    let names: Vec<_> = users.iter().map(|u| u["username"].clone()).collect();
    assert_eq!(names, [json!("alice"), json!("bob")]);

    // Disabled while the directory runs: its next request sees it.
    let (status, _) = login(&url, "bob").await;
    assert_eq!(status, StatusCode::OK);
    operate(&db, &["users", "disable", "bob"]);
    let (status, body) = login(&url, "bob").await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::FORBIDDEN, &json!("account_disabled"))
    );
    assert_eq!(lookup(&url, "bob").await, StatusCode::NOT_FOUND);
    let shown = operate(&db, &["users", "show", "bob"]);
    assert!(shown.contains("state:       disabled"), "{shown}");
    let stats: Value =
        serde_json::from_str(&operate(&db, &["mailbox", "stats", "--json"])).unwrap();
    assert_eq!(stats["messages"], 0);

    let backup = dir.path().join("backup.db");
    let backup_arg = backup.display().to_string();
    let said = operate(&db, &["backup", &backup_arg]);
    assert!(said.contains("To restore"), "{said}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the copy holds password hashes");
    }
    assert!(refused(&db, &["backup", &backup_arg]).contains("exists already"));
    operate(&db, &["users", "delete", "alice"]);
    assert_eq!(lookup(&url, "alice").await, StatusCode::NOT_FOUND);
    stop(&mut server);

    // Restored as the backup says: the copy over the database file (its -wal and -shm gone).
    let live = dir.path().join("directory.db");
    for file in ["directory.db-wal", "directory.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    std::fs::copy(&backup, &live).unwrap();
    let (mut restored, url) = serve(&db);
    // Alice is back, bob still disabled.
    assert_eq!(lookup(&url, "alice").await, StatusCode::OK);
    assert_eq!(lookup(&url, "bob").await, StatusCode::NOT_FOUND);
    let (status, _) = login(&url, "alice").await;
    assert_eq!(status, StatusCode::OK);
    stop(&mut restored);
}

#[test]
fn operator_commands_refuse_a_missing_database_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("sqlite://{}", dir.path().join("nope.db").display());
    let err = refused(&missing, &["users", "list"]);
    assert!(
        err.contains("no database at") && err.contains("--database"),
        "{err}"
    );
    assert!(
        !Path::new(&dir.path().join("nope.db")).exists(),
        "nothing created"
    );

    let db = format!("sqlite://{}", dir.path().join("directory.db").display());
    let (mut server, _) = serve(&db);
    for (args, says) in [
        (&["invite", "create", "--uses", "0"][..], "--uses"),
        (&["invite", "create", "--expires", "soon"][..], "--expires"),
        (
            &["invite", "create", "--expires", "0s"][..],
            "at least one second",
        ),
        (&["invite", "create", "--note", "two\nlines"][..], "--note"),
        (&["invite", "revoke", "7"][..], "no usable invite 7"),
        (&["invite", "revoke", "x"][..], "ID"),
        (&["users", "disable", "nobody"][..], "no account named"),
        (&["users", "show", "a"][..], "username"),
        (
            &["backup", "/nonexistent-folder/b.db"][..],
            "does not exist",
        ),
    ] {
        let err = refused(&db, args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(operate(&db, &["users", "list"]).contains("No accounts yet"));
    assert!(operate(&db, &["invite", "list"]).contains("invite create"));
    stop(&mut server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_applies_each_registration_mode() {
    p2p_chat_directory::tls::install_crypto_provider();
    for (mode, status, code) in [
        (
            "closed",
            StatusCode::FORBIDDEN,
            json!("registration_closed"),
        ),
        ("invite", StatusCode::FORBIDDEN, json!("invite_required")),
        ("open", StatusCode::CREATED, Value::Null),
    ] {
        let mut command = directory();
        command.env("P2P_CHAT_DIRECTORY_REGISTRATION", mode);
        let (mut server, url) = launch(
            command,
            &[
                "--listen",
                "127.0.0.1:0",
                "--database",
                "sqlite::memory:",
                "--bcrypt-cost",
                "4",
            ],
        );
        let (got, body) = register(&url, "alice", None).await;
        assert_eq!((got, &body["error"]), (status, &code), "{mode}: {body}");
        stop(&mut server);
    }
}
