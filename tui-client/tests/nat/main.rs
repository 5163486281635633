//! The NAT lab's cells: two users registered with `--host auto`, the receiver running
//! `listen`, the sender's `send --json` delivered on the path each cell must take. Runs as root
//! (network namespaces and iptables, which `.ci/run` installs).

mod lab;
mod options;
mod peers;
// The e2e tests' pseudo-terminal driver, for chat windows inside the lab's namespaces.
#[allow(dead_code)]
#[path = "../e2e/pty.rs"]
mod pty;
mod scenarios;

use std::time::{Duration, Instant};

use lab::{Host, Lab, Mapping, PEER_PORT, Unsolicited};
use peers::Listener;

/// What one delivery showed: `send --json`'s summary and how long `send` took.
pub(crate) struct Delivery {
    summary: serde_json::Value,
    took: Duration,
}

/// Registers alice on `from` and bob on `to`, starts bob's `listen`, and sends from alice.
pub(crate) fn deliver(lab: &mut Lab, from: &Host, to: &Host) -> Delivery {
    deliver_with(lab, from, to, Options::default())
}

/// Options of one delivery's clients.
#[derive(Default)]
pub(crate) struct Options<'a> {
    /// For alice's `send`.
    alice: &'a [&'a str],
    /// For bob's `listen`.
    bob: &'a [&'a str],
    /// Send once bob's `listen` printed a line containing this on stderr.
    bob_ready: Option<&'a str>,
    /// Send once bob's directory record (`lookup --json`) contains this (a candidate).
    bob_published: Option<&'a str>,
}

/// [`deliver`], with `options`.
pub(crate) fn deliver_with(lab: &mut Lab, from: &Host, to: &Host, options: Options) -> Delivery {
    let alice = lab.register(from, "alice");
    let bob = lab.register(to, "bob");
    let mut listener = Listener::start(lab, to, &bob, options.bob);
    if let Some(ready) = options.bob_ready {
        eprintln!("bob: {}", listener.wait_said(ready));
    }
    listener.drain_said();
    // bob's client is up once the directory shows it online (and, when asked, publishes
    // what the cell needs).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = lab.client(from, &alice, &["lookup", "--json", "bob"]);
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let published = options
            .bob_published
            .is_none_or(|what| record.to_string().contains(what));
        if record["online"] == true && published {
            break;
        }
        assert!(Instant::now() < deadline, "bob never came online: {record}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    let mut send = options.alice.to_vec();
    send.extend_from_slice(&["send", "--json", "bob", "hello", "across", "the", "lab"]);
    let out = lab.client(from, &alice, &send);
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listener.next_text(), "hello across the lab");
    Delivery { summary, took }
}

/// Asserts the delivery took `path` and happened within the goal of 3 s (plus the start-up
/// of the `send` process, which is not part of connecting).
pub(crate) fn assert_path(delivery: &Delivery, path: &str) {
    assert_path_among(delivery, &[path]);
}

/// Asserts the delivery took one of `paths`, within the goal (see [`assert_path`]).
pub(crate) fn assert_path_among(delivery: &Delivery, paths: &[&str]) {
    assert_eq!(
        delivery.summary["outcome"], "delivered",
        "{}",
        delivery.summary
    );
    let path = delivery.summary["path"].as_str().unwrap_or_default();
    assert!(paths.contains(&path), "{}", delivery.summary);
    assert!(
        delivery.took < Duration::from_secs(4),
        "took {:?} on the {path} path",
        delivery.took
    );
}

#[test]
fn public_to_public_is_direct() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let (a, b) = (lab.public_host(), lab.public_host());
    assert_path(&deliver(&mut lab, &a, &b), "direct");
}

#[test]
fn behind_a_router_to_a_public_host_is_direct() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home = lab.home_router(Mapping::Easy, Unsolicited::Reset);
    let a = lab.lan_host(&mut home);
    let b = lab.public_host();
    assert_path(&deliver(&mut lab, &a, &b), "direct");
}

#[test]
fn a_public_host_to_one_behind_a_router_is_punched() {
    // The router answers unsolicited SYNs with a reset: bob's SYN reaches the port alice's
    // `send` holds (connection reversal), after a refused round or two at most.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let a = lab.public_host();
    let mut home = lab.home_router(Mapping::Easy, Unsolicited::Reset);
    let b = lab.lan_host(&mut home);
    assert_path(&deliver(&mut lab, &a, &b), "punched");
}

