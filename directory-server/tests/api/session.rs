//! Bearer-token routes (`PUT /clients/{u}`, heartbeats), token expiry and revocation,
//! `DELETE /clients/{u}` and presence.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use p2p_chat_directory::{AppState, Settings, app};
use serde_json::json;

use crate::support::{
    PASSWORD, call, eventually, fast_settings, login, memory_state, register, test_app,
};

fn address(host: &str, port: u16) -> Option<serde_json::Value> {
    Some(json!({"host": host, "port": port}))
}

#[tokio::test]
async fn owners_update_their_address() {
    let app = test_app().await;
    register(&app, "gina", 1).await;
    let token = login(&app, "gina").await;
    let reply = call(
        &app,
        "PUT",
        "/clients/GINA",
        address("10.0.0.7", 4242),
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["host"], "10.0.0.7");
    assert_eq!(reply.json["port"], 4242);
    assert_eq!(reply.json["online"], true);
    let fetched = call(&app, "GET", "/clients/gina", None, None).await;
    assert_eq!(fetched.json, reply.json);

    // Port is optional and defaults like at registration.
    let body = Some(json!({"host": "gina.example"}));
    let reply = call(&app, "PUT", "/clients/gina", body, Some(&token)).await;
    assert_eq!(reply.json["port"], 55555, "{}", reply.text);

    for (body, needle) in [
        (address("bad host!", 1), "host"),
        (address("10.0.0.1", 0), "port"),
        (Some(json!({"port": 1})), "host"),
    ] {
        let reply = call(&app, "PUT", "/clients/gina", body, Some(&token)).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{message}");
    }
}

#[tokio::test]
async fn updates_and_heartbeats_need_the_owners_token() {
    let app = test_app().await;
    register(&app, "hank", 1).await;
    register(&app, "ivy", 2).await;
    let ivy = login(&app, "ivy").await;
    let not_a_token = "0".repeat(64);
    let routes = [
        ("PUT", "/clients/hank"),
        ("POST", "/clients/hank/heartbeat"),
    ];
    for (method, path) in routes {
        let body = (method == "PUT").then(|| json!({"host": "1.2.3.4", "port": 9}));
        // No token, a malformed one, an unknown one: 401.
        for token in [None, Some("abc"), Some(not_a_token.as_str())] {
            let reply = call(&app, method, path, body.clone(), token).await;
            reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
            // RFC 6750: a presented token that fails is named as such.
            let challenge = match token {
                None => "Bearer",
                Some(_) => "Bearer error=\"invalid_token\"",
            };
            assert_eq!(reply.headers["www-authenticate"], challenge);
        }
        // A valid token of another user: 403, even with a bad body.
        let reply = call(&app, method, path, body.clone(), Some(&ivy)).await;
        assert!(
            reply
                .error(StatusCode::FORBIDDEN, "forbidden")
                .contains("ivy")
        );
        let reply = call(&app, method, path, Some(json!({"nonsense": 1})), Some(&ivy)).await;
        reply.error(StatusCode::FORBIDDEN, "forbidden");
    }
    let hank = call(&app, "GET", "/clients/hank", None, None).await;
    assert_eq!(hank.json["host"], "127.0.0.1", "nothing changed");
}

#[tokio::test]
async fn the_authorization_scheme_must_be_bearer() {
    let app = test_app().await;
    register(&app, "jack", 1).await;
    let token = login(&app, "jack").await;
    let mut request = crate::support::request("POST", "/clients/jack/heartbeat", None, None);
    let header = format!("Basic {token}").parse().unwrap();
    request.headers_mut().insert("authorization", header);
    let reply = crate::support::send(&app, request).await;
    assert!(
        reply
            .error(StatusCode::UNAUTHORIZED, "unauthorized")
            .contains("Bearer")
    );
    // The scheme is case-insensitive and so are the token's hex digits.
    let mut request = crate::support::request("POST", "/clients/jack/heartbeat", None, None);
    let header = format!("bearer {}", token.to_uppercase()).parse().unwrap();
    request.headers_mut().insert("authorization", header);
    let reply = crate::support::send(&app, request).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}

