//! `POST /register` and `POST /login`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use p2p_chat_directory::app;
use p2p_chat_protocol::api::MAX_BODY_BYTES;
use serde_json::{Value, json};

use crate::support::{
    PASSWORD, Reply, call, fast_settings, key, login, memory_state, register, send, test_app,
};

fn body(username: &str, password: &str, host: &str) -> Value {
    json!({"username": username, "password": password, "host": host, "public_key": key(7)})
}

async fn post_raw(app: &axum::Router, content_type: Option<&str>, bytes: Vec<u8>) -> Reply {
    let mut builder = Request::builder().method("POST").uri("/register");
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    send(app, builder.body(Body::from(bytes)).unwrap()).await
}

#[tokio::test]
async fn register_returns_the_public_record() {
    let app = test_app().await;
    let before = Utc::now();
    let reply = call(
        &app,
        "POST",
        "/register",
        Some(body("Alice", PASSWORD, "127.0.0.1")),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.headers["location"], "/clients/alice");
    let record = &reply.json;
    assert_eq!(record["username"], "alice");
    assert_eq!(record["host"], "127.0.0.1");
    assert_eq!(record["port"], 55555, "default port");
    assert_eq!(
        record["online"], false,
        "online only once a running client heartbeats"
    );
    let registered: DateTime<Utc> = record["registered_at"].as_str().unwrap().parse().unwrap();
    assert!(registered >= before - chrono::Duration::milliseconds(1));
    assert_eq!(record["registered_at"], record["last_seen"]);
    let mut keys: Vec<_> = record.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "host",
            "last_seen",
            "observed_host",
            "online",
            "port",
            "public_key",
            "registered_at",
            "username"
        ]
    );
    assert!(
        !reply.text.contains("$2"),
        "no password hash in {}",
        reply.text
    );

    let fetched = call(&app, "GET", "/clients/ALICE", None, None).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json["port"], 55555);
}

#[tokio::test]
async fn register_keeps_an_explicit_port_and_normalises_the_host() {
    let app = test_app().await;
    let mut request = body("bob", PASSWORD, "Chat.Example.ORG");
    request["port"] = json!(4000);
    let reply = call(&app, "POST", "/register", Some(request), None).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["host"], "chat.example.org");
    assert_eq!(reply.json["port"], 4000);
}

#[tokio::test]
async fn taken_usernames_are_409_whatever_their_case() {
    let app = test_app().await;
    register(&app, "carol", 1).await;
    let reply = call(
        &app,
        "POST",
        "/register",
        Some(body("CAROL", PASSWORD, "::1")),
        None,
    )
    .await;
    assert!(
        reply
            .error(StatusCode::CONFLICT, "username_taken")
            .contains("carol")
    );
}

/// A valid registration of alice with one field replaced.
fn with(field: &str, value: Value) -> Value {
    let mut request = body("alice", PASSWORD, "h");
    request[field] = value;
    request
}

/// A valid registration of alice without one field.
fn without(field: &str) -> Value {
    let mut request = body("alice", PASSWORD, "h");
    request.as_object_mut().map(|fields| fields.remove(field));
    request
}

