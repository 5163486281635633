//! The NAT lab's cells: two users registered with `--host auto`, the receiver running
//! `listen`, the sender's `send --json` delivered on the path each cell must take. Runs as root
//! (network namespaces and iptables, which `.ci/run` installs).

mod lab;
mod peers;
// The e2e tests' pseudo-terminal driver, for chat windows inside the lab's namespaces.
#[allow(dead_code)]
#[path = "../e2e/pty.rs"]
mod pty;
mod scenarios;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lab::{Host, Lab, MapProtocol, Mapping, PEER_PORT, Unsolicited, client_bin};
use peers::Listener;

/// What one delivery showed: `send --json`'s summary and how long `send` took.
struct Delivery {
    summary: serde_json::Value,
    took: Duration,
}

/// Registers alice on `from` and bob on `to`, starts bob's `listen`, and sends from alice.
fn deliver(lab: &mut Lab, from: &Host, to: &Host) -> Delivery {
    deliver_with(lab, from, to, Options::default())
}

/// Options of one delivery's clients.
#[derive(Default)]
struct Options<'a> {
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
fn deliver_with(lab: &mut Lab, from: &Host, to: &Host, options: Options) -> Delivery {
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
fn assert_path(delivery: &Delivery, path: &str) {
    assert_path_among(delivery, &[path]);
}

/// Asserts the delivery took one of `paths`, within the goal (see [`assert_path`]).
fn assert_path_among(delivery: &Delivery, paths: &[&str]) {
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

/// bob's router (a hard NAT) forwards the port his client asked for with `protocol`: alice,
/// behind a hard NAT too, dials it, and neither hard NAT matters.
fn mapped_hard_from_hard(protocol: MapProtocol, said: &str) {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let mut home_b = lab.mapping_router(Mapping::Hard, protocol);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let ready = Options {
        bob_ready: Some(said),
        ..Options::default()
    };
    let delivery = deliver_with(&mut lab, &a, &b, ready);
    assert_path(&delivery, "direct");
}

#[test]
fn a_hard_router_that_maps_a_port_by_upnp_is_reached_directly_from_a_hard_router() {
    mapped_hard_from_hard(MapProtocol::UpnpIgd, "(UPnP-IGD port mapping)");
}

#[test]
fn a_hard_router_that_maps_a_port_by_pcp_is_reached_directly_from_a_hard_router() {
    mapped_hard_from_hard(MapProtocol::PcpNatPmp, "(PCP port mapping)");
}

#[test]
fn without_port_mapping_the_same_routers_are_relayed() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let mut home_b = lab.mapping_router(Mapping::Hard, MapProtocol::All);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let options = Options {
        bob: &["--no-port-mapping"],
        ..Options::default()
    };
    let delivery = deliver_with(&mut lab, &a, &b, options);
    assert_path(&delivery, "relayed");
}

#[test]
fn a_port_mapping_is_removed_when_the_client_quits() {
    for protocol in [MapProtocol::UpnpIgd, MapProtocol::PcpNatPmp] {
        mapping_removed_on_quit(protocol);
    }
}

fn mapping_removed_on_quit(protocol: MapProtocol) {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home = lab.mapping_router(Mapping::Easy, protocol);
    let host = lab.lan_host(&mut home);
    let bob = lab.register(&host, "bob");
    let listen = format!("0.0.0.0:{PEER_PORT}");
    let mut listener = lab.spawn(
        &host.ns,
        &client_bin(),
        &[
            "--home",
            bob.to_str().unwrap(),
            "--listen",
            &listen,
            "listen",
        ],
        Stdio::null(),
    );
    let mut said = BufReader::new(listener.stderr.take().unwrap()).lines();
    let forwarded = said
        .find(|line| {
            line.as_ref()
                .is_ok_and(|l| l.contains("the router forwards"))
        })
        .expect("the router forwards a port")
        .unwrap();
    assert!(
        forwarded.contains(&format!("{}:", home.router.ip)),
        "{forwarded}"
    );
    let redirects = || lab::nft_chain(&home.router, "prerouting_miniupnpd");
    assert!(
        redirects().contains(&format!("dnat ip to {}:{PEER_PORT}", host.ip)),
        "{}",
        redirects()
    );
    // Quitting (Ctrl+C) removes it.
    std::process::Command::new("kill")
        .args(["-INT", &listener.id().to_string()])
        .status()
        .unwrap();
    std::thread::spawn(move || said.for_each(drop));
    let quit = listener.wait().unwrap();
    assert!(quit.success(), "{quit:?}");
    assert!(!redirects().contains("dnat"), "{}", redirects());
}

#[test]
fn a_relay_only_receiver_is_relayed_and_its_address_is_withheld() {
    // Two easy routers would be punched; bob's --relay-only keeps his address to himself.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let mut home_b = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let options = Options {
        bob: &["--relay-only"],
        ..Options::default()
    };
    assert_path(&deliver_with(&mut lab, &a, &b, options), "relayed");
    let alice = lab.dir.path().join("alice");
    let out = lab.client(&a, &alice, &["lookup", "bob"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains(&home_b.router.ip), "{shown}");
    assert!(!shown.contains(&b.ip), "{shown}");
    assert!(shown.contains("relay"), "{shown}");
}

#[test]
fn a_relay_only_sender_never_dials_a_public_peer() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let (a, b) = (lab.public_host(), lab.public_host());
    let options = Options {
        alice: &["--relay-only"],
        ..Options::default()
    };
    assert_path(&deliver_with(&mut lab, &a, &b, options), "relayed");
    let alice = lab.dir.path().join("alice");
    let out = lab.client(
        &a,
        &alice,
        &[
            "--relay-only",
            "send",
            "--ip",
            &format!("{}:{PEER_PORT}", b.ip),
            "hi",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--relay-only"));
}

#[test]
fn doctor_tells_each_host_what_its_network_allows() {
    let mut lab = Lab::new();
    lab.directory(&[]);
    let public = lab.public_host();
    let mut easy = lab.home_router(Mapping::Easy, Unsolicited::Drop);
    let behind_easy = lab.lan_host(&mut easy);
    let mut mapping = lab.mapping_router(Mapping::Hard, MapProtocol::All);
    let behind_mapping = lab.lan_host(&mut mapping);
    let doctor = |host: &Host, name: &str| {
        let home = lab.register(host, name);
        let out = lab.client(host, &home, &["doctor"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        eprintln!("doctor on {name}'s host:\n{text}");
        let field = |label: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(label))
                .unwrap_or_else(|| panic!("no {label} in:\n{text}"))
                .trim()
                .to_owned()
        };
        assert!(field("relay").starts_with("on"), "{text}");
        assert!(field("punching").starts_with("on"), "{text}");
        (
            field("NAT"),
            field("port mapping"),
            field("reachable"),
            text,
        )
    };
    let (nat, _, reachable, text) = doctor(&public, "pat");
    assert!(nat.starts_with("none"), "{text}");
    assert!(reachable.starts_with("yes"), "{text}");
    let (nat, mapped, reachable, text) = doctor(&behind_easy, "erin");
    assert!(nat.starts_with("easy"), "{text}");
    assert!(mapped.starts_with("none"), "{text}");
    assert!(reachable.starts_with("no"), "{text}");
    let (nat, mapped, reachable, text) = doctor(&behind_mapping, "hal");
    assert!(nat.starts_with("hard"), "{text}");
    assert!(mapped.starts_with(&mapping.router.ip), "{text}");
    assert!(reachable.starts_with("yes"), "{text}");
    // doctor removed the mapping it made to check.
    assert!(!lab::nft_chain(&mapping.router, "prerouting_miniupnpd").contains("dnat"));
}

#[test]
fn two_hard_routers_with_global_ipv6_connect_directly_over_ipv6() {
    // Relayed over IPv4 (both NATs are hard), but bob publishes his global IPv6 address,
    // which no NAT stands in front of.
    let mut lab = Lab::new();
    lab.directory(&[]);
    let mut home_a = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    let mut home_b = lab.home_router(Mapping::Hard, Unsolicited::Drop);
    lab.ipv6(&mut [&mut home_a, &mut home_b]);
    let a = lab.lan_host(&mut home_a);
    let b = lab.lan_host(&mut home_b);
    let options = Options {
        bob_published: Some("[2001:db8:2::"),
        ..Options::default()
    };
    assert_path(&deliver_with(&mut lab, &a, &b, options), "direct");
}
