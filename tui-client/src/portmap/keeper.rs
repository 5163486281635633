//! Keeping a port mapping while the client runs: map, renew at half the lease, map again
//! after a loss, search again with backoff while there is none, remove on quit.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::{LEASE, Mapped, PortMapping, map};
use crate::directory::DirectoryClient;

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
}
