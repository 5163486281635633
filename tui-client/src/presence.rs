//! Keeps our directory record fresh while the client runs, and reloads the contact list.

use std::time::Duration;

use p2p_chat_protocol::api::ClientRecord;
use p2p_chat_protocol::api::signal::ServerSignal;

use crate::directory::{DirectoryClient, DirectoryError};

/// Interval between heartbeats and contact reloads: 20 s, a third of the directory's default
/// 60 s presence window, so one lost heartbeat does not make us look offline.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(20);

/// Longest wait for the directory to take our sign-off when quitting: 2 s.
pub const SIGN_OFF_TIMEOUT: Duration = Duration::from_secs(2);

/// Our account on a directory.
#[derive(Clone, Debug)]
pub struct Account {
    /// The directory.
    pub client: DirectoryClient,
    /// Our username there.
    pub username: String,
    /// Our bearer token.
    pub token: String,
    /// Port to announce instead of the one we listen on (`register --port`).
    pub fixed_port: Option<u16>,
    /// Whether we take and open sessions only through the directory's relay (`--relay-only`):
    /// the directory withholds our addresses, and we never dial a peer or answer a punch.
    pub relay_only: bool,
}

/// What the signaling loop ([`Account::keep_signaling`]) reports.
#[derive(Clone, Debug)]
pub enum SignalReport {
    /// The signaling connection is open; the address the directory sees it come from.
    Connected {
        /// `HOST:PORT` as the directory observes it (see `ServerSignal::Welcome`).
        observed: Option<String>,
    },
    /// A user came online or went offline.
    Presence {
        /// The user.
        username: String,
        /// Whether it is online now.
        online: bool,
    },
    /// Mail arrived for us: fetch the mailbox now.
    Mail,
    /// `from` asks to meet on the directory's relay with `ticket`.
    RelayOffer {
        /// The one-time ticket.
        ticket: String,
        /// Who asks.
        from: String,
    },
    /// `from` asks for a hole punch: dial `addr` after `delay_ms` (see [`crate::punch::answer`]).
    Punch {
        /// Who asks.
        from: String,
        /// `HOST:PORT` to dial.
        addr: String,
        /// Milliseconds to wait first.
        delay_ms: u64,
    },
    /// The connection closed or could not be opened; it is opened again after a delay.
    Lost,
}

/// Where our listener accepts peers, for [`Account::announce`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listening {
    /// Its port; 0 when we do not listen.
    pub port: u16,
    /// Whether it accepts IPv6 connections too ([`crate::net::port::listen_v6_beside`]), so
    /// our global IPv6 addresses are worth publishing.
    pub ipv6: bool,
}

/// What one round of the presence loop reports.
#[derive(Debug)]
pub enum PresenceReport {
    /// Heartbeat sent; `contacts` holds the reloaded list when it was asked for.
    Ok {
        /// Every record on the directory, when the contact list was reloaded.
        contacts: Option<Vec<ClientRecord>>,
    },
    /// A request failed.
    Failed(DirectoryError),
}

impl Account {
    /// Publishes the port peers should dial — [`Account::fixed_port`], else `listen_port` —
    /// keeping the host we registered with, our LAN address (`IP:listen_port`) as a candidate
    /// for peers on the same network, and `mapped` (the router's public address and port that
    /// it forwards to us, see [`crate::portmap`]) and, when we listen on IPv6 too, our global
    /// IPv6 addresses ([`crate::net::port::global_ipv6`]) as candidates for everyone: at most
    /// [`MAX_CANDIDATES`](p2p_chat_protocol::api::MAX_CANDIDATES), in that order. With
    /// [`Account::relay_only`], asks the directory to withhold all of them, and publishes no
    /// candidates.
    ///
    /// # Errors
    /// Any [`DirectoryError`] of the lookup or the update.
    pub async fn announce(
        &self,
        listening: Listening,
        mapped: Option<std::net::SocketAddr>,
    ) -> Result<ClientRecord, DirectoryError> {
        let listen_port = listening.port;
        let record = self.client.lookup(&self.username).await?;
        let (host, _) = record.address_to_keep();
        let port = self.fixed_port.unwrap_or(listen_port);
        // Our address on the local network, where a peer behind the same router reaches us
        // without it (routers rarely forward a connection back into their own network).
        let lan = match self.client.local_ip().await {
            Ok(ip) if !ip.is_loopback() && listen_port != 0 && !self.relay_only => {
                Some(std::net::SocketAddr::new(ip, listen_port).to_string())
            }
            _ => None,
        };
        let mapped = mapped.filter(|_| !self.relay_only);
        let ipv6 = if listening.ipv6 && listen_port != 0 && !self.relay_only {
            crate::net::port::global_ipv6()
        } else {
            Vec::new()
        };
        let ipv6 = ipv6
            .into_iter()
            .map(|ip| std::net::SocketAddr::new(ip.into(), listen_port).to_string());
        let published = p2p_chat_protocol::api::host_port(host, port);
        let mut candidates: Vec<String> = Vec::new();
        for candidate in lan
            .into_iter()
            .chain(mapped.map(|m| m.to_string()))
            .chain(ipv6)
        {
            if candidate != published && !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
        }
        candidates.truncate(p2p_chat_protocol::api::MAX_CANDIDATES);
        self.client
            .update_address(
                &self.username,
                &self.token,
                host,
                port,
                candidates,
                self.relay_only,
            )
            .await
    }