#[tokio::test]
async fn invalid_fields_are_400_and_named() {
    let app = test_app().await;
    let long_password = "p".repeat(73);
    let cases = [
        (body("ab", PASSWORD, "127.0.0.1"), "username"),
        (body("al ice", PASSWORD, "127.0.0.1"), "username"),
        (body("alice", "short", "127.0.0.1"), "password"),
        (body("alice", PASSWORD, "not a host!"), "host"),
        (body("alice", PASSWORD, ""), "host"),
        (with("port", json!(0)), "port"),
        (with("port", json!(65536)), "port"),
        (with("port", json!(-1)), "port"),
        (with("port", json!("80")), "port"),
        (with("username", json!(7)), "username"),
        (without("username"), "username"),
        (without("password"), "password"),
        (without("host"), "host"),
        (without("public_key"), "public_key"),
        (with("public_key", json!("")), "public_key"),
        (with("public_key", json!("ab".repeat(31))), "public_key"),
        (with("public_key", json!("zz".repeat(32))), "public_key"),
        (with("public_key", json!(["ab"])), "public_key"),
        (with("public_key", json!("ab".repeat(5000))), "public_key"),
        (body("alice", &long_password, "127.0.0.1"), "bcrypt"),
    ];
    for (request, needle) in cases {
        let reply = call(&app, "POST", "/register", Some(request.clone()), None).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{request}: {message}");
    }
    // Nothing was registered by the refused requests.
    let lookup = call(&app, "GET", "/clients/alice", None, None).await;
    lookup.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = test_app().await;
    for garbage in [
        &b"{"[..],
        b"not json",
        b"",
        b"{\"username\": }",
        b"\xff\xfe",
    ] {
        let reply = post_raw(&app, Some("application/json"), garbage.to_vec()).await;
        reply.error(StatusCode::BAD_REQUEST, "invalid_json");
    }
    let reply = post_raw(&app, Some("application/json"), b"[1, 2]".to_vec()).await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let app = test_app().await;
    let json_bytes = body("alice", PASSWORD, "127.0.0.1")
        .to_string()
        .into_bytes();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let reply = post_raw(&app, content_type, json_bytes.clone()).await;
        reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    // `+json` media types are JSON.
    let reply = post_raw(&app, Some("application/vnd.p2p+json"), json_bytes).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn bodies_over_16_kib_are_413() {
    let app = test_app().await;
    let big = body("alice", &"x".repeat(MAX_BODY_BYTES), "127.0.0.1").to_string();
    let reply = post_raw(&app, Some("application/json"), big.into_bytes()).await;
    let message = reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains(&MAX_BODY_BYTES.to_string()), "{message}");

    // Just under the limit is read (and then refused for its content, not its size).
    let mut padded = body("alice", PASSWORD, "127.0.0.1").to_string();
    padded.insert_str(1, &" ".repeat(MAX_BODY_BYTES - padded.len()));
    assert_eq!(padded.len(), MAX_BODY_BYTES);
    let reply = post_raw(&app, Some("application/json"), padded.into_bytes()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn login_issues_a_hex_token_that_expires_after_the_ttl() {
    let settings = fast_settings();
    let ttl = settings.token_ttl;
    let app = app(memory_state(settings).await);
    register(&app, "dave", 1).await;
    let before = Utc::now();
    let reply = call(
        &app,
        "POST",
        "/login",
        Some(json!({"username": "DAVE", "password": PASSWORD})),
        None,
    )
    .await;
    let after = Utc::now();
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let token = reply.json["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let expires: DateTime<Utc> = reply.json["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = chrono::Duration::from_std(ttl).unwrap();
    assert!(
        expires >= before + ttl && expires <= after + ttl,
        "{expires}"
    );
    assert_ne!(
        login(&app, "dave").await,
        token,
        "every login gets a new token"
    );
}

#[tokio::test]
async fn wrong_username_or_password_get_the_same_401() {
    let app = test_app().await;
    register(&app, "erin", 1).await;
    let attempts = [
        json!({"username": "erin", "password": "wrong password"}),
        json!({"username": "nobody", "password": PASSWORD}),
        json!({"username": "x", "password": PASSWORD}),
        json!({"username": "erin", "password": format!("{PASSWORD}{}", "!".repeat(80))}),
    ];
    let mut messages = Vec::new();
    for attempt in attempts {
        let reply = call(&app, "POST", "/login", Some(attempt), None).await;
        messages.push(
            reply
                .error(StatusCode::UNAUTHORIZED, "unauthorized")
                .to_owned(),
        );
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
    assert!(
        messages.windows(2).all(|pair| pair[0] == pair[1]),
        "{messages:?}"
    );
    assert!(messages[0].contains("username or password"));

    let reply = call(
        &app,
        "POST",
        "/login",
        Some(json!({"username": "erin"})),
        None,
    )
    .await;
    assert!(
        reply
            .error(StatusCode::BAD_REQUEST, "invalid_request")
            .contains("password")
    );
}