#[tokio::test]
async fn heartbeats_update_last_seen() {
    let app = test_app().await;
    let registered = register(&app, "kate", 1).await;
    let token = login(&app, "kate").await;
    let last_seen = |reply: &crate::support::Reply| -> DateTime<Utc> {
        reply.json["last_seen"].as_str().unwrap().parse().unwrap()
    };
    let first = last_seen(&registered);
    // Poll until the clock has moved on, so the new last_seen must differ.
    eventually("the clock ticks", || async {
        Utc::now() > first + chrono::Duration::milliseconds(2)
    })
    .await;
    let reply = call(&app, "POST", "/clients/kate/heartbeat", None, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    let after = call(&app, "GET", "/clients/kate", None, None).await;
    assert!(last_seen(&after) > first, "{}", after.text);
    assert_eq!(
        after.json["registered_at"],
        registered.json["registered_at"]
    );
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let settings = Settings {
        token_ttl: Duration::from_millis(50),
        ..fast_settings()
    };
    let app = app(memory_state(settings).await);
    register(&app, "liam", 1).await;
    let token = login(&app, "liam").await;
    eventually("the token is refused", || async {
        let reply = call(&app, "POST", "/clients/liam/heartbeat", None, Some(&token)).await;
        assert!(
            matches!(
                reply.status,
                StatusCode::NO_CONTENT | StatusCode::UNAUTHORIZED
            ),
            "{}",
            reply.text
        );
        reply.status == StatusCode::UNAUTHORIZED
    })
    .await;
    let reply = call(
        &app,
        "PUT",
        "/clients/liam",
        address("::1", 5),
        Some(&token),
    )
    .await;
    assert!(
        reply
            .error(StatusCode::UNAUTHORIZED, "unauthorized")
            .contains("expired")
    );
}

#[tokio::test]
async fn a_zero_ttl_token_is_never_valid() {
    let settings = Settings {
        token_ttl: Duration::ZERO,
        ..fast_settings()
    };
    let app = app(memory_state(settings).await);
    register(&app, "mia", 1).await;
    let token = login(&app, "mia").await;
    let reply = call(&app, "POST", "/clients/mia/heartbeat", None, Some(&token)).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn unregister_needs_the_password_and_revokes_tokens() {
    let app = test_app().await;
    register(&app, "nina", 1).await;
    let token = login(&app, "nina").await;
    let wrong = Some(json!({"password": "not her password"}));
    let reply = call(&app, "DELETE", "/clients/nina", wrong, None).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let reply = call(&app, "DELETE", "/clients/nina", Some(json!({})), None).await;
    assert!(
        reply
            .error(StatusCode::BAD_REQUEST, "invalid_request")
            .contains("password")
    );
    assert_eq!(
        call(&app, "GET", "/clients/nina", None, None).await.status,
        StatusCode::OK
    );

    let right = Some(json!({"password": PASSWORD}));
    let reply = call(&app, "DELETE", "/clients/NINA", right.clone(), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    call(&app, "GET", "/clients/nina", None, None)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let reply = call(&app, "POST", "/clients/nina/heartbeat", None, Some(&token)).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let reply = call(&app, "DELETE", "/clients/nina", right.clone(), None).await;
    reply.error(StatusCode::NOT_FOUND, "not_found");

    // The name is free again, and the old token does not come back with it.
    register(&app, "nina", 2).await;
    let reply = call(&app, "POST", "/clients/nina/heartbeat", None, Some(&token)).await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn clients_go_offline_after_the_presence_window() {
    // Two views of one database: one with a window of an hour, one of 50 ms.
    let patient = memory_state(fast_settings()).await;
    let hasty = AppState::new(
        patient.store().clone(),
        Settings {
            presence_window: Duration::from_millis(50),
            ..fast_settings()
        },
    );
    let (patient, hasty) = (app(patient), app(hasty));
    register(&patient, "omar", 1).await;
    let token = login(&patient, "omar").await;
    // Registering and logging in do not make an account online; a running client's
    // heartbeat does.
    let reply = call(&patient, "GET", "/clients/omar", None, None).await;
    assert_eq!(reply.json["online"], false, "registered, no client running");
    let beat = call(
        &patient,
        "POST",
        "/clients/omar/heartbeat",
        None,
        Some(&token),
    )
    .await;
    assert_eq!(beat.status, StatusCode::NO_CONTENT);

    eventually("omar is offline in the short window", || async {
        call(&hasty, "GET", "/clients/omar", None, None).await.json["online"] == false
    })
    .await;
    let listed = call(&hasty, "GET", "/clients", None, Some(&token)).await;
    assert_eq!(listed.json["clients"][0]["online"], false);

    let reply = call(&patient, "GET", "/clients/omar", None, None).await;
    assert_eq!(
        reply.json["online"], true,
        "still online in the hour window"
    );
    let reply = call(
        &patient,
        "POST",
        "/clients/omar/heartbeat",
        None,
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&patient, "GET", "/clients", None, Some(&token))
            .await
            .json["clients"][0]["online"],
        true
    );
}

#[tokio::test]
async fn a_client_that_signs_off_is_offline_at_once() {
    let app = test_app().await;
    register(&app, "pia", 1).await;
    let token = login(&app, "pia").await;
    let online = |app: &axum::Router| {
        let app = app.clone();
        async move { call(&app, "GET", "/clients/pia", None, None).await.json["online"].clone() }
    };
    call(&app, "POST", "/clients/pia/heartbeat", None, Some(&token)).await;
    assert_eq!(online(&app).await, true);
    let reply = call(&app, "POST", "/clients/pia/offline", None, Some(&token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(online(&app).await, false, "offline before the window ends");
    // A login is not a running client either; the next heartbeat is.
    login(&app, "pia").await;
    assert_eq!(online(&app).await, false);
    call(&app, "POST", "/clients/pia/heartbeat", None, Some(&token)).await;
    assert_eq!(online(&app).await, true);
    // Only the owner can sign off, and only with a token.
    register(&app, "quinn", 1).await;
    let other = login(&app, "quinn").await;
    let reply = call(&app, "POST", "/clients/pia/offline", None, Some(&other)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    let reply = call(&app, "POST", "/clients/pia/offline", None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(online(&app).await, true);
}

#[tokio::test]
async fn owners_publish_candidate_addresses() {
    let app = test_app().await;
    register(&app, "hana", 1).await;
    let token = login(&app, "hana").await;
    let body = json!({"host": "203.0.113.1", "port": 55555, "candidates": ["192.0.2.11:55555"]});
    let reply = call(&app, "PUT", "/clients/hana", Some(body), Some(&token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["candidates"], json!(["192.0.2.11:55555"]));
    let fetched = call(&app, "GET", "/clients/hana", None, None).await;
    assert_eq!(fetched.json["candidates"], json!(["192.0.2.11:55555"]));
    // Left out: kept. An empty list: cleared.
    let body = json!({"host": "203.0.113.1", "port": 55555});
    let reply = call(&app, "PUT", "/clients/hana", Some(body), Some(&token)).await;
    assert_eq!(reply.json["candidates"], json!(["192.0.2.11:55555"]));
    let body = json!({"host": "203.0.113.1", "candidates": []});
    let reply = call(&app, "PUT", "/clients/hana", Some(body), Some(&token)).await;
    assert!(reply.json.get("candidates").is_none(), "{}", reply.json);
    // Garbage, loopback and too many are refused, naming the field.
    for candidates in [
        json!(["not an address"]),
        json!(["127.0.0.1:55555"]),
        json!([
            "192.0.2.1:1",
            "192.0.2.2:1",
            "192.0.2.3:1",
            "192.0.2.4:1",
            "192.0.2.5:1"
        ]),
    ] {
        let body = json!({"host": "203.0.113.1", "candidates": candidates});
        let reply = call(&app, "PUT", "/clients/hana", Some(body), Some(&token)).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains("candidate"), "{message}");
    }
}
