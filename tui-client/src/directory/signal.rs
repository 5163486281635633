//! The client side of the signaling WebSocket (`GET /signal`): opening it over TCP (and TLS
//! for `https://` directories, with the same trust as the HTTP requests), and reading the
//! directory's pushes; and the relay (`/relay`), where two clients meet when they cannot reach
//! each other directly.

use futures::StreamExt;
use p2p_chat_protocol::api::signal::{
    MAX_SIGNAL_BYTES, PUNCH_PATH, PunchPlan, REACHABILITY_PATH, RELAY_MAX_BYTES_HEADER, RELAY_PATH,
    RELAY_UPGRADE, RelayTicket, SIGNAL_PATH, SIGNAL_PING_SECS, ServerSignal,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

use super::error::Op;
use super::transport::{Secret, tls_config, warn_before_sending};
use super::{CONNECT_TIMEOUT, DirectoryClient, DirectoryError, REQUEST_TIMEOUT};
use crate::net::PeerStream;

/// A byte stream to the directory, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One side of a relayed session, joined ([`DirectoryClient::join_relay`]).
pub struct JoinedRelay {
    /// The relayed byte stream.
    pub stream: PeerStream,
    /// The address of the directory it runs through.
    pub remote: std::net::SocketAddr,
    /// The most bytes the relay carries in this session, both directions together; `None`
    /// when the directory does not say (older than file transfers) or says something that is
    /// not a number.
    pub max_bytes: Option<u64>,
}

/// An open signaling connection.
pub struct Signaling {
    socket: WebSocketStream<Box<dyn Io>>,
}

impl DirectoryClient {
    /// Opens the signaling connection of `username` with `token`, from the port of `local`
    /// (our listener's address, see [`crate::net::port`]) when given and free, else from a
    /// port the system picks. A `brief` one (a short command such as `send`) only lets us ask
    /// for hole punches: the directory does not count it as a running client.
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`] (401 or 403), [`DirectoryError::NotFound`]-like
    /// [`DirectoryError::UnexpectedResponse`] for a directory without signaling (an older
    /// release: the client then keeps polling), and [`DirectoryError::Unreachable`].
    pub async fn open_signaling(
        &self,
        token: &str,
        local: Option<std::net::SocketAddr>,
        brief: bool,
    ) -> Result<Signaling, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let unreachable = |detail: String| DirectoryError::Unreachable {
            url: self.base_url.clone(),
            detail,
        };
        let (host, port) = self
            .host_and_port()
            .ok_or_else(|| unreachable("no host in the URL".into()))?;
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect(&host, port, local))
            .await
            .map_err(|_| unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|e| unreachable(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match tls_config(&self.base)? {
            None => Box::new(tcp),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| unreachable(e.to_string()))?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| unreachable(format!("TLS: {e}")))?;
                Box::new(tls)
            }
        };
        let mut url = self.url(&[SIGNAL_PATH.trim_start_matches('/')]);
        let scheme = if self.base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        // Only the scheme changes, from one that always has a host to one that does too.
        let _ = url.set_scheme(scheme);
        if brief {
            url.set_query(Some("brief=true"));
        }
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| self.unexpected(&e.to_string()))?;
        let bearer = format!("Bearer {token}")
            .parse()
            .map_err(|_| DirectoryError::TokenRejected)?;
        request.headers_mut().insert("authorization", bearer);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_SIGNAL_BYTES))
            .max_frame_size(Some(MAX_SIGNAL_BYTES));
        let handshake = client_async_with_config(request, stream, Some(config));
        match tokio::time::timeout(REQUEST_TIMEOUT, handshake).await {
            Err(_) => Err(unreachable(format!(
                "no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ))),
            Ok(Ok((socket, _))) => Ok(Signaling { socket }),
            Ok(Err(tungstenite::Error::Http(response))) => match response.status().as_u16() {
                401 | 403 => Err(DirectoryError::TokenRejected),
                // A directory without signaling (an older release).
                404 | 405 | 426 => Err(self.unexpected("this directory has no signaling")),
                // Anything else may pass (a proxy's 502 while the directory restarts).
                status => Err(DirectoryError::Server {
                    status,
                    message: "the signaling connection was refused".into(),
                }),
            },
            Ok(Err(e)) => Err(unreachable(e.to_string())),
        }
    }
}

/// Connects to the directory at `host`:`port`, from the port of `local` when it can.
async fn connect(
    host: &str,
    port: u16,
    local: Option<std::net::SocketAddr>,
) -> std::io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect((host, port)).await;
    };
    let mut last = None;
    for remote in tokio::net::lookup_host((host, port)).await? {
        let tcp = match crate::net::port::connect_from(local, remote).await {
            Ok(tcp) => {
                // Closed with a reset rather than a FIN, so no TIME_WAIT of ours holds the
                // pair of ports, and the next connection leaves from our port again.
                if let Err(e) = tcp.set_zero_linger() {
                    tracing::debug!(error = %e, "cannot turn lingering off");
                }
                Ok(tcp)
            }
            // Our port cannot reach the directory (a listener bound to loopback, or another
            // connection between the two ports still open): signaling still works from
            // another port; only hole punches then miss us.
            Err(e) => {
                tracing::debug!(error = %e, "signaling leaves from another port this time");
                TcpStream::connect(remote).await
            }
        };
        match tcp {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("the name resolved to no address")))
}

impl Signaling {
    /// The next push of the directory; `None` once the connection is closed or broken, or
    /// silent for three ping intervals (a connection that died without a word: a laptop that
    /// slept, a router that forgot it). Pings are answered while waiting; text that is not a
    /// signal is skipped.
    pub async fn next(&mut self) -> Option<ServerSignal> {
        let silence = std::time::Duration::from_secs(3 * SIGNAL_PING_SECS);
        loop {
            let frame = tokio::time::timeout(silence, self.socket.next())
                .await
                .ok()??;
            match frame {
                Ok(Message::Text(text)) => {
                    if let Ok(signal) = serde_json::from_str(&text) {
                        return Some(signal);
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

impl DirectoryClient {
    /// `POST /relay/{username}`: a one-time ticket to meet `username` on the directory's relay,
    /// which the directory offers to `username` over signaling.
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`] when `username` has no running client connected,
    /// [`DirectoryError::Server`] (503) when the relay is off or full, and the transport
    /// errors.
    pub async fn relay_ticket(
        &self,
        username: &str,
        token: &str,
    ) -> Result<String, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&[RELAY_PATH.trim_start_matches('/'), username]);
        let req = self.http.post(url).bearer_auth(token);
        let ticket: RelayTicket = self.json(Op::Relay, req).await?;
        Ok(ticket.ticket)
    }

    /// `DELETE /relay/{ticket}`: declines a relay offer, so the peer waiting on it stops at
    /// once.
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`]-like errors for a ticket that is gone, and the transport
    /// errors.
    pub async fn decline_relay(&self, ticket: &str, token: &str) -> Result<(), DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&[RELAY_PATH.trim_start_matches('/'), ticket]);
        let req = self.http.delete(url).bearer_auth(token);
        self.send(Op::Relay, req).await.map(drop)
    }

    /// `POST /punch/{username}`: asks the directory to time a hole punch between us and
    /// `username`; our part of it (the directory pushes theirs over signaling).
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`]-like errors when either side has no signaling connection,
    /// [`DirectoryError::Server`] (503) when the directory cannot see a side's port, 429 over
    /// our budget of punches, and the transport errors.
    pub async fn punch(&self, username: &str, token: &str) -> Result<PunchPlan, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&[PUNCH_PATH.trim_start_matches('/'), username]);
        let req = self.http.post(url).bearer_auth(token);
        self.json(Op::Relay, req).await
    }

    /// `POST /reachability`: asks the directory to dial the address our request comes from at
    /// `port` (where our listener should be seen), and which ways to meet peers it offers.
    ///
    /// # Errors
    /// 429 over our budget of dials (shared with hole punches), a 404-like
    /// [`DirectoryError::UnexpectedResponse`] from a directory without the check (an older
    /// release), and the transport errors.
    pub async fn check_reachability(
        &self,
        token: &str,
        port: u16,
    ) -> Result<p2p_chat_protocol::api::signal::Reachability, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&[REACHABILITY_PATH.trim_start_matches('/')]);
        let body = p2p_chat_protocol::api::signal::ReachabilityRequest { port };
        let req = self.http.post(url).bearer_auth(token).json(&body);
        self.json(Op::Relay, req).await
    }

    /// `GET /relay/{ticket}` upgraded: one end of the relayed byte stream, the address of the
    /// directory it runs through, and the session's byte cap.
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`]-like errors for an unknown or expired ticket, and the
    /// transport errors.
    pub async fn join_relay(
        &self,
        ticket: &str,
        token: &str,
    ) -> Result<JoinedRelay, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.url(&[RELAY_PATH.trim_start_matches('/'), ticket]);
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::UPGRADE, RELAY_UPGRADE)
            .header(reqwest::header::CONNECTION, "upgrade")
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status != reqwest::StatusCode::SWITCHING_PROTOCOLS {
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            return Err(super::error::answer_error(
                Op::Relay,
                &self.base_url,
                status,
                &headers,
                &body,
            ));
        }
        let remote = response
            .remote_addr()
            .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
        let max_bytes = response
            .headers()
            .get(RELAY_MAX_BYTES_HEADER)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let upgraded = response.upgrade().await.map_err(|e| self.transport(&e))?;
        Ok(JoinedRelay {
            stream: Box::new(upgraded),
            remote,
            max_bytes,
        })
    }
}
