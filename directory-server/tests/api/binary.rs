//! The real `p2p-chat-directory` binary: command line, startup errors, serving, shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_p2p-chat-directory");

/// Bounds a broken test; a healthy binary prints its line within milliseconds.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

pub(crate) fn directory() -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "P2P_CHAT_DIRECTORY_LISTEN",
        "P2P_CHAT_DIRECTORY_DATABASE",
        "P2P_CHAT_DIRECTORY_BCRYPT_COST",
        "P2P_CHAT_DIRECTORY_PRESENCE_WINDOW_SECS",
        "P2P_CHAT_DIRECTORY_TOKEN_TTL_DAYS",
        "P2P_CHAT_DIRECTORY_TLS_CERT",
        "P2P_CHAT_DIRECTORY_TLS_KEY",
        "P2P_CHAT_DIRECTORY_TRUSTED_PROXIES",
        "P2P_CHAT_DIRECTORY_RATE_LIMIT_PER_MINUTE",
        "P2P_CHAT_DIRECTORY_RATE_LIMIT_BURST",
        "P2P_CHAT_DIRECTORY_PUBLIC_LISTING",
        "P2P_CHAT_DIRECTORY_REGISTRATION",
        "P2P_CHAT_DIRECTORY_CONFIG",
    ] {
        command.env_remove(var);
    }
    command
}

pub(crate) fn run(args: &[&str]) -> Output {
    directory().args(args).output().expect("run the binary")
}

pub(crate) fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A raw HTTP/1.1 request; returns the whole response.
fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    response
}

/// Starts the binary and waits for its "listening on" line; returns the URL it names.
pub(crate) fn launch(mut command: Command, args: &[&str]) -> (Child, String) {
    command.stderr(Stdio::null());
    launch_logging(command, args)
}

/// [`launch`] with the log (stderr) as the caller set it up on `command`.
pub(crate) fn launch_logging(mut command: Command, args: &[&str]) -> (Child, String) {
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the binary");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STARTUP_DEADLINE).expect("listening line");
    let url = line
        .trim_end()
        .strip_prefix("p2p-chat-directory listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, url.to_owned())
}

/// Starts the binary over plain HTTP; returns the address it listens on.
fn start(args: &[&str]) -> (Child, SocketAddr) {
    let (child, url) = launch(directory(), args);
    let addr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http URL: {url:?}"))
        .parse()
        .expect("socket address");
    (child, addr)
}

#[test]
fn help_documents_every_option_and_its_variable() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--listen",
        "P2P_CHAT_DIRECTORY_LISTEN",
        "127.0.0.1:27182",
        "--database",
        "P2P_CHAT_DIRECTORY_DATABASE",
        "sqlite://p2p-chat-directory.db",
        "--bcrypt-cost",
        "P2P_CHAT_DIRECTORY_BCRYPT_COST",
        "--presence-window-secs",
        "P2P_CHAT_DIRECTORY_PRESENCE_WINDOW_SECS",
        "--token-ttl-days",
        "P2P_CHAT_DIRECTORY_TOKEN_TTL_DAYS",
        "--tls-cert",
        "P2P_CHAT_DIRECTORY_TLS_CERT",
        "--tls-key",
        "P2P_CHAT_DIRECTORY_TLS_KEY",
        "--trusted-proxy",
        "P2P_CHAT_DIRECTORY_TRUSTED_PROXIES",
        "--rate-limit-per-minute",
        "P2P_CHAT_DIRECTORY_RATE_LIMIT_PER_MINUTE",
        "--rate-limit-burst",
        "P2P_CHAT_DIRECTORY_RATE_LIMIT_BURST",
        "--public-listing",
        "P2P_CHAT_DIRECTORY_PUBLIC_LISTING",
        "--mailbox-max-messages",
        "P2P_CHAT_DIRECTORY_MAILBOX_MAX_MESSAGES",
        "--mailbox-max-bytes",
        "P2P_CHAT_DIRECTORY_MAILBOX_MAX_BYTES",
        "--mailbox-max-message-bytes",
        "P2P_CHAT_DIRECTORY_MAILBOX_MAX_MESSAGE_BYTES",
        "--mailbox-ttl-days",
        "P2P_CHAT_DIRECTORY_MAILBOX_TTL_DAYS",
        "--registration",
        "P2P_CHAT_DIRECTORY_REGISTRATION",
        "[default: invite]",
        "invite",
        "users",
        "backup",
        "directory",
        "RUST_LOG",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn bad_option_values_are_named() {
    for (args, needle) in [
        (&["--listen", "not-an-address"][..], "--listen"),
        (&["--bcrypt-cost", "99"][..], "--bcrypt-cost"),
        (&["--token-ttl-days", "zero"][..], "--token-ttl-days"),
        (
            &["--mailbox-max-message-bytes", "65537"][..],
            "--mailbox-max-message-bytes",
        ),
        (&["--mailbox-ttl-days", "0"][..], "--mailbox-ttl-days"),
        (&["--relay", "maybe"][..], "--relay"),
        (&["--max-connections", "0"][..], "--max-connections"),
        (&["--header-timeout-secs", "0"][..], "--header-timeout-secs"),
        (&["--registration", "sometimes"][..], "--registration"),
    ] {
        let output = run(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(needle) && stderr.contains("invalid value"),
            "{stderr}"
        );
    }
    let output = directory()
        .env("P2P_CHAT_DIRECTORY_LISTEN", "nonsense")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nonsense"));
}

#[test]
fn startup_errors_are_one_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = dir.path().join("d.db");
    let url = format!("sqlite://{}", db.display());
    let output = run(&["--listen", &addr, "--database", &url]);
    assert!(!output.status.success());
    assert!(!db.exists(), "no database file is left behind");
    assert!(output.stdout.is_empty(), "no listening line");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("cannot listen on") && lines[0].contains(&addr),
        "{lines:?}"
    );

    let db = format!("sqlite://{}/missing/d.db", dir.path().display());
    let output = run(&["--listen", "127.0.0.1:0", "--database", &db]);
    assert!(!output.status.success());
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot open database"), "{lines:?}");

    let output = run(&["--listen", "127.0.0.1:0", "--database", "mysql://h/db"]);
    assert!(!output.status.success());
    assert!(stderr_lines(&output)[0].contains("unsupported database URL scheme"));

    // A PostgreSQL server that is not there: the cause, at once, and no password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://dir:s3cret@127.0.0.1:{port}/directory");
    let output = run(&["--listen", "127.0.0.1:0", "--database", &url]);
    assert!(!output.status.success());
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "cannot open database postgres://dir:***@127.0.0.1:{port}/"
        )) && lines[0].contains("database unavailable")
            && lines[0].contains("refused"),
        "{lines:?}"
    );
    assert!(!lines[0].contains("s3cret"), "{lines:?}");
}

