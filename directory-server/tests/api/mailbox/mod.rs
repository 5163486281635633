//! The offline mailbox: `POST /mailbox/{recipient}`, `GET /mailbox`, `DELETE /mailbox/{id}`.

mod deposit;
mod fetch;
mod limits;
mod storage;

use axum::Router;
use axum::http::StatusCode;
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_directory::{Settings, app};
use p2p_chat_protocol::api::{decode_sealed, encode_sealed};
use serde_json::{Value, json};

use crate::support::{Reply, call, fast_settings, login, memory_state, register};

/// [`fast_settings`] with these mailbox limits.
pub fn with_limits(mailbox: MailboxLimits) -> Settings {
    Settings {
        mailbox,
        ..fast_settings()
    }
}

/// A fresh in-memory directory with these mailbox limits.
pub async fn mailbox_app(mailbox: MailboxLimits) -> Router {
    app(memory_state(with_limits(mailbox)).await)
}

/// Registers each name and returns its login token, in order.
pub async fn accounts<const N: usize>(app: &Router, names: [&str; N]) -> [String; N] {
    let mut tokens = [const { String::new() }; N];
    for (i, (name, token)) in names.iter().zip(tokens.iter_mut()).enumerate() {
        let port = u16::try_from(40_000 + i).expect("port");
        register(app, name, port).await;
        *token = login(app, name).await;
    }
    tokens
}

/// `POST /mailbox/{recipient}` with `{"sealed": base64(sealed)}`.
pub async fn deposit(app: &Router, token: Option<&str>, recipient: &str, sealed: &[u8]) -> Reply {
    let body = json!({ "sealed": encode_sealed(sealed) });
    deposit_body(app, token, recipient, body).await
}

/// `POST /mailbox/{recipient}` with any JSON body.
pub async fn deposit_body(
    app: &Router,
    token: Option<&str>,
    recipient: &str,
    body: Value,
) -> Reply {
    call(
        app,
        "POST",
        &format!("/mailbox/{recipient}"),
        Some(body),
        token,
    )
    .await
}

/// A deposit that must succeed; returns the id from its receipt.
pub async fn deposited(app: &Router, token: &str, recipient: &str, sealed: &[u8]) -> String {
    let reply = deposit(app, Some(token), recipient, sealed).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.json["id"].as_str().expect("id").to_owned()
}

/// `GET /mailbox` with a query string (`""` for none).
pub async fn fetch(app: &Router, token: Option<&str>, query: &str) -> Reply {
    call(app, "GET", &format!("/mailbox{query}"), None, token).await
}

/// Every message of the token's owner, following `next`: (id, sealed bytes) oldest first.
pub async fn fetch_all(app: &Router, token: &str) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    let mut query = String::new();
    loop {
        let reply = fetch(app, Some(token), &query).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        for item in reply.json["messages"].as_array().expect("messages") {
            let id = item["id"].as_str().expect("id").to_owned();
            let sealed = decode_sealed(item["sealed"].as_str().expect("sealed")).expect("base64");
            all.push((id, sealed));
        }
        match reply.json["next"].as_str() {
            Some(next) => query = format!("?after={next}"),
            None => return all,
        }
    }
}

/// `DELETE /mailbox/{id}`.
pub async fn delete(app: &Router, token: Option<&str>, id: &str) -> Reply {
    call(app, "DELETE", &format!("/mailbox/{id}"), None, token).await
}
