//! `POST /logout` and `PUT /clients/{username}/password`: both revoke tokens.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use p2p_chat_protocol::api::MAX_BODY_BYTES;
use serde_json::{Value, json};

use crate::support::{PASSWORD, call, login, register, send, test_app};

const NEW_PASSWORD: &str = "tr0ub4dor & 3";

fn change(old: &str, new: &str) -> Option<Value> {
    Some(json!({"old_password": old, "new_password": new}))
}

async fn heartbeat_status(app: &axum::Router, user: &str, token: &str) -> StatusCode {
    let path = format!("/clients/{user}/heartbeat");
    call(app, "POST", &path, None, Some(token)).await.status
}

#[tokio::test]
async fn logout_revokes_only_that_token() {
    let app = test_app().await;
    register(&app, "lena", 1).await;
    let first = login(&app, "lena").await;
    let second = login(&app, "lena").await;

    let reply = call(&app, "POST", "/logout", None, Some(&first)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    assert_eq!(
        heartbeat_status(&app, "lena", &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        heartbeat_status(&app, "lena", &second).await,
        StatusCode::NO_CONTENT
    );

    // The revoked token cannot log out again; no token at all is refused the same way.
    let reply = call(&app, "POST", "/logout", None, Some(&first)).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        reply.headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let reply = call(&app, "POST", "/logout", None, None).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let reply = call(&app, "GET", "/logout", None, Some(&second)).await;
    reply.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn a_password_change_revokes_every_token() {
    let app = test_app().await;
    register(&app, "max", 1).await;
    let first = login(&app, "max").await;
    let second = login(&app, "max").await;

    let path = "/clients/MAX/password";
    let reply = call(
        &app,
        "PUT",
        path,
        change(PASSWORD, NEW_PASSWORD),
        Some(&first),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    for token in [&first, &second] {
        assert_eq!(
            heartbeat_status(&app, "max", token).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let old = json!({"username": "max", "password": PASSWORD});
    let reply = call(&app, "POST", "/login", Some(old), None).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let new = json!({"username": "max", "password": NEW_PASSWORD});
    let reply = call(&app, "POST", "/login", Some(new), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn a_password_change_needs_the_owners_token_and_the_old_password() {
    let app = test_app().await;
    register(&app, "nora", 1).await;
    register(&app, "otto", 2).await;
    let nora = login(&app, "nora").await;
    let otto = login(&app, "otto").await;
    let path = "/clients/nora/password";

    let reply = call(
        &app,
        "PUT",
        path,
        change("not it at all", NEW_PASSWORD),
        Some(&nora),
    )
    .await;
    assert!(
        reply
            .error(StatusCode::UNAUTHORIZED, "unauthorized")
            .contains("old password")
    );
    // A wrong password is not a bad token: the client must not send the user to log in.
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    let reply = call(
        &app,
        "PUT",
        path,
        change(PASSWORD, NEW_PASSWORD),
        Some(&otto),
    )
    .await;
    reply.error(StatusCode::FORBIDDEN, "forbidden");
    let reply = call(&app, "PUT", path, change(PASSWORD, NEW_PASSWORD), None).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let reply = call(
        &app,
        "PUT",
        "/clients/ghost/password",
        change(PASSWORD, NEW_PASSWORD),
        Some(&nora),
    )
    .await;
    reply.error(StatusCode::FORBIDDEN, "forbidden");

    // Nothing changed: the token still works and the old password still logs in.
    assert_eq!(
        heartbeat_status(&app, "nora", &nora).await,
        StatusCode::NO_CONTENT
    );
    login(&app, "nora").await;
}

#[tokio::test]
async fn garbage_password_changes_are_refused_in_the_common_shape() {
    let app = test_app().await;
    register(&app, "pia", 1).await;
    let token = login(&app, "pia").await;
    let path = "/clients/pia/password";

    for (body, needle) in [
        (change(PASSWORD, "short"), "new_password"),
        (change(PASSWORD, &"x".repeat(73)), "new_password"),
        (Some(json!({"old_password": PASSWORD})), "new_password"),
        (Some(json!({"new_password": NEW_PASSWORD})), "old_password"),
        (
            Some(json!({"old_password": 1, "new_password": NEW_PASSWORD})),
            "old_password",
        ),
        (Some(json!("just a string")), "invalid request body"),
    ] {
        let reply = call(&app, "PUT", path, body.clone(), Some(&token)).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{body:?}: {message}");
    }

    let raw = |content_type: &str, bytes: Vec<u8>| {
        Request::builder()
            .method("PUT")
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes))
            .unwrap()
    };
    let reply = send(
        &app,
        raw("application/json", b"{\"old_password\":".to_vec()),
    )
    .await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_json");
    let reply = send(&app, raw("text/plain", b"hello".to_vec())).await;
    reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let huge = format!(
        "{{\"old_password\":\"{}\",\"new_password\":\"x\"}}",
        "a".repeat(MAX_BODY_BYTES)
    );
    let reply = send(&app, raw("application/json", huge.into_bytes())).await;
    reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let reply = send(&app, raw("application/json", vec![0xff, 0xfe, 0x00])).await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_json");

    // Logout ignores any body, even a huge one, and needs nothing but the token.
    let reply = send(
        &app,
        Request::builder()
            .method("POST")
            .uri("/logout")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(vec![b'x'; MAX_BODY_BYTES * 2]))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}
