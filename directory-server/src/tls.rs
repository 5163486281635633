//! HTTPS: the rustls server configuration built from PEM files, always with the *ring* crypto
//! provider (see `shared/DEPENDENCY-NOTES.md`: one provider in the process, never aws-lc-rs).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS configuration could not be built. Messages name the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The certificate file holds no `CERTIFICATE` block, or a malformed one.
    #[error("{} holds no usable PEM certificate: {detail}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        detail: String,
    },
    /// The key file holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error("{} holds no usable PEM private key: {detail}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        detail: String,
    },
    /// rustls refused the pair, e.g. the key does not match the certificate.
    #[error("the certificate and key cannot be used together: {0}")]
    Mismatch(rustls::Error),
}

/// Installs *ring* as the process-wide rustls crypto provider. Idempotent: when a provider is
/// installed already (by an earlier call, or by the embedding program), it is kept.
pub fn install_crypto_provider() {
    // Err only means "already installed", which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The server configuration for a certificate chain (leaf first) and its private key, both
/// PEM files; ALPN offers HTTP/2 and HTTP/1.1.
///
/// # Errors
/// [`TlsError`], naming the file at fault.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let bad_cert = |detail: String| TlsError::Certificate {
        path: cert.to_owned(),
        detail,
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_cert(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad_cert("no BEGIN CERTIFICATE block".into()));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        detail: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(TlsError::Mismatch)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
