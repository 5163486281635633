//! Port mapping: asks the router in front of us to forward a public TCP port to our listener.
//! A mapped port makes us reachable by a plain dial even behind a router that hole punching
//! cannot cross (one that picks a new public port for every destination); we publish it as a
//! candidate address ([`crate::presence::Account::announce`]).
//!
//! Three protocols, through well-kept crates: PCP (RFC 6887) with NAT-PMP (RFC 6886) as its
//! fallback, asked of the default gateway through crab_nat, then UPnP-IGD (the UPnP Forum's
//! Internet Gateway Device protocol, `WANIPConnection`) through igd-next, which finds the
//! router by an SSDP search. PCP and NAT-PMP go first: a router without them says so at once
//! (an ICMP port unreachable), while a UPnP search waits for [`SEARCH_TIMEOUT`].
//!
//! [`map`] makes one mapping (`doctor` uses it), [`PortMapper::start`] keeps one for as long as
//! the client runs: renewed at half its lease, sought again when the router lost it, removed
//! when the client quits ([`PortMapper::release`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use igd_next::aio::Gateway;
use igd_next::aio::tokio::{Tokio, search_gateway};
use igd_next::{PortMappingProtocol, SearchOptions};
use tokio::sync::watch;

use crate::directory::DirectoryClient;

/// How long the search for a router that speaks UPnP-IGD waits for an answer: 2 s (a router
/// answers an SSDP search within milliseconds on its LAN; the search holds up nothing else).
pub const SEARCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Timing of PCP and NAT-PMP requests: 250 ms for the first answer (RFC 6886 §3.1 and RFC
/// 6887 §8.1.1 start there), doubling, 2 retries: under 2 s in all, like the UPnP search.
const PCP_TIMEOUT: crab_nat::TimeoutConfig = crab_nat::TimeoutConfig {
    initial_timeout: Duration::from_millis(250),
    max_retries: 2,
    max_retry_timeout: Some(Duration::from_secs(1)),
};

/// Lease asked for a mapping: 1 h, renewed at half, so that the mapping of a client that
/// crashed expires on its own.
pub const LEASE: Duration = Duration::from_secs(3600);

/// First wait before seeking a mapping again after the search or the router said no: 30 s
/// (port mapping turned on meanwhile, a router switched on); each later one waits twice as
/// long, up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(30);

/// Longest wait between two searches for a router that maps ports: 5 min (each costs a few
/// small datagrams on the LAN).
pub const RETRY_MAX: Duration = Duration::from_secs(300);

/// Wait before search `attempt` (1-based) after failures: [`RETRY_FIRST`], doubling, at most
/// [`RETRY_MAX`].
pub fn retry_delay(attempt: u32) -> Duration {
    crate::clock::backoff(RETRY_FIRST, RETRY_MAX, attempt)
}

/// Longest wait for the router to remove our mapping when we quit: 1 s (the lease ends it
/// anyway).
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the router shows as the mapping's description (UPnP-IGD).
pub const DESCRIPTION: &str = "p2p-chat";

/// A TCP port mapping on our router.
#[derive(Clone, Debug)]
pub struct PortMapping {
    /// The router's public address and port that it forwards.
    pub external: SocketAddr,
    /// Our listener's address on the LAN, where the router forwards to.
    pub internal: SocketAddr,
    /// Where the router answers mapping requests.
    pub router: SocketAddr,
    via: Via,
}

/// The protocol a mapping was made with, and what it needs to renew or remove it.
#[derive(Clone, Debug)]
enum Via {
    Upnp(Gateway<Tokio>),
    Pcp(crab_nat::PortMapping),
}

/// The public side of a mapping, as [`PortMapper::mapped`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The router's public address and port that it forwards to us.
    pub external: SocketAddr,
    /// The protocol that made it: "PCP", "NAT-PMP" or "UPnP-IGD".
    pub protocol: &'static str,
}

/// Why no port mapping was made.
#[derive(Debug, thiserror::Error)]
pub enum PortMapError {
    /// Nothing on the LAN answered.
    #[error("no router on this network answered PCP, NAT-PMP or a UPnP-IGD search within {} s (none there, or port mapping is off on it)", SEARCH_TIMEOUT.as_secs())]
    NoRouter,
    /// The router answered but made no mapping.
    #[error("the router at {router} made no port mapping: {detail}")]
    Refused {
        /// Where the router answers mapping requests.
        router: SocketAddr,
        /// What it said.
        detail: String,
    },
}

