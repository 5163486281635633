//! Per-address rate limits (429 with `Retry-After`) and the slow-down of wrong passwords.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use p2p_chat_directory::client_ip::parse_trusted_proxy;
use p2p_chat_directory::limits::RateLimit;
use p2p_chat_directory::throttle::LoginBackoff;
use p2p_chat_directory::{AppState, Settings, app};
use serde_json::json;

use crate::support::{
    PASSWORD, Reply, eventually, fast_settings, login, memory_state, register, request,
    request_from, send,
};

fn limited(burst: u32, replenish_every: Duration) -> Settings {
    Settings {
        rate_limit: Some(RateLimit {
            burst: NonZeroU32::new(burst).unwrap(),
            replenish_every,
        }),
        trusted_proxies: vec![parse_trusted_proxy("10.0.0.1").unwrap()],
        ..fast_settings()
    }
}

async fn lookup_from(app: &Router, peer: &str, xff: Option<&str>) -> Reply {
    send(
        app,
        request_from(peer, xff, request("GET", "/clients/wren", None, None)),
    )
    .await
}

#[tokio::test]
async fn over_the_budget_is_429_with_retry_after_until_it_refills() {
    // An hour per request: the bucket cannot refill while this test runs.
    let app = app(memory_state(limited(3, Duration::from_secs(3600))).await);
    register(&app, "wren", 1).await; // no connection information: a bucket of its own

    for _ in 0..3 {
        let reply = lookup_from(&app, "192.0.2.1:1", None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let reply = lookup_from(&app, "192.0.2.1:2", None).await;
    let message = reply.error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(message.contains("try again"), "{message}");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");

    // Other addresses have their own budget; behind the trusted proxy the client counts.
    assert_eq!(
        lookup_from(&app, "192.0.2.2:1", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        lookup_from(&app, "10.0.0.1:1", Some("192.0.2.3"))
            .await
            .status,
        StatusCode::OK
    );
    let reply = lookup_from(&app, "10.0.0.1:1", Some("192.0.2.1")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);

    // Every costly or revealing route shares the budget.
    for (method, uri, body) in [
        ("POST", "/register", Some(json!({}))),
        ("POST", "/login", Some(json!({}))),
        ("GET", "/clients", None),
        (
            "DELETE",
            "/clients/wren",
            Some(json!({"password": PASSWORD})),
        ),
        ("PUT", "/clients/wren/password", Some(json!({}))),
    ] {
        let reply = send(
            &app,
            request_from("192.0.2.1:3", None, request(method, uri, body, None)),
        )
        .await;
        reply.error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    }
}

#[tokio::test]
async fn the_budget_refills() {
    let app = app(memory_state(limited(1, Duration::from_millis(20))).await);
    register(&app, "wren", 1).await;
    assert_eq!(
        lookup_from(&app, "192.0.2.1:1", None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        lookup_from(&app, "192.0.2.1:1", None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    eventually("the bucket refills", || async {
        lookup_from(&app, "192.0.2.1:1", None).await.status == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn the_owners_heartbeats_and_updates_are_not_limited() {
    // Register and login come without connection information: a bucket of their own.
    let app = app(memory_state(limited(2, Duration::from_secs(3600))).await);
    register(&app, "wren", 1).await;
    let token = login(&app, "wren").await;
    let peer = "192.0.2.7:1";
    assert_eq!(lookup_from(&app, peer, None).await.status, StatusCode::OK);
    assert_eq!(lookup_from(&app, peer, None).await.status, StatusCode::OK);
    assert_eq!(
        lookup_from(&app, peer, None).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    for _ in 0..5 {
        let beat = request("POST", "/clients/wren/heartbeat", None, Some(&token));
        assert_eq!(
            send(&app, request_from(peer, None, beat)).await.status,
            StatusCode::NO_CONTENT
        );
        let put = request(
            "PUT",
            "/clients/wren",
            Some(json!({"host": "auto"})),
            Some(&token),
        );
        assert_eq!(
            send(&app, request_from(peer, None, put)).await.status,
            StatusCode::OK
        );
    }
    let health = request("GET", "/healthz", None, None);
    assert_eq!(
        send(&app, request_from(peer, None, health)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_passwords_slow_down_but_never_lock_out_the_owner() {
    let settings = Settings {
        login_backoff: LoginBackoff {
            free_failures: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            ..LoginBackoff::default()
        },
        ..fast_settings()
    };
    let state: AppState = memory_state(settings).await;
    let app = app(state.clone());
    register(&app, "xena", 1).await;
    let wrong = json!({"username": "xena", "password": "guess guess guess"});

    for _ in 0..2 {
        let reply = send(&app, request("POST", "/login", Some(wrong.clone()), None)).await;
        reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_eq!(
        state.login_delay("xena").await.unwrap(),
        Duration::ZERO,
        "typos are free"
    );
    for _ in 0..10 {
        let reply = send(&app, request("POST", "/login", Some(wrong.clone()), None)).await;
        // Still a plain 401: a slow-down, not a lockout or a different answer.
        reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    assert_eq!(
        state.login_delay("xena").await.unwrap(),
        Duration::from_millis(4),
        "capped"
    );
    assert_eq!(
        state.login_delay("yuri").await.unwrap(),
        Duration::ZERO,
        "per username"
    );
    // Wrong passwords to unregister count too.
    let reply = send(
        &app,
        request(
            "DELETE",
            "/clients/xena",
            Some(json!({"password": "nope nope"})),
            None,
        ),
    )
    .await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");

    // The owner still gets in, and that clears the slate.
    login(&app, "xena").await;
    assert_eq!(state.login_delay("xena").await.unwrap(), Duration::ZERO);
}
