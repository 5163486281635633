//! Helpers shared by the test modules.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use p2p_chat_directory::{AppState, Settings, app, open_store};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Password used for every test account.
pub const PASSWORD: &str = "correct horse battery";

/// Fast settings for tests: bcrypt cost 4 (the minimum), no rate limit (tests send many
/// requests from one address; `limits.rs` tests the limit), otherwise defaults.
pub fn fast_settings() -> Settings {
    Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        ..Settings::default()
    }
}

/// A state over a fresh in-memory database.
pub async fn memory_state(settings: Settings) -> AppState {
    let store = open_store("sqlite::memory:")
        .await
        .expect("open in-memory store");
    AppState::new(store, settings)
}

/// The router over a fresh in-memory database with [`fast_settings`].
pub async fn test_app() -> Router {
    app(memory_state(fast_settings()).await)
}

/// The router over a fresh in-memory database that lists clients without a token.
pub async fn public_app() -> Router {
    app(memory_state(Settings {
        public_listing: true,
        ..fast_settings()
    })
    .await)
}

/// A response, its body parsed as JSON when possible.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// Asserts the common error shape with this status and code, and returns the message.
    #[track_caller]
    pub fn error(&self, status: StatusCode, code: &str) -> &str {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.json["error"], code, "{}", self.text);
        let keys: Vec<_> = self.json.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["error", "message"], "{}", self.text);
        self.json["message"].as_str().expect("message is a string")
    }
}

/// Builds a request; `body` is sent as JSON unless it is a raw (content type, bytes) pair.
pub fn request(method: &str, uri: &str, body: Option<Value>, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(value) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(value.to_string())
        }
        None => Body::empty(),
    };
    builder.body(body).expect("valid request")
}

/// Sends a request through the router and reads the whole answer.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// [`request`] as if it came over TCP from `peer`, with an `X-Forwarded-For` header when
/// `forwarded_for` is given.
pub fn request_from(
    peer: &str,
    forwarded_for: Option<&str>,
    mut request: Request<Body>,
) -> Request<Body> {
    let peer: SocketAddr = peer.parse().expect("peer address");
    request.extensions_mut().insert(ConnectInfo(peer));
    if let Some(value) = forwarded_for {
        let value = HeaderValue::from_str(value).expect("header value");
        request.headers_mut().append("x-forwarded-for", value);
    }
    request
}

/// Shorthand for [`send`] with a JSON body.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Reply {
    send(app, request(method, uri, body, token)).await
}

/// A valid identity public key: 32 bytes of `byte`, as 64 hex digits.
pub fn key(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}

/// Registers `username` with [`PASSWORD`] at 127.0.0.1:`port` with key [`key`]`(1)`.
pub async fn register(app: &Router, username: &str, port: u16) -> Reply {
    let body = json!({
        "username": username, "password": PASSWORD, "host": "127.0.0.1", "port": port,
        "public_key": key(1),
    });
    let reply = call(app, "POST", "/register", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply
}

/// Logs `username` in with [`PASSWORD`] and returns the token.
pub async fn login(app: &Router, username: &str) -> String {
    let body = json!({"username": username, "password": PASSWORD});
    let reply = call(app, "POST", "/login", Some(body), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json["token"].as_str().expect("token").to_owned()
}

/// Runs `probe` until it returns true, failing after 30 s. For conditions that depend on time
/// passing; the deadline only bounds a broken test, it is not a timing assertion.
pub async fn eventually<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