#[test]
fn a_router_that_drops_unsolicited_connections_is_punched() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let a = lab.public_host();
    let mut home = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let b = lab.lan_host(&mut home);
    assert_path(&deliver(&mut lab, &a, &b), "punched");
}

#[test]
fn two_easy_home_routers_are_punched() {
    // The usual home router: one public port per local port, unsolicited SYNs dropped.
    let (mut lab, a, b) = Lab::two_homes(
        &[],
        (Mapping::Easy, Unsolicited::Drop),
        (Mapping::Easy, Unsolicited::Drop),
    );
    assert_path(&deliver(&mut lab, &a, &b), "punched");
}

#[test]
fn a_router_that_resets_and_one_that_drops_are_punched() {
    // The reset side's SYN must be out before the other's arrives; a refused round retries.
    let (mut lab, a, b) = Lab::two_homes(
        &[],
        (Mapping::Easy, Unsolicited::Reset),
        (Mapping::Easy, Unsolicited::Drop),
    );
    assert_path(&deliver(&mut lab, &a, &b), "punched");
}

#[test]
fn two_firewalls_without_nat_are_punched() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let (a, b) = (lab.firewalled_host(), lab.firewalled_host());
    assert_path(&deliver(&mut lab, &a, &b), "punched");
}

#[test]
fn behind_a_carrier_nat_to_a_public_host_is_direct() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut carrier = lab.carrier();
    let mut home = lab.home_router_behind(&mut carrier, Mapping::Easy, Unsolicited::Drop);
    let a = lab.lan_host(&mut home);
    let b = lab.public_host();
    assert_path(&deliver(&mut lab, &a, &b), "direct");
}

#[test]
fn a_public_host_to_one_behind_a_carrier_nat_is_relayed_or_better() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let a = lab.public_host();
    let mut carrier = lab.carrier();
    let mut home = lab.home_router_behind(&mut carrier, Mapping::Easy, Unsolicited::Drop);
    let b = lab.lan_host(&mut home);
    assert_path_among(&deliver(&mut lab, &a, &b), &["punched", "relayed"]);
}

#[test]
fn a_home_router_and_one_behind_a_carrier_nat_are_relayed_or_better() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let mut carrier = lab.carrier();
    let mut home_b = lab.home_router_behind(&mut carrier, Mapping::Easy, Unsolicited::Reset);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    assert_path_among(&deliver(&mut lab, &a, &b), &["punched", "relayed"]);
}

#[test]
fn an_easy_and_a_hard_router_are_relayed() {
    // The hard router gives the punch a new random port: nothing the directory saw.
    let (mut lab, a, b) = Lab::two_homes(
        &[],
        (Mapping::Easy, Unsolicited::Drop),
        (Mapping::Hard, Unsolicited::Drop),
    );
    assert_path(&deliver(&mut lab, &a, &b), "relayed");
}

#[test]
fn two_hard_routers_are_relayed() {
    let (mut lab, a, b) = Lab::two_homes(
        &[],
        (Mapping::Hard, Unsolicited::Reset),
        (Mapping::Hard, Unsolicited::Drop),
    );
    assert_path(&deliver(&mut lab, &a, &b), "relayed");
}

#[test]
fn two_hosts_on_one_lan_connect_directly_at_their_lan_addresses() {
    // The directory lists the router's public address, and the router does not forward a
    // connection back into its own LAN: the LAN address bob published as a candidate does it.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home = lab.home_router(Mapping::Easy, Unsolicited::Reset);
    let a = lab.lan_host(&mut home);
    let b = lab.lan_host(&mut home);
    let lan = format!("{}:{PEER_PORT}", b.ip);
    let options = Options {
        bob_published: Some(&lan),
        ..Options::default()
    };
    assert_path(&deliver_with(&mut lab, &a, &b, options), "direct");
}

#[test]
fn without_the_relay_two_hard_routers_get_mail() {
    let (lab, a, b) = Lab::two_homes(
        &["--relay", "off"],
        (Mapping::Hard, Unsolicited::Drop),
        (Mapping::Hard, Unsolicited::Reset),
    );
    let alice = lab.register(&a, "alice");
    lab.register(&b, "bob");
    let out = lab.client(&a, &alice, &["send", "--json", "bob", "hello"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["path"], "mailbox");
}
