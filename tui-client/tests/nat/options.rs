//! Cells for what a user or a router can choose beyond the basic matrix: port mapping (UPnP-IGD
//! and PCP, and removing it on quit), `--relay-only` on either side, `doctor` on three kinds of
//! host, and global IPv6 beside hard NATs.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::lab::{self, Host, Lab, MapProtocol, Mapping, PEER_PORT, Unsolicited, client_bin};
use crate::{Options, assert_path, deliver_with};

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
