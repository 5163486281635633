//! The relay on a real socket: a ticket offered over signaling, both sides joined by HTTP
//! upgrade, bytes carried both ways; the refusals; the byte limit.

use std::time::Duration;

use p2p_chat_directory::relay::RelayLimits;
use p2p_chat_directory::{AppState, Settings, app, run};
use p2p_chat_protocol::api::signal::{RELAY_MAX_BYTES_HEADER, ServerSignal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::signal::{next, open};
use crate::sockets::{join, join_answer, read_exactly};
use crate::support::{call, fast_settings, login, memory_state, register};

/// A directory with `relay` limits on a real socket; returns its router (for plain calls),
/// its address, and alice's and bob's tokens.
/// A served directory with alice, bob and carol registered: its router, address, alice's and
/// bob's tokens, and its state.
async fn serve(
    relay: RelayLimits,
) -> (axum::Router, std::net::SocketAddr, String, String, AppState) {
    let state: AppState = memory_state(Settings {
        relay,
        ..fast_settings()
    })
    .await;
    let router = app(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(run(listener, state.clone(), std::future::pending()));
    for name in ["alice", "bob", "carol"] {
        register(&router, name, 4000).await;
    }
    let (alice, bob) = (login(&router, "alice").await, login(&router, "bob").await);
    (router, addr, alice, bob, state)
}

async fn directory(relay: RelayLimits) -> (axum::Router, std::net::SocketAddr, String, String) {
    let (router, addr, alice, bob, _) = serve(relay).await;
    (router, addr, alice, bob)
}

#[tokio::test]
async fn two_users_meet_on_the_relay_and_bytes_flow_both_ways() {
    let (router, addr, alice, bob, state) = serve(RelayLimits::default()).await;
    // Nobody to meet while bob has no signaling connection.
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    reply.error(axum::http::StatusCode::NOT_FOUND, "not_found");

    let mut bob_signal = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_signal).await;
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::CREATED,
        "{}",
        reply.text
    );
    let ticket = reply.json["ticket"].as_str().unwrap().to_owned();
    assert_eq!(ticket.len(), 32);
    assert_eq!(
        next(&mut bob_signal).await,
        ServerSignal::RelayOffer {
            ticket: ticket.clone(),
            from: "alice".into()
        }
    );
    // Only alice and bob may use it.
    let carol = login(&router, "carol").await;
    assert_eq!(join(addr, &ticket, &carol).await.err(), Some(404));

    let mut a = join(addr, &ticket, &alice).await.unwrap();
    // alice cannot take bob's side too.
    assert_eq!(join(addr, &ticket, &alice).await.err(), Some(404));
    let mut b = join(addr, &ticket, &bob).await.unwrap();
    a.write_all(b"ciphertext from alice").await.unwrap();
    assert_eq!(read_exactly(&mut b, 21).await, b"ciphertext from alice");
    b.write_all(b"and back").await.unwrap();
    assert_eq!(read_exactly(&mut a, 8).await, b"and back");
    // The metrics saw the session, its bytes and bob's signaling connection.
    // (The relay counts bytes just after writing them: wait for the count, not the bytes.)
    let metrics = p2p_chat_directory::metrics::metrics_app(state.clone());
    crate::support::eventually("the metrics count the relayed bytes", || async {
        let text = call(&metrics, "GET", "/metrics", None, None).await.text;
        [
            "p2p_chat_directory_relay_sessions 1",
            "p2p_chat_directory_relay_sessions_started_total 1",
            "p2p_chat_directory_relay_bytes_total 29",
            "p2p_chat_directory_signaling_connections 1",
        ]
        .iter()
        .all(|line| text.lines().any(|l| l == *line))
    })
    .await;
    // A used ticket is gone.
    assert_eq!(join(addr, &ticket, &alice).await.err(), Some(404));
    // One side closing ends the other.
    drop(a);
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), b.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn the_operator_bounds_the_relay() {
    let off = RelayLimits {
        enabled: false,
        ..RelayLimits::default()
    };
    let (router, addr, alice, bob) = directory(off).await;
    let mut bob_signal = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_signal).await;
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    let message = reply.error(axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(message.contains("does not relay"), "{message}");

    // A byte limit ends the session once reached.
    let small = RelayLimits {
        max_bytes: 1000,
        ..RelayLimits::default()
    };
    let (router, addr, alice, bob) = directory(small).await;
    let mut bob_signal = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_signal).await;
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    let ticket = reply.json["ticket"].as_str().unwrap().to_owned();
    // Each side is told the cap when it joins.
    let answer = join_answer(addr, &ticket, &alice).await.unwrap();
    assert_eq!(answer.headers()[RELAY_MAX_BYTES_HEADER], "1000");
    let mut a = answer.upgrade().await.unwrap();
    let answer = join_answer(addr, &ticket, &bob).await.unwrap();
    assert_eq!(answer.headers()[RELAY_MAX_BYTES_HEADER], "1000");
    let mut b = answer.upgrade().await.unwrap();
    let _ = a.write_all(&[7u8; 4000]).await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), b.read_to_end(&mut got))
        .await
        .expect("ended in time")
        .unwrap();
    assert_eq!(
        got.len(),
        1000,
        "the session ends at its limit, to the byte"
    );
}

#[tokio::test]
async fn one_user_cannot_take_the_whole_relay() {
    let (router, addr, alice, bob) = directory(RelayLimits::default()).await;
    let mut bob_signal = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_signal).await;
    for _ in 0..p2p_chat_directory::relay::RELAY_MAX_PER_USER {
        let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
        assert_eq!(
            reply.status,
            axum::http::StatusCode::CREATED,
            "{}",
            reply.text
        );
    }
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    let message = reply.error(axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(message.contains("for one of you"), "{message}");
}

#[tokio::test]
async fn a_declined_offer_closes_the_waiting_side_at_once() {
    let (router, addr, alice, bob) = directory(RelayLimits::default()).await;
    let carol = login(&router, "carol").await;
    let mut bob_signal = open(addr, Some(&bob)).await.unwrap();
    next(&mut bob_signal).await;
    let reply = call(&router, "POST", "/relay/bob", None, Some(&alice)).await;
    let ticket = reply.json["ticket"].as_str().unwrap().to_owned();
    let mut waiting = join(addr, &ticket, &alice).await.unwrap();
    // Someone else cannot decline it; bob can.
    let path = format!("/relay/{ticket}");
    let reply = call(&router, "DELETE", &path, None, Some(&carol)).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    let reply = call(&router, "DELETE", &path, None, Some(&bob)).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    // alice's side ends now, not when the ticket would have expired.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut byte))
        .await
        .expect("closed well before the ticket's 10 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // The ticket is gone.
    assert_eq!(join(addr, &ticket, &bob).await.err(), Some(404));
    let reply = call(&router, "DELETE", &path, None, Some(&bob)).await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(
        call(&router, "DELETE", "/relay/garbage", None, None)
            .await
            .status,
        401
    );
}
