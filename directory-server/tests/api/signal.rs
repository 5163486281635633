//! The signaling WebSocket on a real socket: authentication, the observed address, presence
//! pushed to everyone connected, and new-mail notices.

use std::time::Duration;

use futures::StreamExt;
use p2p_chat_directory::{AppState, app, run};
use p2p_chat_protocol::api::signal::{SIGNAL_PATH, ServerSignal};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async};

use crate::mailbox::deposit;
use crate::support::{call, fast_settings, login, memory_state, register};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/signal` on `addr` with `token`; the HTTP status of a refusal otherwise.
pub(crate) async fn open(addr: std::net::SocketAddr, token: Option<&str>) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}{SIGNAL_PATH}")
        .into_client_request()
        .unwrap();
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let stream = TcpStream::connect(addr).await.unwrap();
    match client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

/// The next signal on `socket` (control frames skipped).
pub(crate) async fn next(socket: &mut Socket) -> ServerSignal {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a signal in time")
            .expect("socket open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// A directory with `settings` serving on a loopback socket (signaling needs a real one), and
/// its router for plain requests against the same state.
async fn serve(settings: p2p_chat_directory::Settings) -> (axum::Router, std::net::SocketAddr) {
    let state: AppState = memory_state(settings).await;
    let router = app(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(run(listener, state, std::future::pending()));
    (router, addr)
}

#[tokio::test]
async fn presence_and_mail_are_pushed_over_the_signaling_connection() {
    let (router, addr) = serve(fast_settings()).await;
    for name in ["alice", "bob"] {
        register(&router, name, 4000).await;
    }
    let (alice, bob) = (login(&router, "alice").await, login(&router, "bob").await);

    assert_eq!(open(addr, None).await.err(), Some(401));
    assert_eq!(open(addr, Some("not-a-token")).await.err(), Some(401));

    let mut alice_socket = open(addr, Some(&alice)).await.unwrap();
    let ServerSignal::Welcome { observed } = next(&mut alice_socket).await else {
        panic!("the first signal is the welcome")
    };
    let observed = observed.expect("the directory sees the connection");
    assert!(observed.starts_with("127.0.0.1:"), "{observed}");
    let online = |name: &'static str| {
        let router = router.clone();
        async move {
            call(&router, "GET", &format!("/clients/{name}"), None, None)
                .await
                .json["online"]
                .clone()
        }
    };
    assert_eq!(
        online("alice").await,
        true,
        "a signaling connection is a running client"
    );

    // bob comes online: alice hears it at once.
    let mut bob_socket = open(addr, Some(&bob)).await.unwrap();
    assert!(matches!(
        next(&mut bob_socket).await,
        ServerSignal::Welcome { .. }
    ));
    assert_eq!(
        next(&mut alice_socket).await,
        ServerSignal::Presence {
            username: "bob".into(),
            online: true
        }
    );
    // Mail for alice: she is told to fetch it.
    let reply = deposit(&router, Some(&bob), "alice", b"sealed").await;
    assert_eq!(reply.status, axum::http::StatusCode::CREATED);
    assert_eq!(next(&mut alice_socket).await, ServerSignal::Mail);
    // bob's window closes: alice hears he is offline, and the directory says so.
    bob_socket.close(None).await.unwrap();
    assert_eq!(
        next(&mut alice_socket).await,
        ServerSignal::Presence {
            username: "bob".into(),
            online: false
        }
    );
    assert_eq!(online("bob").await, false);
    // A sign-off over HTTP is pushed too.
    let mut bob_socket = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_socket).await;
    next(&mut alice_socket).await;
    call(&router, "POST", "/clients/bob/offline", None, Some(&bob)).await;
    assert_eq!(
        next(&mut alice_socket).await,
        ServerSignal::Presence {
            username: "bob".into(),
            online: false
        }
    );
    // Logging out closes the user's signaling connections: their token may be the revoked
    // one.
    call(&router, "POST", "/logout", None, Some(&alice)).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match alice_socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "alice's signaling connection stayed open after logout"
    );
    assert_eq!(open(addr, Some(&alice)).await.err(), Some(401));
}

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