#[test]
fn the_binary_serves_on_the_address_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/d.db", dir.path().display());
    let (mut child, addr) = start(&["--listen", "127.0.0.1:0", "--database", &db]);
    assert_ne!(addr.port(), 0);

    let response = http(
        addr,
        "GET /ping HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\npong"), "{response}");
    let response = http(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    );
    assert!(response.contains("{\"status\":\"ok\"}"), "{response}");
    assert!(
        dir.path().join("d.db").exists(),
        "database created on first start"
    );

    stop(&mut child);
}

/// Asks for a graceful shutdown with SIGTERM and checks that the process exits cleanly.
#[cfg(unix)]
pub(crate) fn stop(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[cfg(not(unix))]
pub(crate) fn stop(child: &mut Child) {
    child.kill().expect("kill");
    let _ = child.wait();
}

#[test]
fn routine_requests_stay_out_of_the_default_log() {
    let mut command = directory();
    command.env_remove("RUST_LOG").stderr(Stdio::piped());
    let (mut child, url) = launch_logging(
        command,
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite::memory:",
            "--bcrypt-cost",
            "4",
            "--registration",
            "open",
        ],
    );
    let addr: SocketAddr = url.trim_start_matches("http://").parse().expect("address");
    let key = "ab".repeat(32);
    let body = format!(
        r#"{{"username":"alice","password":"correct horse","host":"192.0.2.1","public_key":"{key}"}}"#
    );
    let response = http(
        addr,
        &format!(
            "POST /register HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    for _ in 0..3 {
        let response = http(
            addr,
            "GET /clients/alice HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        );
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let response = http(
        addr,
        "GET /clients/nobody HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
    stop(&mut child);
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read the log");
    assert!(log.contains("registered"), "a change is logged:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("request refused") && l.contains("/clients/nobody")),
        "a refusal is logged:\n{log}"
    );
    assert!(
        !log.contains("/clients/alice"),
        "successful lookups are routine:\n{log}"
    );
}
