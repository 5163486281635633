//! What the directory withholds and dials for a user: a relay-only user's record and punches,
//! and the reachability check (only ever the caller's own address).

use p2p_chat_protocol::api::signal::ServerSignal;

use crate::signal::{next, open, serve};
use crate::support::{call, fast_settings, login, register};

#[tokio::test]
async fn a_relay_only_user_has_its_addresses_withheld_and_is_never_punched() {
    let (router, addr) = serve(fast_settings()).await;
    for name in ["alice", "bob"] {
        register(&router, name, 4000).await;
    }
    let (alice, bob) = (login(&router, "alice").await, login(&router, "bob").await);
    let mut sockets = Vec::new();
    for token in [&alice, &bob] {
        let mut socket = open(addr, Some(token)).await.unwrap();
        assert!(matches!(
            next(&mut socket).await,
            ServerSignal::Welcome { .. }
        ));
        sockets.push(socket);
    }
    let update = |relay_only: serde_json::Value| {
        let body = serde_json::json!({
            "host": "203.0.113.40",
            "port": 4100,
            "candidates": ["192.0.2.40:4100"],
            "relay_only": relay_only,
        });
        let (router, bob) = (router.clone(), bob.clone());
        async move { call(&router, "PUT", "/clients/bob", Some(body), Some(&bob)).await }
    };
    let reply = update(serde_json::json!(true)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // Neither the lookup nor the listing tells where bob is.
    let record = call(&router, "GET", "/clients/bob", None, None).await.json;
    assert_eq!(record["relay_only"], true);
    assert_eq!(record["host"], "");
    assert_eq!(record["port"], 0);
    assert_eq!(record["observed_host"], serde_json::Value::Null);
    assert!(record.get("candidates").is_none(), "{record}");
    assert_eq!(record["online"], true, "presence stays visible");
    let listing = call(&router, "GET", "/clients", None, Some(&alice))
        .await
        .json;
    let listed = listing["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(listed, record, "the listing withholds the same");
    // Nobody is told where bob's client connects from, in either direction.
    for (to, token) in [("bob", &alice), ("alice", &bob)] {
        let reply = call(&router, "POST", &format!("/punch/{to}"), None, Some(token)).await;
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert!(reply.text.contains("relay"), "{}", reply.text);
    }
    // An update without the field keeps the choice; `false` publishes the address again.
    let body = serde_json::json!({"host": "203.0.113.40", "port": 4100});
    call(&router, "PUT", "/clients/bob", Some(body), Some(&bob)).await;
    let record = call(&router, "GET", "/clients/bob", None, None).await.json;
    assert_eq!(record["relay_only"], true);
    // Garbage in the field is refused and changes nothing.
    assert_eq!(update(serde_json::json!("yes")).await.status, 400);
    let reply = update(serde_json::json!(false)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let record = call(&router, "GET", "/clients/bob", None, None).await.json;
    assert!(record.get("relay_only").is_none(), "{record}");
    assert_eq!(
        (record["host"].as_str(), record["port"].as_u64()),
        (Some("203.0.113.40"), Some(4100))
    );
    let reply = call(&router, "POST", "/punch/bob", None, Some(&alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn the_reachability_check_dials_only_the_callers_address() {
    let (router, _) = serve(fast_settings()).await;
    register(&router, "alice", 4000).await;
    let alice = login(&router, "alice").await;
    let check = |port: serde_json::Value, from: &str| {
        let body = serde_json::json!({ "port": port });
        let request = crate::support::request_from(
            from,
            None,
            crate::support::request("POST", "/reachability", Some(body), Some(&alice)),
        );
        let router = router.clone();
        async move { crate::support::send(&router, request).await }
    };
    // A port that listens on the caller's address is reachable.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = open.local_addr().unwrap().port();
    let reply = check(port.into(), "127.0.0.1:50000").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["addr"], format!("127.0.0.1:{port}"));
    assert_eq!(reply.json["reachable"], true);
    assert_eq!(reply.json["relay"], true);
    assert_eq!(reply.json["hole_punching"], true);
    let (dialled, _) = open.accept().await.unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(
        dialled.try_read(&mut byte).unwrap_or(0),
        0,
        "nothing is sent"
    );
    // Closed: not reachable, with the reason.
    drop(open);
    let reply = check(port.into(), "127.0.0.1:50000").await;
    assert_eq!(reply.json["reachable"], false, "{}", reply.text);
    assert!(reply.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    // Only the address the request comes from is dialled: another client's is its own.
    let reply = check(port.into(), "127.0.0.2:50000").await;
    assert_eq!(reply.json["addr"], format!("127.0.0.2:{port}"));
    // Garbage is refused and dials nothing.
    for bad in [
        serde_json::json!(0),
        serde_json::json!(70_000),
        serde_json::json!("x"),
    ] {
        assert_eq!(check(bad, "127.0.0.1:50000").await.status, 400);
    }
    let unauthenticated = call(
        &router,
        "POST",
        "/reachability",
        Some(serde_json::json!({"port": port})),
        None,
    )
    .await;
    assert_eq!(unauthenticated.status, 401);
    // A flood is cut off by the caller's budget of dials (shared with hole punches).
    let mut refused = None;
    for _ in 0..20 {
        let reply = check(port.into(), "127.0.0.1:50000").await;
        if reply.status == 429 {
            refused = Some(reply);
            break;
        }
    }
    assert!(
        refused
            .expect("a flood is refused")
            .headers
            .contains_key("retry-after")
    );
}

#[tokio::test]
async fn behind_a_proxy_that_names_no_readable_client_nothing_is_dialled() {
    let settings = p2p_chat_directory::Settings {
        trusted_proxies: vec![
            p2p_chat_directory::client_ip::parse_trusted_proxy("127.0.0.1").unwrap(),
        ],
        ..fast_settings()
    };
    let (router, _) = serve(settings).await;
    register(&router, "alice", 4000).await;
    let alice = login(&router, "alice").await;
    // An IPv6 client written without brackets, or garbage: the request resolves to the proxy
    // itself, whose own ports must not be probed.
    for forwarded in ["2001:db8::7:41234:x", "garbage", ""] {
        let body = serde_json::json!({ "port": 22 });
        let request = crate::support::request_from(
            "127.0.0.1:50000",
            Some(forwarded),
            crate::support::request("POST", "/reachability", Some(body), Some(&alice)),
        );
        let reply = crate::support::send(&router, request).await;
        assert_eq!(reply.status, 503, "{forwarded:?}: {}", reply.text);
    }
}
