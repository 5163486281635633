//! A NAT lab in network namespaces, built by the test as root: an "internet" (a bridge on
//! 203.0.113.0/24) with the directory on it, public hosts, and home routers with their own
//! LANs (192.0.2.0/24, 198.51.100.0/24) that masquerade and either answer or drop unsolicited
//! connections, hosts behind a stateful firewall, and a carrier NAT (100.64.0.0/10) with home
//! routers behind it. Only documentation addresses are used. Everything is removed when the lab is
//! dropped.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};

mod programs;
mod sites;
mod stun;

pub use programs::client_bin;

/// The directory's address on the internet of the lab.
pub const DIRECTORY_IP: &str = "203.0.113.10";
/// The directory's port.
pub const DIRECTORY_PORT: u16 = 27182;
/// The port every client listens on (the default peer port).
pub const PEER_PORT: u16 = 55555;

/// How a home router treats connections from the internet that nobody asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsolicited {
    /// Answered with a reset (a closed port on the router).
    Reset,
    /// Dropped without an answer (the dialler waits for its timeout).
    Drop,
}

/// How a home router picks the public port of a connection from its LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// The local port when it is free, whatever the destination (`MASQUERADE`: an "easy" NAT,
    /// endpoint-independent mapping in RFC 4787's terms).
    Easy,
    /// A random port for every connection (`MASQUERADE --random-fully`: a "hard" NAT,
    /// endpoint-dependent mapping).
    Hard,
}

/// Which port mapping protocols a router that runs miniupnpd answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapProtocol {
    /// UPnP-IGD only.
    UpnpIgd,
    /// PCP and NAT-PMP only (miniupnpd's `enable_natpmp` turns on both).
    PcpNatPmp,
    /// All three.
    All,
}

/// A namespace of the lab.
#[derive(Clone, Debug)]
pub struct Host {
    /// The namespace's name.
    pub ns: String,
    /// Its address.
    pub ip: String,
}

/// The lab; its namespaces and processes go when it is dropped.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    processes: Vec<Child>,
    directory: Option<Child>,
    directory_args: Vec<String>,
    stun: Vec<stun::Responder>,
    sites: u8,
    homes: u8,
    publics: u8,
    /// Where profiles and the directory's database live.
    pub dir: tempfile::TempDir,
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run a lab command");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn in_ns(ns: &str, args: &[&str]) {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(args);
    run(&full);
}

/// Makes iptables in `ns` drop what arrives on `wan` in `chain` (INPUT or FORWARD) that is not
/// part of a connection from inside: a stateful firewall.
fn drop_unsolicited(ns: &str, chain: &str) {
    in_ns(
        ns,
        &[
            "iptables",
            "-A",
            chain,
            "-i",
            "wan",
            "-m",
            "conntrack",
            "--ctstate",
            "NEW,INVALID",
            "-j",
            "DROP",
        ],
    );
}

impl Lab {
    /// A lab with only its internet: a bridge in a namespace of its own.
    pub fn new() -> Lab {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "p2pl{}x{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut lab = Lab {
            namespaces: Vec::new(),
            processes: Vec::new(),
            directory: None,
            directory_args: Vec::new(),
            stun: Vec::new(),
            sites: 0,
            homes: 0,
            publics: 0,
            dir: tempfile::tempdir().expect("temp dir"),
            prefix,
        };
        let inet = lab.namespace("inet");
        // Without multicast snooping: IPv6 neighbour discovery is multicast, and a snooping
        // bridge drops it until it has seen listeners report.
        in_ns(
            &inet,
            &[
                "ip",
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        in_ns(&inet, &["ip", "link", "set", "br0", "up"]);
        lab
    }

    fn namespace(&mut self, name: &str) -> String {
        let ns = format!("{}-{name}", self.prefix);
        run(&["ip", "netns", "add", &ns]);
        in_ns(&ns, &["ip", "link", "set", "lo", "up"]);
        // IPv6 addresses usable at once: no duplicate address detection (a second or two of
        // "tentative" link-local addresses, during which neighbour discovery fails).
        for scope in ["all", "default"] {
            let key = format!("net.ipv6.conf.{scope}.accept_dad=0");
            in_ns(&ns, &["sysctl", "-qw", &key]);
        }
        self.namespaces.push(ns.clone());
        ns
    }

    fn inet(&self) -> String {
        format!("{}-inet", self.prefix)
    }

    /// Plugs namespace `ns` into the internet as `ip`/24 on its interface `wan`.
    fn plug(&self, ns: &str, ip: &str) {
        let inet = self.inet();
        let port = format!("p{}", self.namespaces.len());
        run(&[
            "ip", "link", "add", "wan", "netns", ns, "type", "veth", "peer", "name", &port,
            "netns", &inet,
        ]);
        in_ns(&inet, &["ip", "link", "set", &port, "master", "br0"]);
        in_ns(&inet, &["ip", "link", "set", &port, "up"]);
        in_ns(
            ns,
            &["ip", "addr", "add", &format!("{ip}/24"), "dev", "wan"],
        );
        in_ns(ns, &["ip", "link", "set", "wan", "up"]);
    }

    /// A host with a public address on the internet.
    pub fn public_host(&mut self) -> Host {
        self.publics += 1;
        let ip = format!("203.0.113.{}", 20 + self.publics);
        let ns = self.namespace(&format!("pub{}", self.publics));
        self.plug(&ns, &ip);
        Host { ns, ip }
    }

    /// A host with a public address behind a stateful firewall without NAT: it may connect
    /// anywhere, and only answers to its own connections come in (everything unsolicited is
    /// dropped, as by a default-deny host or network firewall).
    pub fn firewalled_host(&mut self) -> Host {
        let host = self.public_host();
        drop_unsolicited(&host.ns, "INPUT");
        host
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in self.processes.iter_mut().chain(&mut self.directory) {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stun.clear();
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The rules of chain `chain` in the nftables table of `router` (one that runs miniupnpd), as
/// `nft list chain` prints them.
pub fn nft_chain(router: &Host, chain: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", &router.ns, "nft", "list", "chain", "inet"])
        .arg(sites::TABLE)
        .arg(chain)
        .output()
        .expect("run nft");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes `router` (one with iptables rules) forward TCP `port` on its public address to
/// `host` on its LAN, as a port forwarding rule or a port mapping would.
pub fn forward_port(router: &Host, host: &Host, port: u16) {
    let port = port.to_string();
    let to = format!("{}:{port}", host.ip);
    in_ns(
        &router.ns,
        &[
            "iptables",
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-i",
            "wan",
            "-p",
            "tcp",
            "--dport",
            &port,
            "-j",
            "DNAT",
            "--to-destination",
            &to,
        ],
    );
    // Before the rule that drops what nobody asked for.
    in_ns(
        &router.ns,
        &[
            "iptables", "-I", "FORWARD", "1", "-i", "wan", "-p", "tcp", "-d", &host.ip, "--dport",
            &port, "-j", "ACCEPT",
        ],
    );
}
