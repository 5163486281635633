//! Signaling across replicas on real sockets: clients connected to different replicas see
//! each other's presence and mail notices, can punch, and meet on the relay.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use p2p_chat_directory::signal::Cluster;
use p2p_chat_directory::{AppState, app, open_store, run};
use p2p_chat_protocol::api::encode_sealed;
use p2p_chat_protocol::api::signal::ServerSignal;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::sockets::{Socket, join, next, open, read_exactly};
use crate::support::{call, fast_settings, login, register};

/// One replica serving on a loopback socket.
struct Replica {
    router: Router,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A replica of the cluster on the PostgreSQL database `url`.
async fn replica(url: &str) -> Replica {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = open_store(url).await.unwrap();
    let cluster = Cluster::join(url, Some(format!("http://{addr}")))
        .await
        .unwrap();
    let state = AppState::clustered(store, fast_settings(), Arc::new(cluster));
    let router = app(state.clone());
    let server = tokio::spawn(run(listener, state, std::future::pending()));
    Replica {
        router,
        addr,
        server,
    }
}

/// The next signal that is not a presence change of someone other than `about` (other
/// tests' users never appear here, but a welcome might).
async fn next_about(socket: &mut Socket, about: &str) -> ServerSignal {
    loop {
        let signal = next(socket).await;
        match &signal {
            ServerSignal::Presence { username, .. } if username != about => continue,
            ServerSignal::Welcome { .. } => continue,
            _ => return signal,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_different_replicas_see_presence_mail_punches_and_relay_offers() {
    let url = tokio::task::spawn_blocking(crate::postgres::database)
        .await
        .unwrap();
    let (a, b) = (replica(&url).await, replica(&url).await);
    register(&a.router, "alice", 4000).await;
    register(&b.router, "bob", 4001).await;
    // Tokens work on every replica: alice logs in on B, bob on A.
    let alice = login(&b.router, "alice").await;
    let bob = login(&a.router, "bob").await;

    let mut alice_socket = open(a.addr, Some(&alice)).await.unwrap();
    assert!(matches!(
        next(&mut alice_socket).await,
        ServerSignal::Welcome { .. }
    ));
    let mut bob_socket = open(b.addr, Some(&bob)).await.unwrap();
    assert!(matches!(
        next(&mut bob_socket).await,
        ServerSignal::Welcome { .. }
    ));

    // bob came online on B: alice hears it on A.
    assert_eq!(
        next_about(&mut alice_socket, "bob").await,
        ServerSignal::Presence {
            username: "bob".into(),
            online: true
        }
    );
    let record = call(&a.router, "GET", "/clients/bob", None, Some(&alice)).await;
    assert_eq!(record.json["online"], true, "{}", record.text);

    // bob leaves mail for alice through A; alice is connected to A... and to B's deposit too.
    let body = json!({ "sealed": encode_sealed(b"sealed for alice") });
    let reply = call(&b.router, "POST", "/mailbox/alice", Some(body), Some(&bob)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(next_about(&mut alice_socket, "").await, ServerSignal::Mail);

    // alice asks replica B (where she is not connected) to punch towards bob (on B): both
    // ends come from the shared table.
    let plan = call(&b.router, "POST", "/punch/bob", None, Some(&alice)).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    let ServerSignal::Punch { from, addr, .. } = next_about(&mut bob_socket, "").await else {
        panic!("bob is asked to punch")
    };
    assert_eq!(from, "alice");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    // And the other way, asked on A towards alice on A.
    let plan = call(&a.router, "POST", "/punch/alice", None, Some(&bob)).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.text);
    assert!(matches!(
        next_about(&mut alice_socket, "").await,
        ServerSignal::Punch { from, .. } if from == "bob"
    ));

    // A relay ticket asked on A reaches bob on B; alice joins on A, bob on B (which passes
    // him on to A, where the ticket was issued), and bytes flow both ways.
    let reply = call(&a.router, "POST", "/relay/bob", None, Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let ticket = reply.json["ticket"].as_str().unwrap().to_owned();
    let ServerSignal::RelayOffer {
        from,
        ticket: offered,
    } = next_about(&mut bob_socket, "").await
    else {
        panic!("bob is offered the relay")
    };
    assert_eq!(
        (from.as_str(), offered.as_str()),
        ("alice", ticket.as_str())
    );
    let alice_side = tokio::spawn({
        let (addr, ticket, alice) = (a.addr, ticket.clone(), alice.clone());
        async move { join(addr, &ticket, &alice).await }
    });
    let mut bob_side = join(b.addr, &ticket, &bob)
        .await
        .expect("bob joins through B");
    let mut alice_side = alice_side.await.unwrap().expect("alice joins on A");
    alice_side.write_all(b"hello over the relay").await.unwrap();
    assert_eq!(
        read_exactly(&mut bob_side, 20).await,
        b"hello over the relay"
    );
    bob_side.write_all(b"hi back").await.unwrap();
    assert_eq!(read_exactly(&mut alice_side, 7).await, b"hi back");
    // A ticket of a replica that is gone is refused clearly, not hung on.
    let reply = call(
        &b.router,
        "DELETE",
        "/relay/ffffffffffffffff.00ff",
        None,
        Some(&bob),
    )
    .await;
    reply.error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");

    // bob's last connection closes on B: alice hears he is offline, on A.
    bob_socket.close(None).await.unwrap();
    drop(bob_socket);
    assert_eq!(
        next_about(&mut alice_socket, "bob").await,
        ServerSignal::Presence {
            username: "bob".into(),
            online: false
        }
    );
    // A logout on B closes alice's connection on A.
    let reply = call(&b.router, "POST", "/logout", None, Some(&alice)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        use futures::StreamExt;
        loop {
            match alice_socket.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "alice's connection on A was closed");
    a.server.abort();
    b.server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_silent_for_the_timeout_is_forgotten_with_its_connections() {
    use p2p_chat_directory::signal::REPLICA_TIMEOUT;
    let url = tokio::task::spawn_blocking(crate::postgres::database)
        .await
        .unwrap();
    let store = open_store(&url).await.unwrap();
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let timeout = i64::try_from(REPLICA_TIMEOUT.as_millis()).unwrap();
    // One replica silent for longer than the timeout, one that spoke just now; each holds a
    // running client.
    for (replica, seen_at, user) in [
        ("dead000000000000", now - timeout - 1000, "ghost"),
        ("live000000000000", now, "carol"),
    ] {
        sqlx::query("INSERT INTO replicas (replica, seen_at) VALUES ($1, $2)")
            .bind(replica)
            .bind(seen_at)
            .execute(&db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO signal_connections (replica, id, username, addr, brief, opened_at) \
             VALUES ($1, 0, $2, '127.0.0.1:9', FALSE, $3)",
        )
        .bind(replica)
        .bind(user)
        .bind(seen_at)
        .execute(&db)
        .await
        .unwrap();
    }
    drop(store);
    let a = replica(&url).await;
    for name in ["alice", "ghost", "carol"] {
        register(&a.router, name, 4000).await;
    }
    let alice = login(&a.router, "alice").await;
    // The new replica's first round forgets the dead one: ghost has nobody to offer a relay
    // to, while carol, on the live replica, still has.
    crate::support::eventually("the dead replica is forgotten", || {
        let (router, alice) = (a.router.clone(), alice.clone());
        async move {
            call(&router, "POST", "/relay/ghost", None, Some(&alice))
                .await
                .status
                == StatusCode::NOT_FOUND
        }
    })
    .await;
    let offered = call(&a.router, "POST", "/relay/carol", None, Some(&alice)).await;
    assert_eq!(offered.status, StatusCode::CREATED, "{}", offered.text);
    let left: Vec<String> = sqlx::query_scalar("SELECT replica FROM replicas ORDER BY replica")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.contains(&"live000000000000".to_owned()), "{left:?}");
    let ghosts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM signal_connections WHERE username = 'ghost'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(ghosts, 0, "its connections went with it");
    a.server.abort();
}
