//! A full disk: writes are acknowledged only once durable, a full disk answers 503, and the
//! directory recovers by itself when space returns. The database lives on a small tmpfs the
//! test mounts (the tests run as root, as CI does).

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use futures::future::join_all;
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_directory::{AppState, app, open_store};
use serde_json::json;

use crate::mailbox::{deposit, fetch_all, with_limits};
use crate::support::{PASSWORD, call, key, login, register};

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct Tmpfs<'a>(&'a Path);

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root");
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_loses_no_acknowledged_write_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let _tmpfs = Tmpfs::mount(dir.path(), "2m");
    // Room to give back later.
    let filler = dir.path().join("filler");
    std::fs::write(&filler, vec![0u8; 512 * 1024]).unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let limits = MailboxLimits {
        max_messages: 100_000,
        max_bytes: 1 << 30,
        ..MailboxLimits::default()
    };
    let store = open_store(&url).await.unwrap();
    let first = app(AppState::new(store.clone(), with_limits(limits)));
    register(&first, "alice", 1).await;
    register(&first, "bob", 2).await;
    let alice = login(&first, "alice").await;
    let bob = login(&first, "bob").await;

    // Deposit from four clients at once until the disk is full: every 201 must be kept, and
    // the refusal is a 503 that says why.
    let blob = vec![7u8; 16 * 1024];
    let mut acknowledged = 0usize;
    let mut refusals = Vec::new();
    while refusals.is_empty() {
        let replies = join_all((0..4).map(|_| deposit(&first, Some(&alice), "bob", &blob))).await;
        for reply in replies {
            match reply.status {
                StatusCode::CREATED => acknowledged += 1,
                _ => refusals.push(reply),
            }
        }
        assert!(acknowledged < 1000, "the disk never filled");
    }
    for refusal in &refusals {
        assert_eq!(
            refusal.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            refusal.text
        );
        assert!(refusal.text.contains("disk is full"), "{}", refusal.text);
    }
    // More writes against the full disk, several at once: refused, never half-made.
    for _ in 0..3 {
        let replies = join_all((0..4).map(|_| deposit(&first, Some(&alice), "bob", &blob))).await;
        for reply in replies {
            if reply.status == StatusCode::CREATED {
                acknowledged += 1;
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "{}",
                    reply.text
                );
            }
        }
    }
    // Registrations fail the same way, and nothing half-written is left.
    let reply = call(
        &first,
        "POST",
        "/register",
        Some(json!({"username": "carol", "password": PASSWORD, "host": "h", "public_key": key(3)})),
        None,
    )
    .await;
    assert!(
        reply.status == StatusCode::SERVICE_UNAVAILABLE || reply.status == StatusCode::CREATED,
        "{} {}",
        reply.status,
        reply.text
    );
    let carol_registered = reply.status == StatusCode::CREATED;
    // Reads still work and see exactly what was acknowledged.
    assert_eq!(fetch_all(&first, &bob).await.len(), acknowledged);

    // Space returns: the same process takes writes again, several at once, without a
    // restart and without "database is locked".
    std::fs::remove_file(&filler).unwrap();
    let replies = join_all((0..8).map(|n| {
        let first = first.clone();
        async move {
            let body = json!({"username": format!("user{n}"), "password": PASSWORD,
                              "host": "h", "public_key": key(10 + n)});
            call(&first, "POST", "/register", Some(body), None).await
        }
    }))
    .await;
    for reply in replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let replies = join_all((0..8).map(|_| deposit(&first, Some(&alice), "bob", b"small"))).await;
    for reply in replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        acknowledged += 1;
    }
    let reply = call(
        &first,
        "POST",
        "/register",
        Some(json!({"username": "dave", "password": PASSWORD, "host": "h", "public_key": key(4)})),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    store.close().await;
    drop(first);

    // After a restart everything acknowledged is there, and reads agree.
    let store = open_store(&url).await.unwrap();
    let second = app(AppState::new(store.clone(), with_limits(limits)));
    // bob's token from before the restart: reading needs no write (the disk is nearly full).
    assert_eq!(fetch_all(&second, &bob).await.len(), acknowledged);
    assert_eq!(fetch_all(&second, &bob).await.len(), acknowledged);
    let mut expected: Vec<(String, bool)> = (0..8).map(|n| (format!("user{n}"), true)).collect();
    expected.push(("dave".into(), true));
    expected.push(("carol".into(), carol_registered));
    for (name, present) in expected {
        let reply = call(&second, "GET", &format!("/clients/{name}"), None, None).await;
        let expected = if present {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(reply.status, expected, "{name}: {}", reply.text);
    }
    store.close().await;
}