impl PortMapping {
    /// The protocol that made it: "PCP", "NAT-PMP" or "UPnP-IGD".
    pub fn protocol(&self) -> &'static str {
        match &self.via {
            Via::Upnp(_) => "UPnP-IGD",
            Via::Pcp(mapping) => match mapping.mapping_type() {
                crab_nat::PortMappingType::NatPmp => "NAT-PMP",
                crab_nat::PortMappingType::Pcp { .. } => "PCP",
            },
        }
    }

    /// The public side, as [`PortMapper::mapped`] reports it.
    pub fn mapped(&self) -> Mapped {
        Mapped {
            external: self.external,
            protocol: self.protocol(),
        }
    }
}

/// Asks the router to forward a public TCP port to `internal` (our LAN address and listening
/// port) for [`LEASE`]: the same port number when it is free, else any the router picks. PCP
/// (or NAT-PMP) first, at the default gateway, then UPnP-IGD.
///
/// # Errors
/// [`PortMapError::NoRouter`] when nothing answers; [`PortMapError::Refused`] when a router
/// answered but made no mapping (the last refusal when both protocols were refused).
pub async fn map(internal: SocketAddr) -> Result<PortMapping, PortMapError> {
    let pcp = match default_gateway() {
        Some(gateway) => map_pcp(gateway, internal).await,
        None => Err(PortMapError::NoRouter),
    };
    let pcp = match pcp {
        Ok(mapping) => return Ok(mapping),
        Err(e) => {
            tracing::debug!(error = %e, "no port mapping by PCP or NAT-PMP");
            e
        }
    };
    let upnp = map_upnp(internal).await;
    match (upnp, pcp) {
        (Ok(mapping), _) => Ok(mapping),
        (Err(PortMapError::NoRouter), refused @ PortMapError::Refused { .. }) => Err(refused),
        (Err(e), _) => Err(e),
    }
}

/// PCP, falling back to NAT-PMP, at `gateway`.
async fn map_pcp(gateway: Ipv4Addr, internal: SocketAddr) -> Result<PortMapping, PortMapError> {
    let router = SocketAddr::new(IpAddr::V4(gateway), crab_nat::GATEWAY_PORT);
    let refused = |detail: String| PortMapError::Refused { router, detail };
    let port = NonZeroU16::new(internal.port()).ok_or_else(|| refused("no port to map".into()))?;
    let options = crab_nat::PortMappingOptions {
        external_port: Some(port),
        lifetime_seconds: Some(lease_secs()),
        timeout_config: Some(PCP_TIMEOUT),
    };
    let mapping = crab_nat::PortMapping::new(
        gateway.into(),
        internal.ip(),
        crab_nat::InternetProtocol::Tcp,
        port,
        options,
    )
    .await
    .map_err(|e| {
        use crab_nat::{MappingFailure, natpmp, pcp};
        match e {
            // Nothing listens for either protocol there (a port unreachable), or no answer.
            MappingFailure::NatPmp(natpmp::Failure::Socket(_) | natpmp::Failure::Timeout)
            | MappingFailure::Pcp(pcp::Failure::Socket(_) | pcp::Failure::Timeout) => {
                PortMapError::NoRouter
            }
            other => refused(other.to_string()),
        }
    })?;
    let ip = match mapping.mapping_type() {
        crab_nat::PortMappingType::Pcp { external_ip, .. } => external_ip,
        crab_nat::PortMappingType::NatPmp => {
            crab_nat::natpmp::external_address(gateway.into(), Some(PCP_TIMEOUT))
                .await
                .map(IpAddr::V4)
                .map_err(|e| refused(format!("no public address: {e}")))?
        }
    };
    Ok(PortMapping {
        external: SocketAddr::new(ip, mapping.external_port().get()),
        internal,
        router,
        via: Via::Pcp(mapping),
    })
}

