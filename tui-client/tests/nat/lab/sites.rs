//! The lab's routers and LANs: home routers (easy or hard NAT, resetting or dropping what
//! nobody asked for), home routers that map ports on request (miniupnpd), a carrier NAT with
//! home routers behind it, and hosts on their LANs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::{Host, Lab, MapProtocol, Mapping, Unsolicited, drop_unsolicited, in_ns, run, stun};

/// The nftables table of a router that runs miniupnpd.
pub const TABLE: &str = "p2plab";

/// A home router and its LAN.
pub struct Site {
    /// The router, with its public address.
    pub router: Host,
    lan_prefix: String,
    hosts: u8,
    /// The site's number in 2001:db8:N::/64 once it has IPv6 ([`Lab::ipv6`]).
    ipv6: Option<u8>,
}

impl Lab {
    /// A home router on the internet with its own LAN, masquerading as `mapping` says,
    /// treating unsolicited connections as `unsolicited` says; returns the router and a
    /// handle to add hosts to its LAN (see [`Lab::lan_host`]).
    pub fn home_router(&mut self, mapping: Mapping, unsolicited: Unsolicited) -> Site {
        let lan_prefix = self.next_home_lan();
        let site = self.router(None, lan_prefix);
        iptables_rules(&site.router.ns, mapping, unsolicited);
        site
    }

    /// A lab with its directory (started with `directory` options) and one host behind each
    /// of two home routers of the kinds given: the lab and the two hosts.
    pub fn two_homes(
        directory: &[&str],
        (mapping_a, unsolicited_a): (Mapping, Unsolicited),
        (mapping_b, unsolicited_b): (Mapping, Unsolicited),
    ) -> (Lab, Host, Host) {
        let mut lab = Lab::new();
        lab.directory(directory);
        let mut home_a = lab.home_router(mapping_a, unsolicited_a);
        let mut home_b = lab.home_router(mapping_b, unsolicited_b);
        let a = lab.lan_host(&mut home_a);
        let b = lab.lan_host(&mut home_b);
        (lab, a, b)
    }

    /// A carrier's NAT on the internet (RFC 6598's shared address space 100.64.0.0/10 on its
    /// side, as carrier-grade NAT uses), keeping one public port per port (RFC 6888 asks
    /// carrier NATs for endpoint-independent mapping) and dropping what nobody asked for.
    /// Home routers go behind it with [`Lab::home_router_behind`].
    pub fn carrier(&mut self) -> Site {
        let site = self.router(None, "100.64.0");
        iptables_rules(&site.router.ns, Mapping::Easy, Unsolicited::Drop);
        site
    }

    /// A home router (as [`Lab::home_router`]) whose "internet" side is `carrier`'s network.
    pub fn home_router_behind(
        &mut self,
        carrier: &mut Site,
        mapping: Mapping,
        unsolicited: Unsolicited,
    ) -> Site {
        let lan_prefix = self.next_home_lan();
        let site = self.router(Some(carrier), lan_prefix);
        iptables_rules(&site.router.ns, mapping, unsolicited);
        site
    }

    /// A home router (dropping what nobody asked for) that runs miniupnpd from Debian's
    /// packages: hosts on its LAN may ask it for port mappings with the `protocols` given.
    /// Its NAT and filter are an nftables table whose chains miniupnpd fills.
    pub fn mapping_router(&mut self, mapping: Mapping, protocols: MapProtocol) -> Site {
        let site = self.mapping_router_off(mapping);
        self.start_port_mapping(&site, protocols);
        site
    }

