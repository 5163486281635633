//! `GET /clients` and `GET /clients/{username}`.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{call, public_app, register, test_app};

fn usernames(page: &Value) -> Vec<String> {
    page["clients"]
        .as_array()
        .expect("clients array")
        .iter()
        .map(|record| record["username"].as_str().expect("username").to_owned())
        .collect()
}

#[tokio::test]
async fn unknown_clients_are_404() {
    let app = test_app().await;
    for path in ["/clients/nobody", "/clients/x", "/clients/bad%20name"] {
        let reply = call(&app, "GET", path, None, None).await;
        reply.error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn paths_are_case_folded() {
    let app = test_app().await;
    register(&app, "Frank.Z", 1234).await;
    let reply = call(&app, "GET", "/clients/FRANK.z", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["username"], "frank.z");
    assert_eq!(reply.json["port"], 1234);
}

#[tokio::test]
async fn an_empty_directory_lists_nothing() {
    let reply = call(&public_app().await, "GET", "/clients", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, serde_json::json!({"clients": [], "next": null}));
}

#[tokio::test]
async fn after_and_next_walk_through_all_pages_in_order() {
    let app = public_app().await;
    for name in ["eve", "bob", "dan", "carl", "amy"] {
        register(&app, name, 1).await;
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut uri = "/clients?limit=2".to_owned();
    loop {
        let reply = call(&app, "GET", &uri, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        pages += 1;
        let names = usernames(&reply.json);
        assert!(names.len() <= 2);
        seen.extend(names.clone());
        match reply.json["next"].as_str() {
            Some(next) => {
                assert_eq!(Some(next), names.last().map(String::as_str));
                uri = format!("/clients?limit=2&after={next}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["amy", "bob", "carl", "dan", "eve"]);

    // Default limit (50) returns all in one page; `after` is case-folded.
    let all = call(&app, "GET", "/clients", None, None).await;
    assert_eq!(usernames(&all.json).len(), 5);
    assert_eq!(all.json["next"], Value::Null);
    let rest = call(&app, "GET", "/clients?after=CARL", None, None).await;
    assert_eq!(usernames(&rest.json), ["dan", "eve"]);
    let exact = call(&app, "GET", "/clients?limit=5", None, None).await;
    assert_eq!(
        exact.json["next"],
        Value::Null,
        "no next when the page ends exactly"
    );
    let records = exact.json["clients"].as_array().unwrap();
    assert!(
        records
            .iter()
            .all(|r| r["online"] == false && r.get("password_hash").is_none())
    );
}

#[tokio::test]
async fn bad_paging_is_400() {
    let app = public_app().await;
    for (query, needle) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=", "limit"),
        ("after=no%20spaces", "after"),
        ("after=a", "after"),
    ] {
        let reply = call(&app, "GET", &format!("/clients?{query}"), None, None).await;
        let message = reply.error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(message.contains(needle), "{query}: {message}");
    }
    for query in ["limit=1", "limit=100", "after="] {
        let reply = call(&app, "GET", &format!("/clients?{query}"), None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
    }
}
