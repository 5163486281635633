//! Hole punching over real signaling connections: both sides told where the other is seen,
//! behind proxies that hide or report ports, brief connections, and the operator's switch.

use std::time::Duration;

use futures::StreamExt;
use p2p_chat_directory::app;
use p2p_chat_protocol::api::signal::{SIGNAL_PATH, ServerSignal};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, client_async};

use crate::signal::{Socket, next, open, serve};
use crate::support::{call, fast_settings, login, memory_state, register};

#[tokio::test]
async fn a_hole_punch_tells_both_sides_where_the_other_is_seen() {
    let (router, addr) = serve(fast_settings()).await;
    for name in ["alice", "bob", "carol"] {
        register(&router, name, 4000).await;
    }
    let (alice, bob) = (login(&router, "alice").await, login(&router, "bob").await);
    let punch = |to: &str, token: Option<&str>| {
        let (router, uri, token) = (
            router.clone(),
            format!("/punch/{to}"),
            token.map(str::to_owned),
        );
        async move { call(&router, "POST", &uri, None, token.as_deref()).await }
    };
    // Without a signaling connection there is nothing to punch from.
    assert_eq!(punch("bob", Some(&alice)).await.status, 404);
    let mut alice_socket = open(addr, Some(&alice)).await.unwrap();
    let ServerSignal::Welcome {
        observed: alice_seen,
    } = next(&mut alice_socket).await
    else {
        panic!("welcome first")
    };
    // bob is not connected yet.
    assert_eq!(punch("bob", Some(&alice)).await.status, 404);
    let mut bob_socket = open(addr, Some(&bob)).await.unwrap();
    let ServerSignal::Welcome { observed: bob_seen } = next(&mut bob_socket).await else {
        panic!("welcome first")
    };
    let reply = punch("bob", Some(&alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["addr"], bob_seen.unwrap());
    assert!(reply.json["delay_ms"].as_u64().unwrap() < 10_000);
    // bob hears it (after alice's presence news), with alice's observed address.
    loop {
        match next(&mut bob_socket).await {
            ServerSignal::Punch { from, addr, .. } => {
                assert_eq!(from, "alice");
                assert_eq!(Some(addr), alice_seen);
                break;
            }
            ServerSignal::Presence { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Hostile and pointless requests.
    assert_eq!(punch("alice", Some(&alice)).await.status, 400);
    assert_eq!(punch("bob", None).await.status, 401);
    assert_eq!(punch("bob", Some("garbage")).await.status, 401);
    assert_eq!(punch("carol", Some(&alice)).await.status, 404);
    // A name that cannot exist is nobody, as everywhere in the API.
    assert_eq!(punch("no%20such%2Fname", Some(&alice)).await.status, 404);
    let long = "x".repeat(10_000);
    assert!(matches!(
        punch(&long, Some(&alice)).await.status.as_u16(),
        404 | 414
    ));
    // A flood is cut off by the requester's budget, with Retry-After.
    let mut refused = None;
    for _ in 0..50 {
        let reply = punch("bob", Some(&alice)).await;
        if reply.status == 429 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("a flood of punches is refused");
    assert!(refused.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn behind_a_proxy_that_hides_ports_a_punch_is_refused_with_503() {
    let (router, sockets) =
        through_proxy([("alice", "203.0.113.7"), ("bob", "198.51.100.9")]).await;
    let alice = &sockets[0].1;
    let reply = call(&router, "POST", "/punch/bob", None, Some(alice)).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.text.contains("port"), "{}", reply.text);
}

#[tokio::test]
async fn behind_a_proxy_that_reports_the_clients_ports_a_punch_works() {
    let clients = [
        ("alice", "203.0.113.7:40001"),
        ("bob", "[2001:db8::9]:40002"),
    ];
    let (router, sockets) = through_proxy(clients).await;
    let reply = call(&router, "POST", "/punch/bob", None, Some(&sockets[0].1)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["addr"], "[2001:db8::9]:40002");
}

/// Two users' signaling connections through a trusted proxy (loopback) that reports each
/// `(name, client)` in `X-Forwarded-For`; asserts the welcome tells that client back.
async fn through_proxy(clients: [(&str, &str); 2]) -> (axum::Router, Vec<(Socket, String)>) {
    let settings = p2p_chat_directory::Settings {
        trusted_proxies: vec![
            p2p_chat_directory::client_ip::parse_trusted_proxy("127.0.0.1").unwrap(),
        ],
        ..fast_settings()
    };
    let (router, addr) = serve(settings).await;
    let mut sockets = Vec::new();
    for (name, client) in clients {
        register(&router, name, 4000).await;
        let token = login(&router, name).await;
        let mut request = format!("ws://{addr}{SIGNAL_PATH}")
            .into_client_request()
            .unwrap();
        let headers = request.headers_mut();
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        headers.insert("x-forwarded-for", client.parse().unwrap());
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut socket, _) = client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        // What the proxy reported, the port included when it wrote one.
        assert_eq!(
            next(&mut socket).await,
            ServerSignal::Welcome {
                observed: Some(client.into())
            }
        );
        sockets.push((socket, token));
    }
    (router, sockets)
}

#[tokio::test]
async fn a_brief_connection_may_ask_for_punches_but_is_no_running_client() {
    let (router, addr) = serve(fast_settings()).await;
    for name in ["alice", "bob"] {
        register(&router, name, 4000).await;
    }
    let (alice, bob) = (login(&router, "alice").await, login(&router, "bob").await);
    let mut bob_socket = open(addr, Some(&bob)).await.unwrap();
    assert!(matches!(
        next(&mut bob_socket).await,
        ServerSignal::Welcome { .. }
    ));
    // alice's `send` opens a brief connection.
    let mut request = format!("ws://{addr}{SIGNAL_PATH}?brief=true")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {alice}").parse().unwrap());
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut brief, _) = client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .unwrap();
    let ServerSignal::Welcome { observed } = next(&mut brief).await else {
        panic!("welcome first")
    };
    // It may ask for a punch, from its own port.
    let reply = call(&router, "POST", "/punch/bob", None, Some(&alice)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let ServerSignal::Punch { addr: told, .. } = next(&mut bob_socket).await else {
        panic!("bob hears the punch, and no presence of alice")
    };
    assert_eq!(Some(told), observed);
    // But alice is not online, cannot be punched or relayed to, and hears no pushes.
    let shown = call(&router, "GET", "/clients/alice", None, None).await;
    assert_eq!(shown.json["online"], false, "{}", shown.text);
    let reply = call(&router, "POST", "/punch/alice", None, Some(&bob)).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(&router, "POST", "/relay/alice", None, Some(&bob)).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    crate::mailbox::deposit(&router, Some(&bob), "alice", b"sealed").await;
    let pushed = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            if let Some(Ok(Message::Text(text))) = brief.next().await {
                return text;
            }
        }
    })
    .await;
    assert!(
        pushed.is_err(),
        "a brief connection gets no pushes: {pushed:?}"
    );
    // Closing it signs nobody off and tells nobody anything.
    brief.close(None).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(300), next(&mut bob_socket)).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

#[tokio::test]
async fn an_operator_can_turn_hole_punching_off() {
    let settings = p2p_chat_directory::Settings {
        hole_punching: false,
        ..fast_settings()
    };
    let router = app(memory_state(settings).await);
    for name in ["alice", "bob"] {
        register(&router, name, 4000).await;
    }
    let alice = login(&router, "alice").await;
    let reply = call(&router, "POST", "/punch/bob", None, Some(&alice)).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.text.contains("--hole-punching off"), "{}", reply.text);
}
