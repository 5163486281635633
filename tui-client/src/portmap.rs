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
use std::time::Duration;

use igd_next::aio::Gateway;
use igd_next::aio::tokio::{Tokio, search_gateway};
use igd_next::{PortMappingProtocol, SearchOptions};

mod gateway;
mod keeper;

use gateway::default_gateway;
pub use keeper::{PortMapper, RETRY_FIRST, RETRY_MAX, retry_delay};

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
