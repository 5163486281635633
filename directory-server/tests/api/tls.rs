//! HTTPS: `run_tls` in-process and the binary's `--tls-cert`/`--tls-key`, with a self-signed
//! certificate made by the test.

use std::path::{Path, PathBuf};

use p2p_chat_directory::tls::{TlsError, install_crypto_provider, server_config};
use p2p_chat_directory::{AppState, run_tls};
use tokio::sync::oneshot;

use crate::binary::{directory, launch, run, stderr_lines, stop};
use crate::support::{fast_settings, memory_state};

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files into `dir`.
struct SelfSigned {
    cert: PathBuf,
    key: PathBuf,
    pem: String,
}

fn self_signed(dir: &Path) -> SelfSigned {
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).expect("generate certificate");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = made.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    SelfSigned { cert, key, pem }
}

/// A client that trusts only `pem`.
fn client(pem: &str) -> reqwest::Client {
    install_crypto_provider();
    let root = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap()
}

#[tokio::test]
async fn run_tls_serves_https_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let made = self_signed(dir.path());
    let config = server_config(&made.cert, &made.key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state: AppState = memory_state(fast_settings()).await;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (_reload, reloads) = tokio::sync::mpsc::channel(1);
    let server = tokio::spawn(run_tls(listener, state, config, reloads, async {
        let _ = stop_rx.await;
    }));

    let https = client(&made.pem);
    let reply = https
        .get(format!("https://{addr}/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.text().await.unwrap(), "pong");
    let reply = https
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await;
    assert!(reply.unwrap().status().is_success());

    // Plain HTTP to the TLS port gets no HTTP answer; a client without the root refuses.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/ping"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    let other = self_signed(tempfile::tempdir().unwrap().path());
    let untrusted = client(&other.pem)
        .get(format!("https://{addr}/ping"))
        .send()
        .await;
    assert!(
        untrusted.is_err(),
        "a certificate nobody vouched for was accepted"
    );

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[test]
fn bad_certificate_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let made = self_signed(dir.path());
    let other = self_signed(&{
        let sub = dir.path().join("other");
        std::fs::create_dir(&sub).unwrap();
        sub
    });
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all").unwrap();

    let err = server_config(&missing, &made.key).unwrap_err();
    assert!(matches!(err, TlsError::Read { .. }) && err.to_string().contains("missing.pem"));
    let err = server_config(&garbage, &made.key).unwrap_err();
    assert!(matches!(err, TlsError::Certificate { .. }), "{err}");
    let err = server_config(&made.cert, &garbage).unwrap_err();
    assert!(matches!(err, TlsError::Key { .. }), "{err}");
    // Swapped files: the certificate is no key, the key no certificate.
    assert!(server_config(&made.key, &made.cert).is_err());
    let err = server_config(&made.cert, &other.key).unwrap_err();
    assert!(matches!(err, TlsError::Mismatch(_)), "{err}");
}

#[test]
fn the_binary_serves_https_with_both_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let made = self_signed(dir.path());
    let (cert, key) = (made.cert.to_str().unwrap(), made.key.to_str().unwrap());

    for args in [&["--tls-cert", cert][..], &["--tls-key", key]] {
        let output = run(&[&["--listen", "127.0.0.1:0"][..], args].concat());
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--tls-cert") && stderr.contains("--tls-key"),
            "{stderr}"
        );
    }
    let db = dir.path().join("d.db");
    let url = format!("sqlite://{}", db.display());
    let output = run(&[
        "--listen",
        "127.0.0.1:0",
        "--database",
        &url,
        "--tls-cert",
        key,
        "--tls-key",
        key,
    ]);
    assert!(!output.status.success());
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("cannot set up TLS") && lines[0].contains("key.pem"),
        "{lines:?}"
    );
    assert!(!db.exists(), "no database file is left behind");

    // Through the environment, as a service manager would pass them.
    let mut command = directory();
    command
        .env("P2P_CHAT_DIRECTORY_TLS_CERT", cert)
        .env("P2P_CHAT_DIRECTORY_TLS_KEY", key);
    let (mut child, url) = launch(
        command,
        &["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"],
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = runtime.block_on(async {
        let reply = client(&made.pem)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap();
        reply.text().await.unwrap()
    });
    assert_eq!(body, "{\"status\":\"ok\"}");
    stop(&mut child);
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let first = self_signed(dir.path());
    let (cert, key) = (first.cert.to_str().unwrap(), first.key.to_str().unwrap());
    let (mut child, url) = launch(
        directory(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite::memory:",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A fresh client per request: a new connection sees the certificate served now.
    let ping = |pem: &str| {
        runtime.block_on(async {
            client(pem)
                .get(format!("{url}/ping"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    assert_eq!(ping(&first.pem).unwrap(), 200);
    // A client that keeps its connection open across the reload: were the connection dropped,
    // its next request would need a new handshake, which the renewed certificate fails.
    let kept = client(&first.pem);
    let on_kept = || {
        runtime.block_on(async {
            kept.get(format!("{url}/ping"))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    assert_eq!(on_kept().unwrap(), 200);

    // A renewal writes new files in place (certbot's deploy hook copies them there).
    let renewed = self_signed(dir.path());
    assert!(ping(&renewed.pem).is_err(), "not served before the signal");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ping(&renewed.pem).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate is never served"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ping(&first.pem).is_err(), "the old certificate is gone");
    assert_eq!(
        on_kept().unwrap(),
        200,
        "a connection opened before the reload goes on"
    );

    // A broken file on the next reload keeps the current certificate.
    std::fs::write(&renewed.cert, "not a certificate").unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(ping(&renewed.pem).unwrap(), 200);
    stop(&mut child);
}
