//! `/ping`, `/healthz` and the fallbacks.

use axum::http::StatusCode;
use p2p_chat_directory::app;
use serde_json::json;

use crate::support::{call, fast_settings, memory_state, test_app};

#[tokio::test]
async fn ping_answers_pong_as_text() {
    let reply = call(&test_app().await, "GET", "/ping", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text, "pong");
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
}

#[tokio::test]
async fn healthz_is_ok_while_the_store_answers() {
    let reply = call(&test_app().await, "GET", "/healthz", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({"status": "ok"}));
}

#[tokio::test]
async fn healthz_is_503_when_the_store_is_unreachable() {
    let state = memory_state(fast_settings()).await;
    let app = app(state.clone());
    state.store().close().await;

    let reply = call(&app, "GET", "/healthz", None, None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json, json!({"status": "unavailable"}));

    // Other routes say so in the common error shape; /ping needs no store.
    let reply = call(&app, "GET", "/clients/alice", None, None).await;
    assert!(
        reply
            .error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            .contains("database")
    );
    assert_eq!(
        call(&app, "GET", "/ping", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let app = test_app().await;
    for path in ["/", "/nope", "/clients/alice/nope", "/register/x"] {
        let reply = call(&app, "GET", path, None, None).await;
        assert!(
            reply
                .error(StatusCode::NOT_FOUND, "not_found")
                .contains(path),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_405_json() {
    let app = test_app().await;
    for (method, path) in [
        ("GET", "/register"),
        ("PATCH", "/clients/alice"),
        ("POST", "/ping"),
    ] {
        let reply = call(&app, method, path, None, None).await;
        let message = reply.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert!(
            message.contains(method) && message.contains(path),
            "{message}"
        );
    }
    let reply = call(&app, "PATCH", "/clients/alice", None, None).await;
    let allow = reply.headers["allow"].to_str().unwrap();
    for method in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
}

#[tokio::test]
async fn head_works_where_get_does() {
    let reply = call(&test_app().await, "HEAD", "/ping", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text.is_empty());
}
