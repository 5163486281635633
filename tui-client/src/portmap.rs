//! Port mapping: asks the router in front of us to forward a public TCP port to our listener,
//! with UPnP-IGD (the UPnP Forum's Internet Gateway Device protocol, `WANIPConnection`) through
//! the igd-next crate. A mapped port makes us reachable by a plain dial even behind a router
//! that hole punching cannot cross (one that picks a new public port for every destination);
//! we publish it as a candidate address ([`crate::presence::Account::announce`]).
//!
//! [`map`] makes one mapping (`doctor` uses it), [`PortMapper::start`] keeps one for as long as
//! the client runs: renewed at half its lease, sought again when the router lost it, removed
//! when the client quits ([`PortMapper::release`]).

use std::net::SocketAddr;
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

/// Lease asked for a mapping: 1 h, renewed at half, so that the mapping of a client that
/// crashed expires on its own.
pub const LEASE: Duration = Duration::from_secs(3600);

/// Wait before seeking a mapping again after the search or the router said no: 5 min (a
/// router switched on, or UPnP turned on, meanwhile).
pub const RETRY: Duration = Duration::from_secs(300);

/// Longest wait for the router to remove our mapping when we quit: 1 s (the lease ends it
/// anyway).
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the router shows as the mapping's description.
pub const DESCRIPTION: &str = "p2p-chat";

/// A TCP port mapping on our router.
#[derive(Clone, Debug)]
pub struct PortMapping {
    /// The router's public address and port that it forwards.
    pub external: SocketAddr,
    /// Our listener's address on the LAN, where the router forwards to.
    pub internal: SocketAddr,
    /// Where the router answers UPnP-IGD requests.
    pub router: SocketAddr,
    gateway: Gateway<Tokio>,
}

/// Why no port mapping was made.
#[derive(Debug, thiserror::Error)]
pub enum PortMapError {
    /// Nothing on the LAN answered the search (no router, or UPnP is off on it).
    #[error("no router on this network answered a UPnP-IGD search within {} s (none there, or UPnP is off on it)", SEARCH_TIMEOUT.as_secs())]
    NoRouter,
    /// The router answered but made no mapping.
    #[error("the router at {router} made no port mapping: {detail}")]
    Refused {
        /// Where the router answers UPnP-IGD requests.
        router: SocketAddr,
        /// What it said.
        detail: String,
    },
}

/// Asks the router to forward a public TCP port to `internal` (our LAN address and listening
/// port) for [`LEASE`]: the same port number when it is free, else any the router picks.
///
/// # Errors
/// [`PortMapError::NoRouter`] when nothing answers the search within [`SEARCH_TIMEOUT`];
/// [`PortMapError::Refused`] when the router tells no public address or maps no port.
pub async fn map(internal: SocketAddr) -> Result<PortMapping, PortMapError> {
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
        gateway,
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
    pub async fn renew(&self) -> Result<(), PortMapError> {
        self.gateway
            .add_port(
                PortMappingProtocol::TCP,
                self.external.port(),
                self.internal,
                lease_secs(),
                DESCRIPTION,
            )
            .await
            .map_err(|e| PortMapError::Refused {
                router: self.router,
                detail: e.to_string(),
            })
    }

    /// Asks the router to remove this mapping, waiting at most [`RELEASE_TIMEOUT`]; failures
    /// are logged (the lease ends the mapping anyway).
    pub async fn remove(&self) {
        let removal = self
            .gateway
            .remove_port(PortMappingProtocol::TCP, self.external.port());
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
    mapped: watch::Receiver<Option<SocketAddr>>,
    current: Arc<Mutex<Option<PortMapping>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PortMapper {
    /// Starts keeping a mapping to `listen_port` at the address this machine uses to reach
    /// `directory` (our LAN address). Nothing is sought when that address is a loopback one.
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
    pub fn mapped(&self) -> watch::Receiver<Option<SocketAddr>> {
        self.mapped.clone()
    }

    /// Stops keeping the mapping and asks the router to remove it (see
    /// [`PortMapping::remove`]).
    pub async fn release(self) {
        self.task.abort();
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
/// retry after [`RETRY`] when there is no router.
async fn keep(
    directory: DirectoryClient,
    listen_port: u16,
    tx: watch::Sender<Option<SocketAddr>>,
    current: Arc<Mutex<Option<PortMapping>>>,
) {
    let set = |mapping: Option<PortMapping>| {
        tx.send_replace(mapping.as_ref().map(|m| m.external));
        *current.lock().unwrap_or_else(|e| e.into_inner()) = mapping;
    };
    loop {
        let internal = match directory.local_ip().await {
            Ok(ip) if ip.is_loopback() => return,
            Ok(ip) => SocketAddr::new(ip, listen_port),
            Err(e) => {
                tracing::debug!(error = %e, "no LAN address to map a port to yet");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        match map(internal).await {
            Ok(mapping) => {
                tracing::info!(external = %mapping.external, router = %mapping.router, "the router forwards a port to us (UPnP-IGD)");
                set(Some(mapping.clone()));
                loop {
                    tokio::time::sleep(LEASE / 2).await;
                    if let Err(e) = mapping.renew().await {
                        tracing::info!(error = %e, "the router no longer forwards our port");
                        set(None);
                        break;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "no port mapping");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