    /// Tells the directory we quit, so contacts see us offline at once; gives up after
    /// [`SIGN_OFF_TIMEOUT`] (the presence window ends it anyway).
    pub async fn sign_off(&self) {
        let request = self.client.sign_off(&self.username, &self.token);
        if let Ok(Err(err)) = tokio::time::timeout(SIGN_OFF_TIMEOUT, request).await {
            tracing::debug!(%err, "sign-off failed");
        }
    }

    /// Announces where we are `listening` (with the port `mapped` says our router forwards to us, again
    /// each time that changes), then sends a heartbeat every [`HEARTBEAT_INTERVAL`] (and
    /// reloads the contacts when `with_contacts`) for as long as `report`, called after each
    /// round, returns true.
    pub async fn keep_fresh(
        self,
        listening: Listening,
        with_contacts: bool,
        mut mapped: Option<tokio::sync::watch::Receiver<Option<crate::portmap::Mapped>>>,
        mut report: impl FnMut(PresenceReport) -> bool,
    ) {
        let mut announced = false;
        let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
        loop {
            let remapped = async {
                let changed = match &mut mapped {
                    Some(mapped) => mapped.changed().await.is_ok(),
                    None => false,
                };
                if !changed {
                    // No mapper, or it stopped: only the heartbeats remain.
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = tick.tick() => {}
                () = remapped => announced = false,
            }
            let round = async {
                if !announced {
                    let now_mapped = mapped.as_ref().and_then(|m| m.borrow().map(|m| m.external));
                    self.announce(listening, now_mapped).await?;
                    announced = true;
                } else {
                    self.client.heartbeat(&self.username, &self.token).await?;
                }
                let contacts = if with_contacts {
                    Some(self.client.list_all(Some(&self.token)).await?)
                } else {
                    None
                };
                Ok::<_, DirectoryError>(contacts)
            };
            let outcome = match round.await {
                Ok(contacts) => PresenceReport::Ok { contacts },
                Err(e) => PresenceReport::Failed(e),
            };
            if !report(outcome) {
                return;
            }
        }
    }

    /// Keeps the signaling connection to the directory open for as long as `report` returns
    /// true, reporting what the directory pushes, and opening it again after a loss with the
    /// reconnect backoff (1 s doubling to 30 s, with jitter; reset once the directory welcomes
    /// us). Ends for good when the token is refused (the user must log in again; the HTTP
    /// requests say so) or the directory has no signaling (an older release: contacts and mail
    /// are then polled only). The connection leaves from the port of `local` (our listener's
    /// address) when given, so the address the directory observes is the one a hole punch
    /// reaches.
    pub async fn keep_signaling(
        self,
        local: Option<std::net::SocketAddr>,
        mut report: impl FnMut(SignalReport) -> bool,
    ) {
        let mut attempt = 0u32;
        loop {
            match self.client.open_signaling(&self.token, local, false).await {
                Ok(mut signaling) => {
                    while let Some(signal) = signaling.next().await {
                        let event = match signal {
                            ServerSignal::Welcome { observed } => {
                                // Only a connection that works resets the backoff.
                                attempt = 0;
                                SignalReport::Connected { observed }
                            }
                            ServerSignal::Presence { username, online } => {
                                SignalReport::Presence { username, online }
                            }
                            ServerSignal::Mail => SignalReport::Mail,
                            ServerSignal::RelayOffer { ticket, from } => {
                                SignalReport::RelayOffer { ticket, from }
                            }
                            ServerSignal::Punch {
                                from,
                                addr,
                                delay_ms,
                            } => SignalReport::Punch {
                                from,
                                addr,
                                delay_ms,
                            },
                            ServerSignal::Unknown => continue,
                        };
                        if !report(event) {
                            signaling.close().await;
                            return;
                        }
                    }
                }
                Err(DirectoryError::TokenRejected | DirectoryError::UnexpectedResponse { .. }) => {
                    return;
                }
                Err(e) => tracing::debug!(error = %e, "cannot open the signaling connection"),
            }
            if !report(SignalReport::Lost) {
                return;
            }
            attempt = attempt.saturating_add(1);
            tokio::time::sleep(crate::tui::resolve::reconnect_delay(attempt)).await;
        }
    }
}

/// A signaling connection held open while a short command (`send`) reaches a peer, so the
/// directory can time a hole punch from its port; closed when dropped.
#[derive(Debug)]
pub struct BriefSignaling(tokio::task::JoinHandle<()>);

impl Drop for BriefSignaling {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long a short command waits for the directory's welcome: 3 s.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(3);

impl Account {
    /// Opens a signaling connection from the port of `local` for a short command, waits for
    /// the directory's welcome (a hole punch can then be asked for at once), and keeps
    /// answering the directory's pings, ignoring its pushes, until the returned guard is
    /// dropped. `None` when it does not open (the command then goes without a hole punch).
    pub async fn brief_signaling(&self, local: std::net::SocketAddr) -> Option<BriefSignaling> {
        let opened = async {
            let mut signaling = self
                .client
                .open_signaling(&self.token, Some(local), true)
                .await
                .ok()?;
            match signaling.next().await? {
                ServerSignal::Welcome { .. } => Some(signaling),
                _ => None,
            }
        };
        let mut signaling = tokio::time::timeout(WELCOME_TIMEOUT, opened).await.ok()??;
        Some(BriefSignaling(tokio::spawn(async move {
            while signaling.next().await.is_some() {}
        })))
    }
}
