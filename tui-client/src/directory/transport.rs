//! The HTTP client under [`DirectoryClient`](super::DirectoryClient): HTTPS with rustls on the
//! *ring* provider, extra trusted roots from [`CA_CERT_ENV`], redirects kept to the directory's
//! own origin, and the warning about passwords and login tokens sent over plain HTTP.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Url;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{CONNECT_TIMEOUT, DirectoryError, REQUEST_TIMEOUT};
use crate::directory::error::root_cause;

/// Environment variable naming a PEM file of certificates to trust for `https://` directories,
/// on top of the system's roots: for a directory with a private or self-signed certificate.
pub const CA_CERT_ENV: &str = "P2P_CHAT_CA_CERT";

/// Installs *ring* as the process-wide rustls crypto provider, which reqwest's TLS needs
/// (the workspace uses ring only, never aws-lc-rs). Idempotent: a provider installed already,
/// by an earlier call or by anyone else, is kept.
pub fn install_crypto_provider() {
    // Err only means "already installed", which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How long an idle connection to the directory is kept for the next request: 5 s, half the
/// directory's default header timeout (`--header-timeout-secs`).
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Most redirects followed within the directory's own origin (scheme, host and port).
const MAX_REDIRECTS: usize = 5;

/// A redirect to another origin, which the client refuses: the login token and passwords must
/// only go to the directory the user chose. Displays the target.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct CrossOriginRedirect(pub(super) String);

/// A reqwest client for the directory at `base`, with our timeouts and user agent, following
/// at most [`MAX_REDIRECTS`] redirects and only within `base`'s origin. For an `https://` base
/// it uses [`tls_config`]; for `http://` it loads no roots at all (parsing the system's ≈ 150
/// roots costs a few ms that a plain-HTTP `send` does not need, and no redirect may lead to
/// another origin anyway).
///
/// # Errors
/// [`DirectoryError::Client`] when the file named by [`CA_CERT_ENV`] cannot be read or holds
/// no certificate, or the client cannot be built.
pub(super) fn http_client(base: &Url) -> Result<reqwest::Client, DirectoryError> {
    install_crypto_provider();
    let origin = base.origin();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.url().origin() != origin {
            let target = attempt.url().to_string();
            attempt.error(CrossOriginRedirect(target))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let builder = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        // Under the directory's 10 s header timeout, which closes idle connections: a
        // pooled connection is never reused just as the directory hangs up on it.
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .redirect(redirects)
        .user_agent(concat!("p2p-chat/", env!("CARGO_PKG_VERSION")));
    let tls = match tls_config(base)? {
        Some(config) => (*config).clone(),
        None => rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    builder
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| DirectoryError::Client {
            detail: root_cause(&e),
        })
}

/// The TLS settings for the directory at `base`, shared by the HTTP client and the signaling
/// connection: for `https://`, the platform's trusted roots (rustls-platform-verifier) plus
/// the certificates of [`CA_CERT_ENV`] when it is set, on the *ring* provider; `None` for
/// `http://`.
///
/// # Errors
/// [`DirectoryError::Client`] when the file named by [`CA_CERT_ENV`] cannot be read or holds
/// no certificate, or the platform's verifier cannot be set up.
pub(super) fn tls_config(base: &Url) -> Result<Option<Arc<rustls::ClientConfig>>, DirectoryError> {
    if base.scheme() != "https" {
        return Ok(None);
    }
    install_crypto_provider();
    let extra = match std::env::var_os(CA_CERT_ENV).filter(|p| !p.is_empty()) {
        Some(path) => extra_roots(Path::new(&path))?,
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone()).map_err(
            |e| DirectoryError::Client {
                detail: format!("cannot load the trusted certificates: {e}"),
            },
        )?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DirectoryError::Client {
            detail: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

fn extra_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, DirectoryError> {
    let bad = |detail: String| DirectoryError::Client {
        detail: format!("{CA_CERT_ENV}={}: {detail}", path.display()),
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// Whether a password or token sent to `base` could be read on the network: plain `http://`
/// to a host that is not this machine.
pub(super) fn exposes_secrets(base: &Url) -> bool {
    if base.scheme() != "http" {
        return false;
    }
    let host = base.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// The secret a request carries, for the plain-HTTP warning.
#[derive(Clone, Copy, Debug)]
pub(super) enum Secret {
    /// The account's password (register, login, unregister, password change).
    Password,
    /// The bearer token (every request that proves who we are without a password).
    Token,
}

/// Prints, once per process whatever the secret, a one-line warning that `secret` is about to
/// cross the network in clear text, when `base` [`exposes_secrets`].
pub(super) fn warn_before_sending(base: &Url, secret: Secret) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if exposes_secrets(base) && !WARNED.swap(true, Ordering::Relaxed) {
        let host = base.host_str().unwrap_or("the directory");
        let (what, risk) = match secret {
            Secret::Password => ("your password", "read it"),
            // A token is enough to publish another identity key under our name.
            Secret::Token => ("your login token", "use it to replace your published key"),
        };
        eprintln!(
            "warning: sending {what} over plain HTTP to {host}; anyone on the network path can \
             {risk} — use an https:// directory"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_to_other_machines_exposes_secrets() {
        let exposes = |u: &str| exposes_secrets(&Url::parse(u).unwrap());
        assert!(exposes("http://chat.example.org:27182/"));
        assert!(exposes("http://192.0.2.1/"));
        assert!(exposes("http://[2001:db8::1]:8/"));
        assert!(!exposes("https://chat.example.org/"));
        assert!(!exposes("http://127.0.0.1:27182/"));
        assert!(!exposes("http://127.8.0.1/"));
        assert!(!exposes("http://[::1]:1/"));
        assert!(!exposes("http://LOCALHOST:1/"));
    }

    #[test]
    fn a_bad_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = extra_roots(&missing).unwrap_err().to_string();
        assert!(
            err.contains(CA_CERT_ENV) && err.contains("missing.pem"),
            "{err}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let err = extra_roots(&empty).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
