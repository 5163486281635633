//! Depositing: receipts, tokens, recipients, and every kind of bad body.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_protocol::api::MAX_SEALED_BYTES;
use serde_json::json;

use super::{accounts, delete, deposit, deposit_body, deposited, fetch, fetch_all, mailbox_app};
use crate::support::{call, send};

fn time(value: &serde_json::Value) -> DateTime<Utc> {
    value
        .as_str()
        .expect("timestamp")
        .parse()
        .expect("RFC 3339")
}

#[tokio::test]
async fn a_deposit_comes_back_byte_identical_until_deleted() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    let every_byte: Vec<u8> = (0..=255).collect();
    let blobs: [&[u8]; 3] = [b"first", &every_byte, &[0]];

    let mut ids = Vec::new();
    for blob in blobs {
        // Recipient names fold like everywhere else.
        let reply = deposit(&app, Some(&alice), "BOB", blob).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let keys: Vec<_> = reply.json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["expires_at", "id"]);
        ids.push(reply.json["id"].as_str().unwrap().to_owned());
        let expires_at = time(&reply.json["expires_at"]);
        let page = fetch(&app, Some(&bob), "").await;
        let item = page.json["messages"].as_array().unwrap().last().unwrap();
        let kept = expires_at - time(&item["deposited_at"]);
        let ttl = chrono::Duration::from_std(MailboxLimits::default().ttl).unwrap();
        // deposited_at is stored to the millisecond.
        assert!(
            kept >= ttl && kept < ttl + chrono::Duration::milliseconds(1),
            "{kept}"
        );
    }

    let mail = fetch_all(&app, &bob).await;
    let got: Vec<_> = mail.iter().map(|(_, sealed)| sealed.as_slice()).collect();
    assert_eq!(got, blobs, "oldest first, bytes unchanged");
    let got_ids: Vec<_> = mail.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(got_ids, ids);
    let page = fetch(&app, Some(&bob), "").await;
    let item_keys: Vec<_> = page.json["messages"][0]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(item_keys, ["deposited_at", "id", "sealed"]);
    assert_eq!(page.json["next"], serde_json::Value::Null);

    for id in &ids {
        let reply = delete(&app, Some(&bob), id).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert!(reply.text.is_empty());
    }
    assert!(fetch_all(&app, &bob).await.is_empty());
    let again = delete(&app, Some(&bob), &ids[0]).await;
    let message = again.error(StatusCode::NOT_FOUND, "not_found");
    assert!(message.contains(&ids[0]), "{message}");
    // A deposit needs an account, not a relationship: writing to oneself works too.
    deposited(&app, &bob, "bob", b"note to self").await;
    assert_eq!(fetch_all(&app, &bob).await.len(), 1);
    assert!(fetch_all(&app, &alice).await.is_empty());
}

#[tokio::test]
async fn deposits_need_a_valid_token_checked_before_the_recipient() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, _bob] = accounts(&app, ["alice", "bob"]).await;
    let reply = deposit(&app, None, "bob", b"x").await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
    for token in ["0".repeat(64), "not a token".into(), String::new()] {
        let reply = deposit(&app, Some(&token), "bob", b"x").await;
        reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // No token and no such recipient: the token is checked first.
    let reply = deposit(&app, None, "nobody", b"x").await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    // A revoked token stops working.
    let reply = call(&app, "POST", "/logout", None, Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = deposit(&app, Some(&alice), "bob", b"x").await;
    reply.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(
        reply.headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\""
    );
}

#[tokio::test]
async fn unknown_recipients_are_404() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice] = accounts(&app, ["alice"]).await;
    for name in ["nobody", "x", "not%20a%20name", "%2e%2e", &"a".repeat(300)] {
        let reply = deposit(&app, Some(&alice), name, b"x").await;
        reply.error(StatusCode::NOT_FOUND, "not_found");
    }
    // The recipient is checked before the body.
    let reply = deposit_body(&app, Some(&alice), "nobody", json!({"sealed": "!"})).await;
    reply.error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn garbage_bodies_are_400_naming_the_field() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    let bad = [
        (json!({"sealed": ""}), "empty"),
        (json!({"sealed": "!!!!"}), "base64"),
        (json!({"sealed": "+uwgVQA"}), "base64"),
        (json!({"sealed": "-_8="}), "base64"),
        (json!({"sealed": "AQI=\n"}), "base64"),
        (json!({"sealed": " AQI="}), "base64"),
        (json!({"sealed": "=".repeat(400)}), "base64"),
        (json!({"sealed": "AQI=AQI="}), "base64"),
        (json!({"sealed": 12}), "sealed"),
        (json!({"sealed": null}), "sealed"),
        (json!({"sealed": ["AQI="]}), "sealed"),
        (json!({"other": "AQI="}), "sealed"),
        (json!("AQI="), "invalid request body"),
        (json!(42), "invalid request body"),
    ];
    for (body, needle) in bad {
        let reply = deposit_body(&app, Some(&alice), "bob", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{body}: {message}");
    }
    let raw = |content_type: Option<&str>, body: &'static str| {
        let mut builder = Request::builder()
            .method("POST")
            .uri("/mailbox/bob")
            .header(header::AUTHORIZATION, format!("Bearer {alice}"));
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(Body::from(body)).unwrap()
    };
    let reply = send(&app, raw(Some("application/json"), "{\"sealed\": \"AQI=")).await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_json");
    let reply = send(&app, raw(Some("application/json"), "")).await;
    reply.error(StatusCode::BAD_REQUEST, "invalid_json");
    let reply = send(&app, raw(None, "{\"sealed\": \"AQI=\"}")).await;
    reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let reply = send(&app, raw(Some("text/plain"), "{\"sealed\": \"AQI=\"}")).await;
    reply.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Unknown fields are ignored, as everywhere.
    let reply = deposit_body(
        &app,
        Some(&alice),
        "bob",
        json!({"sealed": "AQI=", "from": "x"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        fetch_all(&app, &bob).await.len(),
        1,
        "only the good one is kept"
    );
}

#[tokio::test]
async fn oversize_messages_are_413_naming_the_limit() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    // The largest message fits although it is far over the 16 KiB of other bodies.
    let largest = vec![0xa5; MAX_SEALED_BYTES];
    deposited(&app, &alice, "bob", &largest).await;
    assert_eq!(fetch_all(&app, &bob).await[0].1, largest);

    let over = vec![0x5a; MAX_SEALED_BYTES + 1];
    let reply = deposit(&app, Some(&alice), "bob", &over).await;
    let message = reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains("65536 bytes"), "{message}");
    // A body beyond the route's own limit gets the same explanation.
    let huge = vec![1; 4 * MAX_SEALED_BYTES];
    let reply = deposit(&app, Some(&alice), "bob", &huge).await;
    let message = reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains("65536 bytes"), "{message}");
    // Invalid base64 that is too long to fit is refused for its size without decoding.
    let reply = deposit_body(
        &app,
        Some(&alice),
        "bob",
        json!({"sealed": "!".repeat(87_388)}),
    )
    .await;
    reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(fetch_all(&app, &bob).await.len(), 1);

    let small = mailbox_app(MailboxLimits {
        max_message_bytes: 100,
        ..MailboxLimits::default()
    })
    .await;
    let [alice, _bob] = accounts(&small, ["alice", "bob"]).await;
    deposited(&small, &alice, "bob", &[7; 100]).await;
    let reply = deposit(&small, Some(&alice), "bob", &[7; 101]).await;
    let message = reply.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(message.contains("100 bytes"), "{message}");
}
