//! The lab's routers and LANs: home routers (easy or hard NAT, resetting or dropping what
//! nobody asked for), a carrier NAT with home routers behind it, and hosts on their LANs.

use super::{Host, Lab, Mapping, Unsolicited, in_ns, run};

/// A home router and its LAN.
pub struct Site {
    /// The router, with its public address.
    pub router: Host,
    lan_prefix: String,
    hosts: u8,
}

impl Lab {
    /// A home router on the internet with its own LAN, masquerading as `mapping` says,
    /// treating unsolicited connections as `unsolicited` says; returns the router and a
    /// handle to add hosts to its LAN (see [`Lab::lan_host`]).
    pub fn home_router(&mut self, mapping: Mapping, unsolicited: Unsolicited) -> Site {
        let lan_prefix = self.next_home_lan();
        self.router(None, lan_prefix, mapping, unsolicited)
    }

    /// A carrier's NAT on the internet (RFC 6598's shared address space 100.64.0.0/10 on its
    /// side, as carrier-grade NAT uses), keeping one public port per port (RFC 6888 asks
    /// carrier NATs for endpoint-independent mapping) and dropping what nobody asked for.
    /// Home routers go behind it with [`Lab::home_router_behind`].
    pub fn carrier(&mut self) -> Site {
        self.router(None, "100.64.0", Mapping::Easy, Unsolicited::Drop)
    }

    /// A home router (as [`Lab::home_router`]) whose "internet" side is `carrier`'s network.
    pub fn home_router_behind(
        &mut self,
        carrier: &mut Site,
        mapping: Mapping,
        unsolicited: Unsolicited,
    ) -> Site {
        let lan_prefix = self.next_home_lan();
        self.router(Some(carrier), lan_prefix, mapping, unsolicited)
    }

    fn next_home_lan(&mut self) -> &'static str {
        self.homes += 1;
        match self.homes {
            1 => "192.0.2",
            2 => "198.51.100",
            _ => panic!("the lab has two home LANs"),
        }
    }

    /// A router with the LAN `lan_prefix`.0/24, on the internet or behind `upstream`.
    fn router(
        &mut self,
        upstream: Option<&mut Site>,
        lan_prefix: &str,
        mapping: Mapping,
        unsolicited: Unsolicited,
    ) -> Site {
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
        in_ns(&router, &masquerade);
        if unsolicited == Unsolicited::Drop {
            for chain in ["INPUT", "FORWARD"] {
                in_ns(
                    &router,
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
        }
        in_ns(&router, &["ip", "link", "add", "lan", "type", "bridge"]);
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
        Host {
            ns: ns.to_owned(),
            ip,
        }
    }
}
