//! Request ids, the JSON log and the handler timeout: through the router, and the log of the
//! real binary as a collector reads it.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use p2p_chat_directory::{Settings, app};
use serde_json::{Value, json};

use crate::binary::{directory, launch_logging, stop};
use crate::support::{PASSWORD, call, fast_settings, key, memory_state, request, send, test_app};

fn request_id(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("an X-Request-Id")
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_a_fresh_request_id_of_its_own() {
    let app = test_app().await;
    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        let mut req = request("GET", "/ping", None, None);
        // A client's id is not believed: it would let anyone write into the log.
        req.headers_mut().insert(
            "x-request-id",
            "evil\u{7f}"
                .try_into()
                .unwrap_or("evil".try_into().unwrap()),
        );
        let reply = send(&app, req).await;
        let id = request_id(&reply.headers);
        assert_ne!(id, "evil");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert!(seen.insert(id), "each request its own id");
    }
    let reply = call(&app, "GET", "/no/such/route", None, None).await;
    reply.error(StatusCode::NOT_FOUND, "not_found");
    request_id(&reply.headers);
}

// Paused time once the store is open: whatever the handler waits for (the database's
// thread, a password-hashing thread) leaves the runtime idle, so the clock jumps to the
// earliest timer, which is the request's 1 s timeout (the others are 5 s and more).
#[tokio::test(flavor = "current_thread")]
async fn a_handler_past_the_timeout_is_answered_503_in_the_usual_shape() {
    let app = app(memory_state(Settings {
        bcrypt_cost: 12,
        request_timeout: Duration::from_secs(1),
        ..fast_settings()
    })
    .await);
    tokio::time::pause();
    let body = json!({
        "username": "alice", "password": PASSWORD, "host": "127.0.0.1", "public_key": key(1),
    });
    let reply = call(&app, "POST", "/register", Some(body), None).await;
    let message = reply.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(message.contains("1 s"), "{message}");
    request_id(&reply.headers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_log_has_one_object_per_line_with_the_request_id_and_no_secrets() {
    p2p_chat_directory::tls::install_crypto_provider();
    let mut command = directory();
    command.env("RUST_LOG", "debug").stderr(Stdio::piped());
    let (mut child, url) = launch_logging(
        command,
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite::memory:",
            "--bcrypt-cost",
            "4",
            "--registration",
            "open",
            "--log-format",
            "json",
        ],
    );
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    let wrong = "not the password 42";
    let body = json!({
        "username": "quinn", "password": PASSWORD, "host": "127.0.0.1", "public_key": key(1),
    });
    let reply = http
        .post(format!("{url}/register"))
        .json(&body)
        .send()
        .await
        .unwrap();
    ids.push(request_id(reply.headers()));
    let reply = http
        .post(format!("{url}/login"))
        .json(&json!({"username": "quinn", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    ids.push(request_id(reply.headers()));
    let token = reply.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = http
        .post(format!("{url}/login"))
        .json(&json!({"username": "quinn", "password": wrong}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    ids.push(request_id(reply.headers()));
    let reply = http
        .post(format!("{url}/clients/quinn/heartbeat"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    ids.push(request_id(reply.headers()));
    stop(&mut child);
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();

    let mut spans = BTreeSet::new();
    for line in log.lines() {
        let object: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            object["timestamp"].is_string() && object["level"].is_string(),
            "{line}"
        );
        if let Some(id) = object["span"]["id"].as_str() {
            assert_eq!(object["span"]["name"], "request", "{line}");
            spans.insert(id.to_owned());
        }
    }
    for id in &ids {
        assert!(spans.contains(id), "no line of request {id}:\n{log}");
    }
    let registered = log
        .lines()
        .find(|l| l.contains("\"registered\""))
        .expect("a registration line");
    assert!(registered.contains(&ids[0]), "{registered}");
    // A refusal names its error code, and a wrong password the account it was for.
    let refusals: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|o| o["span"]["id"] == ids[2].as_str())
        .collect();
    assert!(
        refusals
            .iter()
            .any(|o| o["fields"]["message"] == "request refused"
                && o["fields"]["error"] == "unauthorized"),
        "{refusals:?}"
    );
    assert!(
        refusals.iter().any(
            |o| o["fields"]["message"] == "login refused: wrong password"
                && o["fields"]["username"] == "quinn"
        ),
        "{refusals:?}"
    );
    for secret in [PASSWORD, wrong, token.as_str()] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}
