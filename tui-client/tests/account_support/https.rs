//! The real `p2p-chat-directory` binary serving HTTPS with a certificate from a private CA the
//! test creates, and the real client trusting that CA through `P2P_CHAT_CA_CERT`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use p2p_chat_protocol::api::ClientRecord;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tempfile::TempDir;

use crate::account_support::{PASSWORD, p2p_env, register_args};

/// Bounds a broken test; a healthy directory prints its line within milliseconds.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// `ca.pem` (a CA certificate), and `cert.pem` + `key.pem` for 127.0.0.1 signed by it.
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "p2p-chat test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}

/// The directory binary, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn directory_binary() -> PathBuf {
    let client = PathBuf::from(env!("CARGO_BIN_EXE_p2p-chat"));
    let bin = client.with_file_name(format!(
        "p2p-chat-directory{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p p2p-chat-directory`, or run the tests \
         with `cargo test --workspace`)",
        bin.display()
    );
    bin
}

fn serve_https(cert: &Path, key: &Path) -> Server {
    let mut child = Command::new(directory_binary())
        .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .args(["--bcrypt-cost", "4", "--rate-limit-per-minute", "0"])
        .args(["--registration", "open"])
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STARTUP_DEADLINE).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("p2p-chat-directory listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server { child, url }
}

#[test]
fn register_and_contacts_over_https_with_a_private_ca() {
    let certs = TempDir::new().unwrap();
    let (ca, cert, key) = private_ca(certs.path());
    let server = serve_https(&cert, &key);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let trust = [("P2P_CHAT_CA_CERT", ca.as_path())];

    let home = TempDir::new().unwrap();
    let home = home.path();
    let out = p2p_env(
        home,
        &register_args("tess", &server.url),
        &format!("{PASSWORD}\n"),
        &trust,
    );
    assert!(
        out.assert_ok().starts_with("Registered tess on https://"),
        "{out:?}"
    );
    assert!(
        !out.stderr.contains("plain HTTP"),
        "no warning over HTTPS: {out:?}"
    );
    let out = p2p_env(home, &["contacts", "--json"], "", &trust);
    let list: Vec<ClientRecord> = serde_json::from_str(out.assert_ok()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].username, "tess");

    // Without the CA the certificate is refused, and nothing is registered.
    let stranger = TempDir::new().unwrap();
    let args = register_args("uma", &server.url);
    let out = p2p_env(stranger.path(), &args, &format!("{PASSWORD}\n"), &[]);
    assert!(!out.success, "{out:?}");
    // The TLS library may log the refusal on a line of its own before our error.
    let last = out.stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: cannot reach the directory"),
        "{out:?}"
    );
    assert!(
        last.contains("UnknownIssuer") || last.contains("certificate"),
        "{out:?}"
    );

    // An unusable CA file is named.
    let missing = certs.path().join("nope.pem");
    let out = p2p_env(
        stranger.path(),
        &args,
        "",
        &[("P2P_CHAT_CA_CERT", missing.as_path())],
    );
    out.assert_error("P2P_CHAT_CA_CERT");
    assert!(out.stderr.contains("nope.pem"), "{out:?}");
}
