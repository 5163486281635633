//! Client of the directory's HTTP API (`docs/api.md`).
//!
//! [`DirectoryClient`] wraps one `reqwest::Client` and turns every failure into a
//! [`DirectoryError`] whose message tells the user what happened and what to do. It speaks
//! HTTP and HTTPS (rustls with the *ring* provider, see [`install_crypto_provider`]); a
//! directory with a private certificate is trusted through [`CA_CERT_ENV`]. Before a password
//! or the login token goes out over plain HTTP to another machine, it warns once on stderr.

mod base;
mod error;
mod mailbox;
mod record;
mod session;
mod signal;
mod transport;

use std::time::Duration;

use p2p_chat_protocol::api::{
    ClientList, ClientRecord, ClientsQuery, LoginRequest, LoginResponse, MAX_PAGE_LIMIT,
    RegisterRequest, UnregisterRequest,
};
use reqwest::{RequestBuilder, Url};
use serde::de::DeserializeOwned;

pub use error::{DirectoryError, Trouble};
use error::{Op, answer_error, root_cause};
pub use signal::{JoinedRelay, Signaling};
pub use transport::{CA_CERT_ENV, install_crypto_provider};
use transport::{Secret, warn_before_sending};

/// Longest time one request may take, connect included: 10 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time the TCP connect to the directory may take: 5 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer body read from the directory: 16 MiB. The largest legitimate answer, a
/// mailbox page of 100 sealed messages of 64 KiB in base64 JSON, is about 8.6 MiB; anything
/// bigger is refused before it is held in memory.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Warns once per process, as a request carrying the login token would, when the token saved
/// for the directory at `base_url` would cross the network in clear text. For callers about
/// to hand the terminal to the chat window, where a warning on stderr would garble the
/// screen: the later requests then stay silent.
pub fn warn_before_using_token(base_url: &str) {
    if let Ok((base, _)) = base::parse(base_url) {
        warn_before_sending(&base, Secret::Token);
    }
}

/// A client of one directory.
#[derive(Clone, Debug)]
pub struct DirectoryClient {
    http: reqwest::Client,
    /// Parsed base URL; its path (usually `/`) is the prefix of every endpoint.
    base: Url,
    /// The base URL as shown to the user and saved in the profile: no trailing slash.
    base_url: String,
}

