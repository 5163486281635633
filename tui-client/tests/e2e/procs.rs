//! The real binaries as child processes: the directory server and one-shot client commands.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The `p2p-chat` binary under test.
pub fn client_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_p2p-chat"))
}

/// The `p2p-chat-directory` binary, built next to `p2p-chat` by `cargo test --workspace`.
pub fn directory_bin() -> PathBuf {
    let bin = client_bin().with_file_name(format!(
        "p2p-chat-directory{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// A free loopback port (bound, read and released; good enough on a test machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `p2p-chat-directory`, killed on drop.
pub struct Directory {
    child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

impl Directory {
    /// Starts the directory on a free loopback port with a database file in `dir`.
    pub fn start(dir: &Path) -> Directory {
        Self::start_at(dir, "127.0.0.1:0")
    }

    /// Starts the directory on `listen` with a database file in `dir` (a restart uses the
    /// same port and file).
    pub fn start_at(dir: &Path, listen: &str) -> Directory {
        Self::start_with(dir, listen, &[])
    }

    /// [`Directory::start_at`] with `extra` options (e.g. `--relay off`).
    pub fn start_with(dir: &Path, listen: &str, extra: &[&str]) -> Directory {
        let db = format!("sqlite://{}", dir.join("directory.db").display());
        Self::start_on(&db, listen, extra)
    }

    /// Starts the directory on `listen` with the database at URL `db` (a PostgreSQL database
    /// several directories may share, say) and `extra` options.
    pub fn start_on(db: &str, listen: &str, extra: &[&str]) -> Directory {
        let mut child = Command::new(directory_bin())
            // Many accounts act from one address within seconds here: no per-address limit.
            .args([
                "--listen",
                listen,
                "--database",
                db,
                "--bcrypt-cost",
                "4",
                "--rate-limit-per-minute",
                "0",
                // The accounts of these tests register without invites.
                "--registration",
                "open",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start p2p-chat-directory");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("p2p-chat-directory listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the directory: {line:?}"))
            .to_owned();
        Directory { child, url }
    }
}

impl Directory {
    /// Kills the directory with SIGKILL.
    pub fn crash(mut self) {
        let status = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status();
        assert!(status.is_ok_and(|s| s.success()));
        let _ = self.child.wait();
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process that is killed (and reaped) when dropped, so a failing test leaves none
/// behind; use it as the [`Child`] it holds.
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `p2p-chat args...` with `stdin` as its input and returns its output.
pub fn run_client(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(client_bin())
        .args(args)
        // A config file of the user running the tests must not change them.
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("p2p-chat-tests-no-config"),
        )
        .env_remove("P2P_CHAT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start p2p-chat");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Registers `name` in the profile `home`, reachable on 127.0.0.1:`port`.
pub fn register(home: &Path, directory: &Directory, name: &str, port: u16) {
    register_at(home, &directory.url, name, port);
}

/// [`register`] with the directory at `url` (behind a proxy, say).
pub fn register_at(home: &Path, url: &str, name: &str, port: u16) {
    let home = home.to_str().unwrap();
    let port = port.to_string();
    let args = [
        "--home",
        home,
        "register",
        name,
        "--server",
        url,
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--password-stdin",
    ];
    let out = run_client(&args, "correct horse battery\n");
    assert!(
        out.status.success(),
        "register {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers alice and bob, each with a profile under `dir` and a free port; returns
/// `(alice_home, alice_port, bob_home, bob_port)`.
pub fn alice_and_bob(dir: &Path, directory: &Directory) -> (PathBuf, u16, PathBuf, u16) {
    let (alice_home, bob_home) = (dir.join("alice"), dir.join("bob"));
    let (alice_port, bob_port) = (free_port(), free_port());
    register(&alice_home, directory, "alice", alice_port);
    register(&bob_home, directory, "bob", bob_port);
    (alice_home, alice_port, bob_home, bob_port)
}

/// `history PEER --json --limit 100000` of the profile `home`: one JSON object per message,
/// oldest first.
pub fn history_json(home: &Path, peer: &str) -> Vec<serde_json::Value> {
    let out = run_client(
        &[
            "--home",
            home.to_str().unwrap(),
            "history",
            peer,
            "--json",
            "--limit",
            "100000",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