/// UPnP-IGD: finds the router by an SSDP search from our LAN address, then maps.
async fn map_upnp(internal: SocketAddr) -> Result<PortMapping, PortMapError> {
    let mut options = SearchOptions::default();
    options.timeout = Some(SEARCH_TIMEOUT);
    options.single_search_timeout = Some(SEARCH_TIMEOUT);
    // The search leaves from the LAN address, so the router that answers is ours.
    options.bind_addr = SocketAddr::new(internal.ip(), 0);
    let gateway = search_gateway(options)
        .await
        .map_err(|_| PortMapError::NoRouter)?;
    let router = gateway.addr;
    let refused = |detail: String| PortMapError::Refused { router, detail };
    let ip = gateway
        .get_external_ip()
        .await
        .map_err(|e| refused(format!("no public address: {e}")))?;
    let lease = lease_secs();
    let port = match gateway
        .add_port(
            PortMappingProtocol::TCP,
            internal.port(),
            internal,
            lease,
            DESCRIPTION,
        )
        .await
    {
        Ok(()) => internal.port(),
        Err(same_port) => {
            tracing::debug!(error = %same_port, "the router did not map our own port number");
            gateway
                .add_any_port(PortMappingProtocol::TCP, internal, lease, DESCRIPTION)
                .await
                .map_err(|e| refused(e.to_string()))?
        }
    };
    Ok(PortMapping {
        external: SocketAddr::new(ip, port),
        internal,
        router,
        via: Via::Upnp(gateway),
    })
}

fn lease_secs() -> u32 {
    u32::try_from(LEASE.as_secs()).unwrap_or(u32::MAX)
}

/// The IPv4 default gateway from the kernel's routing table (`/proc/net/route`, Linux); `None`
/// elsewhere or without a default route (PCP and NAT-PMP are then not tried).
fn default_gateway() -> Option<Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    default_gateway_in(&table)
}

/// The gateway of the first default route (destination 0.0.0.0, flags RTF_UP | RTF_GATEWAY)
/// in `/proc/net/route` text, whose addresses are hexadecimal in the host's byte order.
fn default_gateway_in(table: &str) -> Option<Ipv4Addr> {
    /// RTF_UP | RTF_GATEWAY (linux/route.h).
    const UP_GATEWAY: u32 = 0x1 | 0x2;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (destination, gateway, flags) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        let flags = u32::from_str_radix(flags, 16).ok()?;
        if *destination != "00000000" || flags & UP_GATEWAY != UP_GATEWAY {
            return None;
        }
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        Some(Ipv4Addr::from(raw.to_ne_bytes()))
    })
}

impl PortMapping {
    /// Asks the router for another [`LEASE`] of this mapping.
    ///
    /// # Errors
    /// [`PortMapError::Refused`] with the router's answer.
    pub async fn renew(&mut self) -> Result<(), PortMapError> {
        let refused = |detail: String| PortMapError::Refused {
            router: self.router,
            detail,
        };
        match &mut self.via {
            Via::Upnp(gateway) => gateway
                .add_port(
                    PortMappingProtocol::TCP,
                    self.external.port(),
                    self.internal,
                    lease_secs(),
                    DESCRIPTION,
                )
                .await
                .map_err(|e| refused(e.to_string())),
            Via::Pcp(mapping) => mapping.renew().await.map_err(|e| refused(e.to_string())),
        }
    }

    /// Asks the router to remove this mapping, waiting at most [`RELEASE_TIMEOUT`]; failures
    /// are logged (the lease ends the mapping anyway).
    pub async fn remove(self) {
        let removal = async {
            match self.via {
                Via::Upnp(gateway) => gateway
                    .remove_port(PortMappingProtocol::TCP, self.external.port())
                    .await
                    .map_err(|e| e.to_string()),
                Via::Pcp(mapping) => mapping.try_drop().await.map_err(|(e, _)| e.to_string()),
            }
        };
        match tokio::time::timeout(RELEASE_TIMEOUT, removal).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "the router did not remove our mapping"),
            Err(_) => tracing::debug!("the router did not answer the mapping's removal"),
        }
    }
}

