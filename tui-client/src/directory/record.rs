//! Changes to our own record, authenticated with the login token: address and key updates
//! (`PUT /clients/{username}`) and heartbeats.

use p2p_chat_protocol::api::{ClientRecord, UpdateRequest};

use super::error::Op;
use super::transport::{Secret, warn_before_sending};
use super::{DirectoryClient, DirectoryError};

impl DirectoryClient {
    /// `PUT /clients/{username}`: tells the directory our new address, the other addresses
    /// (`IP:PORT`, e.g. our LAN address) peers may try, and whether to withhold them all
    /// because we take sessions only through the relay (`relay_only`).
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`], [`DirectoryError::Invalid`] and the transport errors.
    pub async fn update_address(
        &self,
        username: &str,
        token: &str,
        host: &str,
        port: u16,
        candidates: Vec<String>,
        relay_only: bool,
    ) -> Result<ClientRecord, DirectoryError> {
        let body = UpdateRequest {
            host: host.to_owned(),
            port: Some(port),
            public_key: None,
            candidates: Some(candidates),
            relay_only: Some(relay_only),
        };
        self.put_record(username, token, &body).await
    }

    /// `PUT /clients/{username}` with a new identity key (`public_key`, 64 hex digits), keeping
    /// the published `host` and `port`: from now on the directory tells peers to expect that
    /// key. Returns the updated record.
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`], [`DirectoryError::NotFound`],
    /// [`DirectoryError::Invalid`] for a key the directory refuses, and the transport errors.
    pub async fn publish_key(
        &self,
        username: &str,
        token: &str,
        host: &str,
        port: u16,
        public_key: &str,
    ) -> Result<ClientRecord, DirectoryError> {
        let body = UpdateRequest {
            host: host.to_owned(),
            port: Some(port),
            public_key: Some(public_key.to_owned()),
            candidates: None,
            relay_only: None,
        };
        self.put_record(username, token, &body).await
    }

    async fn put_record(
        &self,
        username: &str,
        token: &str,
        body: &UpdateRequest,
    ) -> Result<ClientRecord, DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let req = self.http.put(self.user_url(username, &[])?);
        let req = req.bearer_auth(token).json(body);
        self.json(Op::Authed { username }, req).await
    }

    /// `POST /clients/{username}/heartbeat`: marks us online.
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`] and the transport errors.
    pub async fn heartbeat(&self, username: &str, token: &str) -> Result<(), DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.user_url(username, &["heartbeat"])?;
        let req = self.http.post(url).bearer_auth(token);
        self.send(Op::Authed { username }, req).await.map(drop)
    }

    /// `POST /clients/{username}/offline`: signs us off, so contacts see us offline at once
    /// (a clean quit).
    ///
    /// # Errors
    /// [`DirectoryError::TokenRejected`] and the transport errors.
    pub async fn sign_off(&self, username: &str, token: &str) -> Result<(), DirectoryError> {
        warn_before_sending(&self.base, Secret::Token);
        let url = self.user_url(username, &["offline"])?;
        let req = self.http.post(url).bearer_auth(token);
        self.send(Op::Authed { username }, req).await.map(drop)
    }

    /// The address of this machine on the route to the directory (found by opening a TCP
    /// connection to it): the one peers on the same network are likely to reach us at.
    ///
    /// # Errors
    /// [`DirectoryError::Unreachable`] when the directory cannot be reached, or the route
    /// gives no usable address.
    pub async fn local_ip(&self) -> Result<std::net::IpAddr, DirectoryError> {
        let unreachable = |detail: String| DirectoryError::Unreachable {
            url: self.base_url.clone(),
            detail,
        };
        let (host, port) = self
            .host_and_port()
            .ok_or_else(|| unreachable("no host in the URL".into()))?;
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        let stream = tokio::time::timeout(super::CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                unreachable(format!(
                    "no answer within {} s",
                    super::CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| unreachable(e.to_string()))?;
        match stream.local_addr() {
            Ok(addr) if !addr.ip().is_unspecified() => Ok(addr.ip()),
            _ => Err(unreachable("the route gives no local address".into())),
        }
    }
}
