//! bcrypt must not run on the async workers: on a single-threaded runtime, a storm of logins
//! must not keep `/ping` from being answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use p2p_chat_directory::{Settings, app};
use serde_json::json;

use crate::support::{PASSWORD, call, eventually, memory_state, register};

/// Two rounds for the two hashing threads: well within their burst of hashing time and the
/// 5 s a login may wait for a thread.
const LOGINS: usize = 4;

#[tokio::test(flavor = "current_thread")]
async fn ping_is_answered_while_logins_hash() {
    let state = memory_state(Settings {
        // Slow enough that the logins are certainly still running when /ping returns.
        bcrypt_cost: 10,
        hash_concurrency: 2,
        ..Settings::default()
    })
    .await;
    let app = app(state.clone());
    register(&app, "pete", 1).await;

    let completed = Arc::new(AtomicUsize::new(0));
    let logins: Vec<_> = (0..LOGINS)
        .map(|_| {
            let (app, completed) = (app.clone(), Arc::clone(&completed));
            tokio::spawn(async move {
                let body = json!({"username": "pete", "password": PASSWORD});
                let reply = call(&app, "POST", "/login", Some(body), None).await;
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
                completed.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();

    // Wait until bcrypt is running. If it ran on this (only) worker thread, this task could
    // never observe it in flight, and the wait would time out.
    eventually("a login is hashing", || async {
        state.hashes_in_flight() > 0
    })
    .await;
    let ping = call(&app, "GET", "/ping", None, None).await;
    let done = completed.load(Ordering::SeqCst);
    assert_eq!(ping.text, "pong");
    assert!(
        done < LOGINS,
        "all {done} logins finished before /ping was answered"
    );

    for login in logins {
        login.await.expect("login task");
    }
    assert_eq!(completed.load(Ordering::SeqCst), LOGINS);
    // A hashing thread gives its slot back just after it answered.
    eventually("every hashing slot is free again", || async {
        state.hashes_in_flight() == 0
    })
    .await;
}
