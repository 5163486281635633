//! Who may list clients: `GET /clients` needs a token unless the listing is public;
//! `GET /clients/{username}` is always public.

use axum::http::StatusCode;
use p2p_chat_directory::{Settings, app};

use crate::support::{call, fast_settings, login, memory_state, register, test_app};

#[tokio::test]
async fn listing_needs_a_token_by_default() {
    let app = test_app().await;
    register(&app, "alma", 1).await;
    register(&app, "bert", 2).await;

    let reply = call(&app, "GET", "/clients", None, None).await;
    assert!(
        reply
            .error(StatusCode::UNAUTHORIZED, "unauthorized")
            .contains("log in")
    );
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    for bad in ["nonsense", &"0".repeat(64)] {
        let reply = call(&app, "GET", "/clients?limit=1", None, Some(bad)).await;
        reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // Any user's token will do, and lookups stay open.
    let token = login(&app, "bert").await;
    let reply = call(&app, "GET", "/clients", None, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["clients"].as_array().map(Vec::len), Some(2));
    let reply = call(&app, "GET", "/clients/alma", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn public_listing_opens_it() {
    let settings = Settings {
        public_listing: true,
        ..fast_settings()
    };
    let app = app(memory_state(settings).await);
    register(&app, "alma", 1).await;
    let reply = call(&app, "GET", "/clients", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["clients"][0]["username"], "alma");
    // A bad token is not an error where none is needed.
    let reply = call(&app, "GET", "/clients", None, Some("nonsense")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}
