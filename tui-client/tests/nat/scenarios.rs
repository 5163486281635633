//! Longer stories in the lab, with a chat window: a relayed chat that turns direct, and a
//! directory that restarts mid-chat.

use std::time::Duration;

use crate::lab::{self, Lab, MapProtocol, Mapping, PEER_PORT, Unsolicited};
use crate::peers::{Listener, window};

#[test]
fn a_relayed_chat_turns_direct_when_the_peers_router_starts_forwarding_its_port() {
    // alice's chat window reaches bob (behind a hard NAT) through the relay. Then bob's router
    // forwards his port (as a port mapping or a forwarding rule would): the window's next try
    // opens a direct session, which replaces the relayed one; no message is lost or repeated.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let mut home_b = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let alice = lab.register(&a, "alice");
    let bob = lab.register(&b, "bob");
    let mut listener = Listener::start(&mut lab, &b, &bob, &[]);
    listener.drain_said();
    let mut chat = window("alice", &a, &alice, &["connect", "bob"]);
    chat.wait_for("connected, relayed");
    chat.type_text("before\r");
    assert_eq!(listener.next_text(), "before");
    // bob's router now forwards his published port to him.
    lab::forward_port(&home_b.router, &b, PEER_PORT);
    chat.wait_for("connected to bob (directly");
    chat.wait_until("the relayed path gone", |screen| {
        !screen.contains("relayed")
    });
    chat.type_text("after\r");
    assert_eq!(listener.next_text(), "after");
    chat.type_text("/info\r");
    chat.wait_for("session: direct");
    chat.quit();
}

#[test]
fn a_directory_restarted_mid_chat_keeps_the_chat_and_signaling_comes_back() {
    let mut lab = Lab::new();
    let directory = lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let mut home_b = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let alice = lab.register(&a, "alice");
    let carol = lab.register(&a, "carol");
    let bob = lab.register(&b, "bob");
    let mut listener = Listener::start(&mut lab, &b, &bob, &[]);
    listener.wait_said("the directory sees this client");
    let mut chat = window("alice", &a, &alice, &["connect", "bob"]);
    chat.wait_for("connected, punched");
    chat.type_text("before the restart\r");
    assert_eq!(listener.next_text(), "before the restart");
    lab.restart_directory(&directory);
    // The punched session never needed the directory.
    chat.type_text("after the restart\r");
    assert_eq!(listener.next_text(), "after the restart");
    // bob's signaling connection comes back by itself...
    listener.wait_said("lost the signaling connection");
    listener.wait_said("the signaling connection to the directory is back");
    listener.drain_said();
    // ...so a new sender punches through to him (a punch needs both sides' connections).
    let out = lab.client(&a, &carol, &["send", "--json", "bob", "hello again"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["path"], "punched", "{summary}");
    assert_eq!(listener.next_text(), "hello again");
    assert!(
        chat.contents().contains("connected, punched"),
        "{}",
        chat.contents()
    );
    chat.quit();
}

#[test]
fn two_chat_windows_behind_hard_nats_go_direct_once_a_router_maps_a_port() {
    // The issue's own story: alice and bob chat in their windows, both behind hard NATs, so
    // through the relay. Then bob's router starts offering port mapping: bob's client maps
    // its port on its next search, and alice's window, trying again, reaches bob directly.
    // Both windows show the path; nothing is lost or repeated.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let mut home_b = lab.mapping_router_off(Mapping::Hard);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let alice = lab.register(&a, "alice");
    let bob = lab.register(&b, "bob");
    let mut bob_window = window("bob", &b, &bob, &[]);
    bob_window.wait_for("bob");
    let mut alice_window = window("alice", &a, &alice, &["connect", "bob"]);
    alice_window.wait_for("connected, relayed");
    alice_window.type_text("hello through the relay\r");
    bob_window.wait_for("hello through the relay");
    bob_window.wait_for("relayed");
    // bob's router now maps ports (its user turned UPnP on).
    lab.start_port_mapping(&home_b, MapProtocol::All);
    // bob's client searches again within 30 s; alice's window tries again at 10, 30 and 70 s.
    let patience = Duration::from_secs(120);
    alice_window.wait_longer("a direct session", patience, |screen| {
        screen.contains("connected to bob (directly")
    });
    alice_window.type_text("hello directly\r");
    bob_window.wait_for("hello directly");
    for window in [&mut alice_window, &mut bob_window] {
        window.wait_until("the relayed path gone", |screen| {
            !screen.contains("relayed")
        });
    }
    let screen = bob_window.contents();
    assert_eq!(
        screen.matches("hello through the relay").count(),
        1,
        "{screen}"
    );
    alice_window.quit();
    bob_window.quit();
}
