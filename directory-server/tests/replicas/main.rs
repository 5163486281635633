//! Several directory processes (replicas) sharing one PostgreSQL database: whatever defines
//! behaviour is shared, so a client may talk to any of them on each request.

#[allow(dead_code)]
#[path = "../api/support.rs"]
mod support;

#[path = "../support/postgres.rs"]
mod postgres;

#[path = "../support/sockets.rs"]
mod sockets;

mod signaling;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use p2p_chat_directory::throttle::LoginBackoff;
use p2p_chat_directory::{AppState, Settings, app, open_store};
use serde_json::json;

use support::{call, fast_settings, login, register};

/// `count` replicas with `settings` over one new PostgreSQL database.
async fn replicas(count: usize, settings: &Settings) -> Vec<(AppState, Router)> {
    let url = tokio::task::spawn_blocking(postgres::database)
        .await
        .unwrap();
    let mut list = Vec::new();
    for _ in 0..count {
        let store = open_store(&url).await.expect("open PostgreSQL store");
        let state = AppState::new(store, settings.clone());
        list.push((state.clone(), app(state)));
    }
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guesser_gets_no_more_tries_from_two_replicas_than_from_one() {
    let settings = Settings {
        login_backoff: LoginBackoff {
            free_failures: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(8),
            ..LoginBackoff::default()
        },
        ..fast_settings()
    };
    let replicas = replicas(2, &settings).await;
    let (a, b) = (&replicas[0], &replicas[1]);
    register(&a.1, "xena", 1).await;
    let wrong = json!({"username": "xena", "password": "guess guess guess"});
    // Alternating replicas, as a guesser behind a load balancer would.
    for i in 0..4 {
        let app = if i % 2 == 0 { &a.1 } else { &b.1 };
        let reply = call(app, "POST", "/login", Some(wrong.clone()), None).await;
        reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // Four failures counted once, whichever replica asks: beyond the 2 free ones the third
    // earns 1 ms and the fourth 2 ms. (Each replica alone saw only 2: no delay.)
    for (state, _) in [a, b] {
        assert_eq!(
            state.login_delay("xena").await.unwrap(),
            Duration::from_millis(2)
        );
    }
    // The owner logs in on one replica; both forget the failures.
    login(&b.1, "xena").await;
    for (state, _) in [a, b] {
        assert_eq!(state.login_delay("xena").await.unwrap(), Duration::ZERO);
    }
}