impl DirectoryClient {
    /// A client of the directory at `base_url`, e.g. `https://chat.example.org:27182` (a
    /// trailing slash and a path prefix are allowed). Installs the *ring* crypto provider if
    /// none is installed yet. Nothing is sent yet.
    ///
    /// # Errors
    /// [`DirectoryError::BadUrl`] when `base_url` is not an `http` or `https` URL with a
    /// host, or has a query, fragment or credentials; [`DirectoryError::Client`] when the
    /// file named by [`CA_CERT_ENV`] is unusable or the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Result<Self, DirectoryError> {
        let (base, base_url) = base::parse(base_url)?;
        let http = transport::http_client(&base)?;
        Ok(Self {
            http,
            base,
            base_url,
        })
    }

    /// The directory's base URL without a trailing slash, e.g. `http://127.0.0.1:27182`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Host and port of the directory, for finding the local address that reaches it.
    pub fn host_and_port(&self) -> Option<(String, u16)> {
        let host = self
            .base
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        Some((host.to_owned(), self.base.port_or_known_default()?))
    }

    /// `GET /ping`: checks that a p2p-chat directory answers at the URL.
    ///
    /// # Errors
    /// [`DirectoryError::Unreachable`], or [`DirectoryError::UnexpectedResponse`] when
    /// something else answers.
    pub async fn ping(&self) -> Result<(), DirectoryError> {
        let body = self
            .send(Op::Ping, self.http.get(self.url(&["ping"])))
            .await?;
        if body.trim_ascii() == b"pong" {
            Ok(())
        } else {
            Err(self.unexpected("GET /ping did not answer \"pong\""))
        }
    }

    /// `POST /register`: creates an account and returns its public record.
    ///
    /// # Errors
    /// [`DirectoryError::UsernameTaken`], [`DirectoryError::Invalid`] for a field the
    /// directory refuses, and the transport errors.
    pub async fn register(&self, req: &RegisterRequest) -> Result<ClientRecord, DirectoryError> {
        let op = Op::Register {
            username: &req.username,
        };
        warn_before_sending(&self.base, Secret::Password);
        self.json(op, self.http.post(self.url(&["register"])).json(req))
            .await
    }

    /// `POST /login`: exchanges the password for a bearer token.
    ///
    /// # Errors
    /// [`DirectoryError::BadCredentials`] and the transport errors.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, DirectoryError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        warn_before_sending(&self.base, Secret::Password);
        let req = self.http.post(self.url(&["login"])).json(&body);
        self.json(Op::Login, req).await
    }

    /// Every registered peer, sorted by username: walks all pages of `GET /clients`, sending
    /// `token` (directories list their users only to logged-in users unless started with
    /// `--public-listing`).
    ///
    /// # Errors
    /// [`DirectoryError::LoginRequired`] without a token where one is needed,
    /// [`DirectoryError::TokenRejected`] for a bad one, the transport errors, or
    /// [`DirectoryError::UnexpectedResponse`] when the pages do not advance.
    pub async fn list_all(&self, token: Option<&str>) -> Result<Vec<ClientRecord>, DirectoryError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = ClientsQuery {
                limit: Some(MAX_PAGE_LIMIT),
                after: after.clone(),
            };
            let mut req = self.http.get(self.url(&["clients"])).query(&query);
            if let Some(token) = token {
                warn_before_sending(&self.base, Secret::Token);
                req = req.bearer_auth(token);
            }
            let op = Op::List {
                with_token: token.is_some(),
            };
            let page: ClientList = self.json(op, req).await?;
            all.extend(page.clients);
            match page.next {
                None => return Ok(all),
                // A cursor that does not move forward would loop for ever.
                Some(next) if after.as_ref().is_some_and(|a| &next <= a) => {
                    return Err(self.unexpected("GET /clients returned a cursor that goes back"));
                }
                Some(next) => after = Some(next),
            }
        }
    }

    /// `GET /clients/{username}`: one peer's record.
    ///
    /// # Errors
    /// [`DirectoryError::NotFound`] and the transport errors.
    pub async fn lookup(&self, username: &str) -> Result<ClientRecord, DirectoryError> {
        let url = self.user_url(username, &[])?;
        self.json(Op::Lookup { username }, self.http.get(url)).await
    }

    /// `DELETE /clients/{username}`: deletes the account.
    ///
    /// # Errors
    /// [`DirectoryError::BadCredentials`], [`DirectoryError::NotFound`] and the transport
    /// errors.
    pub async fn unregister(&self, username: &str, password: &str) -> Result<(), DirectoryError> {
        let body = UnregisterRequest {
            password: password.to_owned(),
        };
        warn_before_sending(&self.base, Secret::Password);
        let req = self.http.delete(self.user_url(username, &[])?).json(&body);
        self.send(Op::Unregister { username }, req).await.map(drop)
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` refused URLs that cannot be a base, so this always succeeds.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `/clients/{username}/...`, with the name percent-encoded. The url crate drops `.` and
    /// `..` segments, and no valid username is that short, so those are simply not found.
    fn user_url(&self, username: &str, rest: &[&str]) -> Result<Url, DirectoryError> {
        if matches!(username, "" | "." | "..") {
            return Err(DirectoryError::NotFound {
                username: username.to_owned(),
            });
        }
        let mut segments = vec!["clients", username];
        segments.extend_from_slice(rest);
        Ok(self.url(&segments))
    }

    /// Sends the request; the body of a success status, else the mapped error.
    async fn send(&self, op: Op<'_>, req: RequestBuilder) -> Result<Vec<u8>, DirectoryError> {
        let mut response = req.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let too_large =
            || self.unexpected(&format!("answer over {} MiB", MAX_RESPONSE_BYTES >> 20));
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(answer_error(op, &self.base_url, status, &headers, &body))
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        op: Op<'_>,
        req: RequestBuilder,
    ) -> Result<T, DirectoryError> {
        let body = self.send(op, req).await?;
        serde_json::from_slice(&body).map_err(|e| self.unexpected(&format!("bad JSON: {e}")))
    }

    fn transport(&self, err: &reqwest::Error) -> DirectoryError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cause {
            if let Some(redirect) = e.downcast_ref::<transport::CrossOriginRedirect>() {
                return DirectoryError::Redirected {
                    url: self.base_url.clone(),
                    target: redirect.0.clone(),
                };
            }
            cause = e.source();
        }
        let detail = if err.is_timeout() {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        } else {
            root_cause(err)
        };
        DirectoryError::Unreachable {
            url: self.base_url.clone(),
            detail,
        }
    }

    fn unexpected(&self, detail: &str) -> DirectoryError {
        DirectoryError::UnexpectedResponse {
            url: self.base_url.clone(),
            detail: detail.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