/// Keeps a port mapping to our listener for as long as the client runs; see the module.
#[derive(Debug)]
pub struct PortMapper {
    mapped: watch::Receiver<Option<Mapped>>,
    current: Arc<Mutex<Option<PortMapping>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PortMapper {
    /// Starts keeping a mapping to `listen_port` at the address this machine uses to reach
    /// `directory` (our LAN address). Nothing is sought when that address is a loopback or an
    /// IPv6 one (port mapping crosses an IPv4 NAT).
    pub fn start(directory: DirectoryClient, listen_port: u16) -> PortMapper {
        let (tx, mapped) = watch::channel(None);
        let current = Arc::new(Mutex::new(None));
        let task = tokio::spawn(keep(directory, listen_port, tx, Arc::clone(&current)));
        PortMapper {
            mapped,
            current,
            task,
        }
    }

    /// The router's public address and port forwarded to us now (`None` while there is no
    /// mapping); `changed()` on it wakes when that changes.
    pub fn mapped(&self) -> watch::Receiver<Option<Mapped>> {
        self.mapped.clone()
    }

    /// Stops keeping the mapping and asks the router to remove it (see
    /// [`PortMapping::remove`]).
    pub async fn release(self) {
        self.task.abort();
        // Stopped for good before its mapping is taken: it cannot store another one after.
        let _ = self.task.await;
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mapping) = current {
            mapping.remove().await;
        }
    }
}

/// The loop behind [`PortMapper`]: map, renew at half the lease, map again after a loss,
/// retry after [`retry_delay`] when there is no router.
async fn keep(
    directory: DirectoryClient,
    listen_port: u16,
    tx: watch::Sender<Option<Mapped>>,
    current: Arc<Mutex<Option<PortMapping>>>,
) {
    let set = |mapping: Option<PortMapping>| {
        let mapped = mapping.as_ref().map(PortMapping::mapped);
        // Watchers wake only for a change (a renewal changes nothing they see).
        tx.send_if_modified(|seen| {
            let changed = *seen != mapped;
            *seen = mapped;
            changed
        });
        *current.lock().unwrap_or_else(|e| e.into_inner()) = mapping;
    };
    let mut failures = 0u32;
    loop {
        let internal = match directory.local_ip().await {
            // Loopback: nothing between us and the directory. IPv6: no NAT to map through
            // (our global IPv6 addresses are published as they are).
            Ok(ip) if ip.is_loopback() || ip.is_ipv6() => return,
            Ok(ip) => SocketAddr::new(ip, listen_port),
            Err(e) => {
                tracing::debug!(error = %e, "no LAN address to map a port to yet");
                failures = failures.saturating_add(1);
                tokio::time::sleep(retry_delay(failures)).await;
                continue;
            }
        };
        match map(internal).await {
            Ok(mut mapping) => {
                failures = 0;
                tracing::info!(external = %mapping.external, router = %mapping.router, protocol = mapping.protocol(), "the router forwards a port to us");
                set(Some(mapping.clone()));
                loop {
                    tokio::time::sleep(LEASE / 2).await;
                    if let Err(e) = mapping.renew().await {
                        tracing::info!(error = %e, "the router no longer forwards our port");
                        set(None);
                        break;
                    }
                    // A renewal may update what `release` removes (PCP's lifetime, say).
                    set(Some(mapping.clone()));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "no port mapping");
                failures = failures.saturating_add(1);
                tokio::time::sleep(retry_delay(failures)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_back_off_from_thirty_seconds_to_five_minutes() {
        assert_eq!(retry_delay(1), Duration::from_secs(30));
        assert_eq!(retry_delay(2), Duration::from_secs(60));
        assert_eq!(retry_delay(4), Duration::from_secs(240));
        assert_eq!(retry_delay(5), Duration::from_secs(300));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn the_default_gateway_is_read_from_the_kernels_routing_table() {
        // Addresses are in the host's byte order; build the line the way the kernel does.
        let hex = |ip: Ipv4Addr| format!("{:08X}", u32::from_ne_bytes(ip.octets()));
        let gateway = Ipv4Addr::new(192, 0, 2, 1);
        let table = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n\
             eth0\t00000000\t{}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
            hex(Ipv4Addr::new(192, 0, 2, 0)),
            hex(Ipv4Addr::new(255, 255, 255, 0)),
            hex(gateway),
        );
        assert_eq!(default_gateway_in(&table), Some(gateway));
        // No default route, a route that is down, or garbage: none.
        let down = table.replace("\t0003\t", "\t0002\t");
        assert_eq!(default_gateway_in(&down), None);
        assert_eq!(default_gateway_in("Iface\n"), None);
        assert_eq!(default_gateway_in("Iface\neth0 00000000 zz 0003\n"), None);
    }
}
