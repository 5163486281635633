//! The address the directory observes (`observed_host`), `X-Forwarded-For` from trusted
//! proxies only, `host: "auto"`, and identity key rotation.

use axum::Router;
use axum::http::StatusCode;
use p2p_chat_directory::client_ip::parse_trusted_proxy;
use p2p_chat_directory::{Settings, app};
use serde_json::{Value, json};

use crate::support::{
    PASSWORD, Reply, fast_settings, key, login, memory_state, request, request_from, send, test_app,
};

const PROXY: &str = "10.0.0.2:40000";

async fn behind_proxy() -> Router {
    let settings = Settings {
        trusted_proxies: vec![parse_trusted_proxy("10.0.0.0/24").unwrap()],
        ..fast_settings()
    };
    app(memory_state(settings).await)
}

fn registration(name: &str, host: &str) -> Option<Value> {
    Some(json!({"username": name, "password": PASSWORD, "host": host, "public_key": key(3)}))
}

async fn from(
    app: &Router,
    peer: &str,
    xff: Option<&str>,
    req: (&str, &str, Option<Value>, Option<&str>),
) -> Reply {
    let (method, uri, body, token) = req;
    send(
        app,
        request_from(peer, xff, request(method, uri, body, token)),
    )
    .await
}

async fn observed(app: &Router, name: &str) -> Value {
    let reply = send(app, request("GET", &format!("/clients/{name}"), None, None)).await;
    reply.json["observed_host"].clone()
}

#[tokio::test]
async fn the_tcp_peer_is_observed_and_forwarded_for_is_ignored_without_trust() {
    let app = test_app().await;
    let spoofed = Some("198.51.100.66");
    let reply = from(
        &app,
        "203.0.113.5:5000",
        spoofed,
        (
            "POST",
            "/register",
            registration("rita", "rita.example"),
            None,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["observed_host"], "203.0.113.5");
    assert_eq!(reply.json["host"], "rita.example", "the given host is kept");

    let token = login(&app, "rita").await;
    let reply = from(
        &app,
        "[2001:db8::7]:1",
        spoofed,
        ("POST", "/clients/rita/heartbeat", None, Some(&token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(observed(&app, "rita").await, "2001:db8::7");

    let body = Some(json!({"host": "10.1.1.1"}));
    let reply = from(
        &app,
        "[::ffff:192.0.2.9]:1",
        spoofed,
        ("PUT", "/clients/rita", body, Some(&token)),
    )
    .await;
    assert_eq!(reply.json["observed_host"], "192.0.2.9", "{}", reply.text);

    // Without connection information (no socket), nothing new is observed.
    let reply = send(
        &app,
        request("POST", "/clients/rita/heartbeat", None, Some(&token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(observed(&app, "rita").await, "192.0.2.9");
}

#[tokio::test]
async fn trusted_proxies_pass_on_the_client_address() {
    let app = behind_proxy().await;
    // The client put a fake entry first; the proxy appended the real one.
    let xff = Some("6.6.6.6, 203.0.113.20");
    let reply = from(
        &app,
        PROXY,
        xff,
        ("POST", "/register", registration("sven", "auto"), None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["observed_host"], "203.0.113.20");
    assert_eq!(
        reply.json["host"], "203.0.113.20",
        "auto uses the observed address"
    );

    // A peer outside the trusted network cannot spoof.
    let token = login(&app, "sven").await;
    let reply = from(
        &app,
        "192.0.2.50:1",
        Some("203.0.113.99"),
        ("POST", "/clients/sven/heartbeat", None, Some(&token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(observed(&app, "sven").await, "192.0.2.50");

    // Through the proxy without a header, the proxy itself is all we know.
    from(
        &app,
        PROXY,
        None,
        ("POST", "/clients/sven/heartbeat", None, Some(&token)),
    )
    .await;
    assert_eq!(observed(&app, "sven").await, "10.0.0.2");
}

#[tokio::test]
async fn host_auto_follows_the_connection_and_needs_one() {
    let app = test_app().await;
    let reply = from(
        &app,
        "192.0.2.1:9",
        None,
        ("POST", "/register", registration("tara", "AUTO"), None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["host"], "192.0.2.1");
    let token = login(&app, "tara").await;

    let body = Some(json!({"host": "auto", "port": 7000}));
    let reply = from(
        &app,
        "[2001:db8::9]:9",
        None,
        ("PUT", "/clients/tara", body.clone(), Some(&token)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        (&reply.json["host"], &reply.json["port"]),
        (&json!("2001:db8::9"), &json!(7000))
    );

    // No connection information: "auto" cannot be honoured.
    let reply = send(&app, request("PUT", "/clients/tara", body, Some(&token))).await;
    let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(message.contains("auto"), "{message}");
    let reply = send(
        &app,
        request("POST", "/register", registration("ugo", "auto"), None),
    )
    .await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn put_rotates_the_identity_key() {
    let app = test_app().await;
    let reply = send(
        &app,
        request("POST", "/register", registration("vera", "h"), None),
    )
    .await;
    assert_eq!(reply.json["public_key"], key(3));
    let token = login(&app, "vera").await;

    let upper = key(0xab).to_uppercase();
    let body = Some(json!({"host": "h", "public_key": upper}));
    let reply = send(&app, request("PUT", "/clients/vera", body, Some(&token))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["public_key"], key(0xab), "stored in lower case");
    let fetched = send(&app, request("GET", "/clients/vera", None, None)).await;
    assert_eq!(fetched.json["public_key"], key(0xab));

    // Without a key the current one stays; a bad one changes nothing.
    let body = Some(json!({"host": "h2"}));
    let reply = send(&app, request("PUT", "/clients/vera", body, Some(&token))).await;
    assert_eq!(reply.json["public_key"], key(0xab));
    for bad in [
        json!("ab"),
        json!("zz".repeat(32)),
        json!(42),
        json!("ab".repeat(9000)),
    ] {
        let body = Some(json!({"host": "h3", "public_key": bad}));
        let reply = send(&app, request("PUT", "/clients/vera", body, Some(&token))).await;
        assert!(reply.status.is_client_error(), "{}", reply.text);
    }
    let fetched = send(&app, request("GET", "/clients/vera", None, None)).await;
    assert_eq!(
        (&fetched.json["host"], &fetched.json["public_key"]),
        (&json!("h2"), &json!(key(0xab)))
    );
}
