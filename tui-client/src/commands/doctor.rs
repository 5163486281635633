//! `p2p-chat doctor`: what the directory and the routers between us allow, each finding with
//! what it means for reaching peers.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::Context;
use p2p_chat_protocol::api::signal::{Reachability, ServerSignal};

use super::peer::load;
use crate::cli::GlobalOpts;
use crate::net::port;
use crate::portmap;
use crate::presence::Account;

/// What the NAT between us and the directory does with our port, judged from two signaling
/// connections that left from the same local port one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatKind {
    /// The directory saw our own address: no NAT on the way.
    None,
    /// The same public port both times: an endpoint-independent mapping ("easy" NAT, RFC 4787
    /// §4.1), which hole punching can cross.
    Easy {
        /// The public address and port the directory saw.
        public: SocketAddr,
    },
    /// Another public port each time ("hard" NAT), which hole punching cannot cross.
    Hard {
        /// The public addresses and ports the directory saw.
        seen: [SocketAddr; 2],
    },
    /// The directory saw no port (a reverse proxy in front of it that reports only addresses),
    /// or no connection opened.
    Unknown(String),
}

/// Judges the NAT from the two addresses the directory saw (`first`, `second`) of connections
/// from our local address `local` (our LAN IP and port).
pub fn judge_nat(local: SocketAddr, first: Option<&str>, second: Option<&str>) -> NatKind {
    let (Some(first), Some(second)) = (first, second) else {
        return NatKind::Unknown("no signaling connection opened (an older directory?)".into());
    };
    let parse = |seen: &str| seen.parse::<SocketAddr>().ok();
    let (Some(first), Some(second)) = (parse(first), parse(second)) else {
        return NatKind::Unknown(
            "the directory does not see the port of a connection (a reverse proxy in front of it that reports only addresses)".into(),
        );
    };
    let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    let (first, second) = (canonical(first), canonical(second));
    if first.ip() == local.ip().to_canonical() {
        NatKind::None
    } else if first == second {
        NatKind::Easy { public: first }
    } else {
        NatKind::Hard {
            seen: [first, second],
        }
    }
}

/// `p2p-chat doctor`: prints, one line each with its meaning, the address the directory sees,
/// the kind of NAT, the port mapping on the router, whether the directory can dial our
/// listening port, and which ways of meeting peers the directory offers.
///
/// # Errors
/// When there is no account, or the directory cannot be reached.
pub async fn doctor(global: &GlobalOpts) -> anyhow::Result<()> {
    let ctx = load(global).await?;
    let account = ctx.account.context(
        "not registered: run `p2p-chat register NAME --server URL` first (doctor checks the way to a directory)",
    )?;
    let lan_ip = account
        .client
        .local_ip()
        .await
        .context("cannot reach the directory")?;
    // Our listening port (IPv6 too, as the chat window holds it), held for the checks unless
    // a running client of ours listens there.
    let held = port::listen(global.listen).ok();
    let held_v6 = held
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .and_then(port::listen_v6_beside);
    let bound = held
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .unwrap_or(global.listen);
    let port = bound.port();
    let local = SocketAddr::new(lan_ip, port);
    let mut report = String::new();
    let mut relay_only_said = false;
    let mut line = |label: &str, text: String| {
        let _ = writeln!(report, "{label:<13}{text}");
    };
    line("directory", account.client.base_url().to_owned());
    if held.is_none() {
        // The running client's own signaling connection holds the way out of this port: a
        // check from another port would judge another mapping.
        line(
            "NAT",
            format!(
                "not checked (nor the address seen, nor port mapping): port {port} is held by a running chat window or listen; quit it, or give doctor another --listen port"
            ),
        );
    } else {
        let first = observed(&account, bound).await;
        let second = observed(&account, bound).await;
        match &first {
            Some(seen) => line(
                "seen at",
                format!(
                    "{seen} — the address and port the directory sees this computer connect from"
                ),
            ),
            None => line(
                "seen at",
                "unknown — no signaling connection opened (an older directory?)".into(),
            ),
        }
        let nat = judge_nat(local, first.as_deref(), second.as_deref());
        if lan_ip.is_loopback() {
            line(
                "NAT",
                "none — the directory runs on this machine (loopback), so nothing stands between"
                    .into(),
            );
        } else {
            line("NAT", nat_meaning(&nat));
        }
    }

    let mapping = if held.is_none() {
        None
    } else if global.relay_only || global.no_port_mapping {
        line(
            "port mapping",
            "off (--relay-only or --no-port-mapping)".into(),
        );
        None
    } else if lan_ip.is_ipv6() {
        line(
            "port mapping",
            "not needed: the directory is reached over IPv6, where no NAT stands in the way".into(),
        );
        None
    } else {
        match portmap::map(local).await {
            Ok(mapping) => {
                line(
                    "port mapping",
                    format!(
                        "{} → {} ({}, router at {}) — peers can dial you there",
                        mapping.external,
                        mapping.internal,
                        mapping.protocol(),
                        mapping.router
                    ),
                );
                Some(mapping)
            }
            Err(e) => {
                line("port mapping", format!("none: {e}"));
                None
            }
        }
    };

    // Peers dial the mapped port when there is one, else our listening port.
    let dial_port = mapping.as_ref().map_or(port, |m| m.external.port());
    let accepting: Vec<_> = held
        .into_iter()
        .chain(held_v6)
        .map(|listener| tokio::spawn(async move { while listener.accept().await.is_ok() {} }))
        .collect();
    match account
        .client
        .check_reachability(&account.token, dial_port)
        .await
    {
        Ok(answer) => {
            let mut reachable = reachable_meaning(&answer);
            if global.relay_only && answer.reachable {
                reachable.push_str(" (but --relay-only withholds this address from them)");
            }
            line("reachable", reachable);
            if global.relay_only && !answer.relay {
                relay_only_said = true;
                line(
                    "relay only",
                    "cannot work here — this directory's relay is off, so with --relay-only peers reach you only through the mailbox".into(),
                );
            }
            line(
                "relay",
                if answer.relay {
                    "on — when nothing else works, the directory relays your end-to-end encrypted sessions".into()
                } else {
                    "off — peers that cannot reach each other directly exchange messages through the mailbox".into()
                },
            );
            line(
                "punching",
                if answer.hole_punching {
                    "on — the directory times hole punches between clients behind routers".into()
                } else {
                    "off — this directory arranges no hole punches".into()
                },
            );
        }
        Err(e) => line("reachable", format!("not checked: {e}")),
    }
    for task in accepting {
        task.abort();
    }
    if let Some(mapping) = mapping {
        mapping.remove().await;
    }
    if global.relay_only && !relay_only_said {
        line(
            "relay only",
            "on — your addresses are withheld and every session goes through the relay".into(),
        );
    }
    print!("{report}");
    Ok(())
}

