//! The signaling WebSocket on a real socket: authentication, the observed address, presence
//! pushed to everyone connected, and new-mail notices.

use std::time::Duration;

use futures::StreamExt;
use p2p_chat_directory::{AppState, app, run};
use p2p_chat_protocol::api::signal::ServerSignal;
use tokio_tungstenite::tungstenite::Message;

use crate::mailbox::deposit;
pub(crate) use crate::sockets::{Socket, next, open};
use crate::support::{call, fast_settings, login, memory_state, register};

/// A directory with `settings` serving on a loopback socket (signaling needs a real one), and
/// its router for plain requests against the same state.
pub(crate) async fn serve(
    settings: p2p_chat_directory::Settings,
) -> (axum::Router, std::net::SocketAddr) {
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
