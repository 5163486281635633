//! What the operator bounds: messages and bytes per mailbox, lifetime, the per-address rate
//! limit; and what unregistering takes along.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{TimeDelta, Utc};
use p2p_chat_directory::limits::RateLimit;
use p2p_chat_directory::mailbox::MailboxLimits;
use p2p_chat_directory::{AppState, Settings, app, open_store};
use serde_json::json;

use super::{accounts, delete, deposit, deposited, fetch, fetch_all, mailbox_app, with_limits};
use crate::support::{PASSWORD, call, eventually, register, request, request_from, send};

#[tokio::test]
async fn a_mailbox_full_by_count_refuses_with_507_until_it_is_emptied() {
    let app = mailbox_app(MailboxLimits {
        max_messages: 3,
        ..MailboxLimits::default()
    })
    .await;
    let [alice, bob, carol] = accounts(&app, ["alice", "bob", "carol"]).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(deposited(&app, &alice, "bob", b"hello").await);
    }
    for depositor in [&alice, &carol] {
        let reply = deposit(&app, Some(depositor), "bob", b"one more").await;
        let message = reply.error(StatusCode::INSUFFICIENT_STORAGE, "mailbox_full");
        assert!(
            message.contains("3 messages") && message.contains("\"bob\""),
            "{message}"
        );
    }
    // Other mailboxes are not affected, and nothing was stored by the refusals.
    deposited(&app, &alice, "carol", b"hello").await;
    assert_eq!(fetch_all(&app, &bob).await.len(), 3);
    assert_eq!(
        delete(&app, Some(&bob), &ids[0]).await.status,
        StatusCode::NO_CONTENT
    );
    deposited(&app, &carol, "bob", b"room again").await;
}

