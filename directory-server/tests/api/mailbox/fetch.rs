//! Fetching and deleting: paging, bad queries, and privacy between mailboxes.

use axum::http::StatusCode;
use p2p_chat_directory::mailbox::MailboxLimits;

use super::{accounts, delete, deposited, fetch, fetch_all, mailbox_app};
use crate::support::call;

#[tokio::test]
async fn pages_run_oldest_first_and_survive_deleting_the_cursor() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, bob] = accounts(&app, ["alice", "bob"]).await;
    let mut ids = Vec::new();
    for n in 0..5u8 {
        ids.push(deposited(&app, &alice, "bob", &[n; 3]).await);
    }

    // The way a client drains its mailbox: read a page, delete it, ask for what follows.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = fetch(&app, Some(&bob), &query).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let messages = page.json["messages"].as_array().unwrap();
        assert!(messages.len() <= 2);
        for item in messages {
            let id = item["id"].as_str().unwrap().to_owned();
            assert_eq!(
                delete(&app, Some(&bob), &id).await.status,
                StatusCode::NO_CONTENT
            );
            seen.push(id);
        }
        match page.json["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), seen.last().map(String::as_str));
                query = format!("?limit=2&after={next}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
    assert!(fetch_all(&app, &bob).await.is_empty());

    // `after` skips what came before; an empty `after` counts as absent; limit 100 is allowed.
    let first = deposited(&app, &alice, "bob", b"one").await;
    let second = deposited(&app, &alice, "bob", b"two").await;
    let page = fetch(&app, Some(&bob), &format!("?after={first}")).await;
    assert_eq!(page.json["messages"][0]["id"], second.as_str());
    assert_eq!(page.json["messages"].as_array().unwrap().len(), 1);
    let page = fetch(&app, Some(&bob), "?after=&limit=100").await;
    assert_eq!(page.json["messages"].as_array().unwrap().len(), 2);
    let page = fetch(&app, Some(&bob), &format!("?limit=1&after={second}")).await;
    assert_eq!(page.json["messages"].as_array().unwrap().len(), 0);
    assert_eq!(page.json["next"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_queries_are_400_naming_the_parameter() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice] = accounts(&app, ["alice"]).await;
    for (query, needle) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=99999999999999999999", "limit"),
        ("?after=bob", "after"),
        ("?after=00000000-0000-0000-0000", "after"),
        ("?after=%00%ff", "after"),
    ] {
        let reply = fetch(&app, Some(&alice), query).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{query}: {message}");
    }
}

#[tokio::test]
async fn nobody_else_can_read_or_delete_my_mail() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice, bob, carol] = accounts(&app, ["alice", "bob", "carol"]).await;
    let id = deposited(&app, &alice, "bob", b"for bob only").await;

    // Not the depositor, not a third user: each sees only their own (empty) mailbox.
    for token in [&alice, &carol] {
        assert!(fetch_all(&app, token).await.is_empty());
        let reply = delete(&app, Some(token), &id).await;
        let message = reply.error(StatusCode::NOT_FOUND, "not_found");
        assert!(!message.contains("bob"), "{message}");
    }
    // The same answer as for an id that never existed.
    let unknown = "0190f0a8-7c3e-7000-8000-000000000001";
    let reply = delete(&app, Some(&carol), unknown).await;
    reply.error(StatusCode::NOT_FOUND, "not_found");
    for garbage in ["not-an-id", "%00", "..", &"f".repeat(500)] {
        let reply = delete(&app, Some(&bob), garbage).await;
        let message = reply.error(StatusCode::NOT_FOUND, "not_found");
        assert!(!message.contains(garbage), "{message}");
    }

    // Without a valid token there is no mailbox at all.
    fetch(&app, None, "")
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let bad = "0".repeat(64);
    fetch(&app, Some(&bad), "")
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    delete(&app, None, &id)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");

    // Bob's message is untouched by all of that.
    assert_eq!(
        fetch_all(&app, &bob).await,
        [(id, b"for bob only".to_vec())]
    );
}

#[tokio::test]
async fn other_methods_are_405() {
    let app = mailbox_app(MailboxLimits::default()).await;
    let [alice] = accounts(&app, ["alice"]).await;
    for (method, uri) in [
        ("POST", "/mailbox"),
        ("DELETE", "/mailbox"),
        ("GET", "/mailbox/alice"),
        ("PUT", "/mailbox/alice"),
    ] {
        let reply = call(&app, method, uri, None, Some(&alice)).await;
        reply.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    }
}