/// The address the directory sees a brief signaling connection from `bound` (our listening
/// address) come from; `None` when none opened.
async fn observed(account: &Account, bound: SocketAddr) -> Option<String> {
    let mut signaling = account
        .client
        .open_signaling(&account.token, Some(bound), true)
        .await
        .ok()?;
    let seen = match signaling.next().await? {
        ServerSignal::Welcome { observed } => observed,
        _ => None,
    };
    signaling.close().await;
    seen
}

fn nat_meaning(nat: &NatKind) -> String {
    match nat {
        NatKind::None => "none — this computer has a public address: peers can dial it unless a firewall drops them".into(),
        NatKind::Easy { public } => format!("easy — the router kept one public port ({}) for two connections: hole punching can connect you to peers behind routers", public.port()),
        NatKind::Hard { seen: [a, b] } => format!("hard — the router picked a new public port for each connection ({} and {}): hole punching cannot cross it; a port mapping or the relay connects you", a.port(), b.port()),
        NatKind::Unknown(why) => format!("unknown — {why}"),
    }
}

fn reachable_meaning(answer: &Reachability) -> String {
    if answer.reachable {
        format!(
            "yes — the directory opened a connection to {}: peers can dial you directly",
            answer.addr
        )
    } else {
        let why = answer.detail.as_deref().unwrap_or("no answer");
        format!(
            "no — the directory could not connect to {} ({why}): peers reach you by hole punching or the relay",
            answer.addr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> SocketAddr {
        "192.0.2.11:55555".parse().unwrap()
    }

    #[test]
    fn the_same_public_port_twice_is_an_easy_nat() {
        let seen = Some("203.0.113.1:55555");
        assert_eq!(
            judge_nat(local(), seen, seen),
            NatKind::Easy {
                public: "203.0.113.1:55555".parse().unwrap()
            }
        );
    }

    #[test]
    fn another_public_port_each_time_is_a_hard_nat() {
        let nat = judge_nat(
            local(),
            Some("203.0.113.1:40001"),
            Some("203.0.113.1:51234"),
        );
        assert!(matches!(nat, NatKind::Hard { .. }), "{nat:?}");
    }

    #[test]
    fn our_own_address_means_no_nat_and_no_port_means_unknown() {
        let own = Some("192.0.2.11:55555");
        assert_eq!(judge_nat(local(), own, own), NatKind::None);
        assert!(matches!(
            judge_nat(local(), Some("203.0.113.1"), Some("203.0.113.1")),
            NatKind::Unknown(_)
        ));
        let NatKind::Unknown(why) = judge_nat(local(), None, None) else {
            panic!("no connection, no verdict")
        };
        assert!(why.contains("no signaling connection"), "{why}");
        let mapped_v6 = Some("[::ffff:192.0.2.11]:55555");
        assert_eq!(judge_nat(local(), mapped_v6, mapped_v6), NatKind::None);
    }
}