#[tokio::test]
async fn the_whole_mailbox_has_a_limit_for_everyone_together() {
    let app = mailbox_app(MailboxLimits {
        max_total_bytes: 100,
        ..MailboxLimits::default()
    })
    .await;
    let [alice, bob, _carol, _dave] = accounts(&app, ["alice", "bob", "carol", "dave"]).await;
    let first = deposited(&app, &alice, "bob", &[1; 60]).await;
    deposited(&app, &alice, "dave", &[2; 30]).await;
    // Each recipient is far from its own limit, but the directory's whole mailbox is not.
    let reply = deposit(&app, Some(&alice), "carol", &[3; 11]).await;
    let message = reply.error(StatusCode::INSUFFICIENT_STORAGE, "mailbox_full");
    assert!(
        message.contains("100 bytes") && message.contains("everyone"),
        "{message}"
    );
    deposited(&app, &alice, "carol", &[4; 10]).await; // exactly full
    // Room returns when a recipient deletes, and when an account with mail goes.
    delete(&app, Some(&bob), &first).await;
    deposited(&app, &alice, "carol", &[5; 60]).await;
    let reply = call(
        &app,
        "DELETE",
        "/clients/dave",
        Some(json!({"password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    deposited(&app, &alice, "carol", &[6; 30]).await;
}

#[tokio::test]
async fn a_mailbox_full_by_bytes_refuses_with_507() {
    let app = mailbox_app(MailboxLimits {
        max_bytes: 100,
        ..MailboxLimits::default()
    })
    .await;
    let [alice, _bob] = accounts(&app, ["alice", "bob"]).await;
    deposited(&app, &alice, "bob", &[1; 60]).await;
    let reply = deposit(&app, Some(&alice), "bob", &[2; 41]).await;
    let message = reply.error(StatusCode::INSUFFICIENT_STORAGE, "mailbox_full");
    assert!(message.contains("100 bytes"), "{message}");
    deposited(&app, &alice, "bob", &[3; 40]).await; // exactly full
    let reply = deposit(&app, Some(&alice), "bob", &[4; 1]).await;
    reply.error(StatusCode::INSUFFICIENT_STORAGE, "mailbox_full");
}

#[tokio::test]
async fn expired_messages_are_never_returned_nor_counted_and_get_purged() {
    // Two directories on one database: one keeps messages for a millisecond, one for days.
    let store = open_store("sqlite::memory:").await.unwrap();
    let brief = MailboxLimits {
        max_messages: 2,
        ttl: Duration::from_millis(1),
        ..MailboxLimits::default()
    };
    let short = app(AppState::new(store.clone(), with_limits(brief)));
    let long = app(AppState::new(
        store.clone(),
        with_limits(MailboxLimits {
            max_messages: 2,
            ..MailboxLimits::default()
        }),
    ));
    let [alice, bob] = accounts(&long, ["alice", "bob"]).await;
    let fleeting = deposited(&short, &alice, "bob", b"fleeting").await;
    let lasting = deposited(&long, &alice, "bob", b"lasting").await;

    eventually("the short-lived message expires", || async {
        fetch_all(&long, &bob).await.len() == 1
    })
    .await;
    assert_eq!(
        fetch_all(&long, &bob).await,
        [(lasting.clone(), b"lasting".to_vec())]
    );
    let reply = delete(&long, Some(&bob), &fleeting).await;
    reply.error(StatusCode::NOT_FOUND, "not_found");

    // Expired messages take no room: bob's mailbox of two holds "lasting" and an expired one,
    // and still takes one more.
    deposited(&short, &alice, "bob", b"fleeting again").await;
    deposited(&short, &bob, "alice", b"fleeting for alice").await;
    eventually("the other short-lived messages expire", || async {
        fetch_all(&long, &bob).await.len() == 1 && fetch_all(&long, &alice).await.is_empty()
    })
    .await;
    deposited(&long, &alice, "bob", b"fits").await;
    assert_eq!(fetch_all(&long, &bob).await.len(), 2);
    // That deposit purged bob's expired message; alice's waits for the periodic purge.
    let purged = store.purge_expired_mail(Utc::now()).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(store.purge_expired_mail(Utc::now()).await.unwrap(), 0);
    assert_eq!(fetch_all(&long, &bob).await.len(), 2);
}

#[tokio::test]
async fn unregistering_deletes_the_mailbox() {
    let store = open_store("sqlite::memory:").await.unwrap();
    let app = app(AppState::new(
        store.clone(),
        with_limits(MailboxLimits::default()),
    ));
    let [alice, _bob] = accounts(&app, ["alice", "bob"]).await;
    deposited(&app, &alice, "bob", b"you will never read this").await;
    deposited(&app, &alice, "alice", b"mine").await;
    let reply = call(
        &app,
        "DELETE",
        "/clients/bob",
        Some(json!({"password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = deposit(&app, Some(&alice), "bob", b"too late").await;
    reply.error(StatusCode::NOT_FOUND, "not_found");

    // A new account of the same name starts with an empty mailbox.
    register(&app, "bob", 40_009).await;
    let bob = crate::support::login(&app, "bob").await;
    assert!(fetch_all(&app, &bob).await.is_empty());
    // Purging everything (a "now" far in the future) finds only alice's message left.
    let far = Utc::now() + TimeDelta::days(36_500);
    assert_eq!(store.purge_expired_mail(far).await.unwrap(), 1);
}

#[tokio::test]
async fn deposits_share_the_per_address_budget_but_reading_mail_does_not() {
    let settings = Settings {
        rate_limit: Some(RateLimit {
            burst: NonZeroU32::new(4).unwrap(),
            replenish_every: Duration::from_secs(3600),
        }),
        ..with_limits(MailboxLimits::default())
    };
    let app = app(AppState::new(
        open_store("sqlite::memory:").await.unwrap(),
        settings,
    ));
    // Register and login come without connection information: a bucket of their own, which
    // these four requests empty.
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    let peer = "192.0.2.9:1";
    let lookup = send(
        &app,
        request_from(peer, None, request("GET", "/clients/bob", None, None)),
    );
    assert_eq!(lookup.await.status, StatusCode::OK);
    let body = json!({"sealed": "AQI="});
    let post = || request("POST", "/mailbox/bob", Some(body.clone()), Some(&alice));
    for _ in 0..3 {
        let reply = send(&app, request_from(peer, None, post())).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let reply = send(&app, request_from(peer, None, post())).await;
    reply.error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // Even without a valid token: guessing tokens costs budget too.
    let anonymous = request("POST", "/mailbox/bob", Some(body.clone()), None);
    let reply = send(&app, request_from(peer, None, anonymous)).await;
    reply.error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");

    for _ in 0..5 {
        let get = request("GET", "/mailbox", None, Some(&bob));
        let reply = send(&app, request_from(peer, None, get)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let id = reply_id(&app, &bob).await;
    let del = request("DELETE", &format!("/mailbox/{id}"), None, Some(&bob));
    let reply = send(&app, request_from(peer, None, del)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}

async fn reply_id(app: &axum::Router, token: &str) -> String {
    let page = fetch(app, Some(token), "").await;
    page.json["messages"][0]["id"]
        .as_str()
        .expect("a message")
        .to_owned()
}