    /// A router as [`Lab::mapping_router`] makes, with port mapping still off (its user has
    /// not turned it on yet): [`Lab::start_port_mapping`] starts miniupnpd.
    pub fn mapping_router_off(&mut self, mapping: Mapping) -> Site {
        let lan_prefix = self.next_home_lan();
        let site = self.router(None, lan_prefix);
        let ns = &site.router.ns;
        let random = if mapping == Mapping::Hard {
            " fully-random"
        } else {
            ""
        };
        let ruleset = format!(
            "table inet {TABLE} {{
  chain forward {{ type filter hook forward priority 0; policy drop;
    ct state established,related accept; iifname \"lan\" accept; jump miniupnpd; }}
  chain miniupnpd {{ }}
  chain prerouting {{ type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd; }}
  chain postrouting {{ type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd;
    ip saddr {lan_prefix}.0/24 oifname \"wan\" masquerade{random}; }}
  chain prerouting_miniupnpd {{ }}
  chain postrouting_miniupnpd {{ }}
}}
"
        );
        let rules = self.dir.path().join(format!("{ns}.nft"));
        std::fs::write(&rules, ruleset).expect("write the router's rules");
        in_ns(ns, &["nft", "-f", rules.to_str().unwrap()]);
        site
    }

    /// Starts miniupnpd on `site` (made by [`Lab::mapping_router_off`]), answering
    /// `protocols`, and waits until it listens.
    pub fn start_port_mapping(&mut self, site: &Site, protocols: MapProtocol) {
        let (ns, lan_prefix) = (&site.router.ns, &site.lan_prefix);
        // miniupnpd maps ports only for a router with a public address, which it learns
        // by STUN (it refuses a documentation address given in its configuration): a small
        // STUN responder on the router's own address tells it.
        let stun = stun::Responder::start(ns, &site.router.ip);
        let conf = self.dir.path().join(format!("{ns}-miniupnpd.conf"));
        let yes_no = |on: bool| if on { "yes" } else { "no" };
        let upnp = yes_no(protocols != MapProtocol::PcpNatPmp);
        let natpmp = yes_no(protocols != MapProtocol::UpnpIgd);
        let config = format!(
            "ext_ifname=wan
listening_ip=lan
http_port=0
enable_upnp={upnp}
enable_natpmp={natpmp}
secure_mode=yes
system_uptime=yes
ext_perform_stun=yes
ext_stun_host={ip}
ext_stun_port={port}
upnp_table_name={TABLE}
upnp_nat_table_name={TABLE}
allow 1024-65535 {lan_prefix}.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
",
            ip = site.router.ip,
            port = stun.port,
        );
        std::fs::write(&conf, config).expect("write miniupnpd's configuration");
        let pid = self.dir.path().join(format!("{ns}-miniupnpd.pid"));
        let mut daemon = Command::new("ip")
            .args(["netns", "exec", ns, "miniupnpd", "-d", "-f"])
            .arg(&conf)
            .arg("-P")
            .arg(&pid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start miniupnpd (Debian's miniupnpd-nftables)");
        // It logs to stderr as it runs (-d): read on, and go on once it listens.
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let log = BufReader::new(daemon.stderr.take().expect("stderr"));
        // The last line of its start: NAT-PMP's socket opens after UPnP's.
        let ready_line = if protocols == MapProtocol::UpnpIgd {
            "HTTP listening on port"
        } else {
            "Listening for NAT-PMP"
        };
        std::thread::spawn(move || {
            for line in log.lines().map_while(Result::ok) {
                if line.contains(ready_line) {
                    let _ = ready_tx.send(Ok(()));
                }
                if line.contains("EXITING") || line.contains("Port forwarding is now disabled") {
                    let _ = ready_tx.send(Err(line));
                }
            }
        });
        let started = ready.recv_timeout(std::time::Duration::from_secs(20));
        self.keep(daemon);
        self.stun.push(stun);
        match started {
            Ok(Ok(())) => {}
            Ok(Err(line)) => panic!("miniupnpd: {line}"),
            Err(_) => panic!("miniupnpd did not start within 20 s"),
        }
    }

    fn next_home_lan(&mut self) -> &'static str {
        self.homes += 1;
        match self.homes {
            1 => "192.0.2",
            2 => "198.51.100",
            _ => panic!("the lab has two home LANs"),
        }
    }

    /// A router with the LAN `lan_prefix`.0/24, on the internet or behind `upstream`, without
    /// NAT or filter rules yet.
    fn router(&mut self, upstream: Option<&mut Site>, lan_prefix: &str) -> Site {
        self.sites += 1;
        let n = self.sites;
        let router = self.namespace(&format!("r{n}"));
        let wan_ip = match upstream {
            None => {
                let wan_ip = format!("203.0.113.{n}");
                self.plug(&router, &wan_ip);
                wan_ip
            }
            Some(upstream) => self.attach(upstream, &router, "wan").ip,
        };
        in_ns(&router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        in_ns(
            &router,
            &[
                "ip",
                "link",
                "add",
                "lan",
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ],
        );
        in_ns(
            &router,
            &[
                "ip",
                "addr",
                "add",
                &format!("{lan_prefix}.1/24"),
                "dev",
                "lan",
            ],
        );
        in_ns(&router, &["ip", "link", "set", "lan", "up"]);
        Site {
            router: Host {
                ns: router,
                ip: wan_ip,
            },
            lan_prefix: lan_prefix.to_owned(),
            hosts: 0,
            ipv6: None,
        }
    }

    /// Gives `sites` (home routers on the internet, before their hosts are added) global IPv6
    /// from the documentation prefix 2001:db8::/32 (RFC 3849): site N's router is 2001:db8::N on
    /// the internet and routes 2001:db8:N::/64 to its LAN without NAT or filter (iptables
    /// rules are IPv4 only), and each router knows the way to the others' LANs.
    pub fn ipv6(&mut self, sites: &mut [&mut Site]) {
        for site in sites.iter_mut() {
            let n: u8 = site.router.ip.rsplit('.').next().unwrap().parse().unwrap();
            let ns = &site.router.ns;
            in_ns(ns, &["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
            let wan = format!("2001:db8::{n}/64");
            in_ns(
                ns,
                &["ip", "-6", "addr", "add", &wan, "dev", "wan", "nodad"],
            );
            let lan = format!("2001:db8:{n}::1/64");
            in_ns(
                ns,
                &["ip", "-6", "addr", "add", &lan, "dev", "lan", "nodad"],
            );
            site.ipv6 = Some(n);
        }
        let numbers: Vec<u8> = sites.iter().filter_map(|s| s.ipv6).collect();
        for site in sites.iter() {
            for &other in numbers.iter().filter(|&&m| Some(m) != site.ipv6) {
                let (to, via) = (
                    format!("2001:db8:{other}::/64"),
                    format!("2001:db8::{other}"),
                );
                in_ns(
                    &site.router.ns,
                    &["ip", "-6", "route", "add", &to, "via", &via],
                );
            }
        }
    }

    /// A host on `site`'s LAN, routed through its router.
    pub fn lan_host(&mut self, site: &mut Site) -> Host {
        let ns = self.namespace(&format!(
            "{}h{}",
            &site.router.ns[site.router.ns.len() - 2..],
            site.hosts + 1
        ));
        self.attach(site, &ns, "eth0")
    }

    /// Plugs namespace `ns` into `site`'s LAN as its next host, on its interface `dev`, with
    /// the router as its default route.
    fn attach(&mut self, site: &mut Site, ns: &str, dev: &str) -> Host {
        site.hosts += 1;
        let ip = format!("{}.{}", site.lan_prefix, 10 + site.hosts);
        let port = format!("h{}", site.hosts);
        run(&[
            "ip",
            "link",
            "add",
            dev,
            "netns",
            ns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &site.router.ns,
        ]);
        in_ns(
            &site.router.ns,
            &["ip", "link", "set", &port, "master", "lan"],
        );
        in_ns(&site.router.ns, &["ip", "link", "set", &port, "up"]);
        in_ns(ns, &["ip", "addr", "add", &format!("{ip}/24"), "dev", dev]);
        in_ns(ns, &["ip", "link", "set", dev, "up"]);
        in_ns(
            ns,
            &[
                "ip",
                "route",
                "add",
                "default",
                "via",
                &format!("{}.1", site.lan_prefix),
            ],
        );
        if let Some(n) = site.ipv6 {
            let addr = format!("2001:db8:{n}::{}/64", 10 + site.hosts);
            in_ns(ns, &["ip", "-6", "addr", "add", &addr, "dev", dev, "nodad"]);
            let via = format!("2001:db8:{n}::1");
            in_ns(ns, &["ip", "-6", "route", "add", "default", "via", &via]);
        }
        Host {
            ns: ns.to_owned(),
            ip,
        }
    }
}

/// A router's NAT (`mapping`) and filter (`unsolicited`) as iptables rules.
fn iptables_rules(router: &str, mapping: Mapping, unsolicited: Unsolicited) {
    let mut masquerade = vec![
        "iptables",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-o",
        "wan",
        "-j",
        "MASQUERADE",
    ];
    if mapping == Mapping::Hard {
        masquerade.push("--random-fully");
    }
    in_ns(router, &masquerade);
    if unsolicited == Unsolicited::Drop {
        for chain in ["INPUT", "FORWARD"] {
            drop_unsolicited(router, chain);
        }
    }
}
