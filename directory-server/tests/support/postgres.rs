//! A throwaway PostgreSQL server for tests, and a fresh database for each test.
//!
//! The first call to [`database`] in a test process runs `initdb` in a new temporary folder and
//! starts `postgres` on a free loopback port (as the `postgres` user when the tests run as
//! root: `initdb` refuses root). A small watchdog shell stops the server and deletes the folder
//! once the test process is gone, however it ended. The cluster's default collation is ICU's
//! `en-US`, as on a typical production server, so the byte order the API promises for
//! usernames holds only where the schema asks for it (`COLLATE "C"`).
//!
//! Needs Debian's `postgresql` package (README's test command, `./test.sh`, installs it).

#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running test server.
struct Server {
    bin: PathBuf,
    port: u16,
    /// The watchdog shell; it outlives this process on purpose (it cleans up after it).
    _watchdog: std::process::Child,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// The URL of a new, empty database on the test server (started on first use), e.g.
/// `postgres://postgres@127.0.0.1:41234/test_7`.
///
/// # Panics
/// When PostgreSQL is not installed or does not start; the message says what to do.
pub fn database() -> String {
    let server = SERVER.get_or_init(start);
    let name = format!("test_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let out = Command::new(server.bin.join("createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            &name,
        ])
        .output()
        .expect("run createdb");
    assert!(
        out.status.success(),
        "createdb {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
}

/// One of PostgreSQL's client programs (`pg_dump`, `pg_restore`, `psql`, …) aimed at the test
/// server as its superuser: `-h 127.0.0.1 -p PORT -U postgres` are given; add the rest.
pub fn tool(program: &str) -> Command {
    let server = SERVER.get_or_init(start);
    let mut command = Command::new(server.bin.join(program));
    command.args([
        "-h",
        "127.0.0.1",
        "-p",
        &server.port.to_string(),
        "-U",
        "postgres",
    ]);
    command
}

/// The database name at the end of a URL from [`database`].
pub fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// The folder of PostgreSQL's server programs: the newest `/usr/lib/postgresql/N/bin` (where
/// Debian puts them), else the folder of `pg_ctl` on the PATH.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").exists())
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server programs (initdb, postgres) are missing: run the tests \
                 with ./test.sh, which installs Debian's postgresql package"
            )
        })
}

/// Whether this process runs as root (then the server runs as `postgres`): `/proc/self`
/// belongs to the process's effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// `program args…` as the `postgres` user when root, else as this user.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

#[expect(
    clippy::zombie_processes,
    reason = "the watchdog outlives the test process by design: it stops the server afterwards"
)]
fn start() -> Server {
    let bin = bin_dir();
    let dir = tempfile::Builder::new()
        .prefix("p2p-chat-postgres-")
        .tempdir()
        .expect("temporary folder")
        .keep();
    if is_root() {
        let out = Command::new("chown")
            .args(["postgres:"])
            .arg(&dir)
            .output()
            .expect("run chown");
        assert!(
            out.status.success(),
            "chown postgres {}: {} (the tests run PostgreSQL as the `postgres` user, which \
             Debian's postgresql package creates)",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C.UTF-8",
            "--locale-provider=icu",
            "--icu-locale=en-US",
        ])
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    // The watchdog: start the server, wait while this test process lives, then stop the
    // server fast and delete its folder.
    let script = r#"
        "$1" -D "$2/data" -k "$2" -p "$3" -c listen_addresses=127.0.0.1 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
            >"$2/server.log" 2>&1 &
        server=$!
        while [ -d "/proc/$4" ] && kill -0 "$server" 2>/dev/null; do sleep 0.5; done
        kill -INT "$server" 2>/dev/null
        wait "$server"
        rm -rf "$2"
    "#;
    let watchdog = as_server_user(Path::new("sh"))
        .args(["-c", script, "watchdog"])
        .arg(bin.join("postgres"))
        .arg(&dir)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start postgres");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let ready = TcpStream::connect(("127.0.0.1", port)).is_ok()
            && Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
        if ready {
            return Server {
                bin,
                port,
                _watchdog: watchdog,
            };
        }
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not start within {START_TIMEOUT:?}; its log: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
