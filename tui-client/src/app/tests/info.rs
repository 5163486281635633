//! `/info`: our addresses, the peer's, and how the session was made.

use super::*;

fn info_lines(app: &mut App, chat: ChatId) -> Vec<String> {
    let before = app.chat(chat).unwrap().lines.len();
    type_line(app, "/info");
    app.chat(chat).unwrap().lines[before..]
        .iter()
        .map(|l| l.text.clone())
        .collect()
}

#[test]
fn info_shows_our_addresses_the_peers_and_the_session() {
    let mut app = app();
    app.update(Action::SignalingOpened {
        observed: Some("203.0.113.2:34850".into()),
    });
    app.update(Action::PortMapped(Some((
        "203.0.113.2:55555".into(),
        "PCP",
    ))));
    let mut bob = record("bob", true);
    bob.candidates = vec!["192.0.2.12:4001".into()];
    bob.observed_host = Some("203.0.113.1".into());
    app.update(Action::ContactsLoaded(vec![bob]));
    let chat = connected_to_bob(&mut app);
    app.update(Action::RoundTrip {
        session: SessionId(1),
        rtt_ms: 23,
    });
    let lines = info_lines(&mut app, chat);
    assert_eq!(
        lines,
        [
            "you: listening on 127.0.0.1:4000; the directory sees you at 203.0.113.2:34850; \
             the router forwards 203.0.113.2:55555 to you (PCP)",
            "bob: published 127.0.0.1:4001",
            "session: direct, to 127.0.0.1:50000; we dialled, 23 ms round trip",
        ]
    );
}

#[test]
fn info_names_a_relay_only_peer_and_a_relayed_session() {
    let mut app = app();
    let chat = connected_to_bob(&mut app);
    let mut hidden = record("bob", true);
    (hidden.host, hidden.port, hidden.relay_only) = (String::new(), 0, true);
    app.update(Action::ContactsLoaded(vec![hidden]));
    // The direct session ends; bob comes back through the relay.
    app.update(Action::SessionClosed {
        session: SessionId(1),
        reason: crate::net::CloseReason::PeerLeft {
            reason: "bye".into(),
        },
    });
    app.update(Action::SessionOpened {
        session: SessionId(2),
        peer: RemotePeer {
            addr: "203.0.113.10:27182".parse().unwrap(),
            path: crate::net::SessionPath::Relayed { max_bytes: None },
            ..remote("bob", None)
        },
        direction: Direction::Incoming,
    });
    let lines = info_lines(&mut app, chat);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].ends_with("no port mapping"), "{lines:?}");
    assert!(lines[0].contains("no signaling connection"), "{lines:?}");
    assert!(
        lines[1].contains("only through the directory's relay"),
        "{lines:?}"
    );
    assert_eq!(
        lines[2],
        "session: relayed by the directory at 203.0.113.10:27182, encrypted end to end; they dialled"
    );
}

#[test]
fn info_without_a_chat_tells_our_addresses_in_the_status_bar() {
    let mut app = app();
    type_line(&mut app, "/info");
    let (_, text) = app.notice.clone().expect("a notice");
    assert!(
        text.starts_with("you: listening on 127.0.0.1:4000"),
        "{text}"
    );
}
