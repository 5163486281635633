//! File transfers between the real binaries: `send-file` to `listen --accept-files`, a
//! 1 GiB file arriving whole after the receiver and then the sender were killed mid-transfer.
//! The chat windows' transfers are in `file_windows.rs`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::procs::{Running, client_bin, free_port};

/// Bound for a step of a transfer of 1 GiB on a slow machine; only reached on failure.
pub const PATIENCE: Duration = Duration::from_secs(240);

/// A temporary directory for large files: in memory (`/dev/shm`) where there is one, so a
/// gibibyte or three do not fill a small disk.
pub fn big_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

/// Writes `len` pseudo-random bytes (xorshift64*, so every chunk differs) to `path`; returns
/// their SHA-256 as hex.
pub fn write_random(path: &Path, len: usize) -> String {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hasher = sha2::Sha256::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        let n = left.min(block.len());
        file.write_all(&block[..n]).unwrap();
        hasher.update(&block[..n]);
        left -= n;
    }
    file.flush().unwrap();
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_of(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex(&hasher.finalize())
}

/// `listen --json --accept-files inbox` as alice on `addr`; its JSON lines arrive on the
/// receiver.
fn receiver(home: &Path, addr: &str, inbox: &Path) -> (Running, Receiver<serde_json::Value>) {
    let log_file = home.join("listen.log");
    let started = || {
        std::fs::read_to_string(&log_file)
            .unwrap_or_default()
            .matches("listening for peers")
            .count()
    };
    let before = started();
    let mut child = Command::new(client_bin())
        .args(["--home", home.to_str().unwrap(), "--listen", addr])
        .args(["listen", "--json", "--name", "alice", "--accept-files"])
        .arg(inbox)
        .env("XDG_CONFIG_HOME", home.join("no-config"))
        .stdout(Stdio::piped())
        .stderr(log(home, "listen"))
        .spawn()
        .unwrap();
    // Peers may dial once it says it listens.
    let deadline = Instant::now() + PATIENCE;
    while started() == before {
        assert!(Instant::now() < deadline, "listen did not start");
        assert!(
            child.try_wait().unwrap().is_none(),
            "listen exited: {}",
            logs(home)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (tx, rx) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    (Running(child), rx)
}

/// `send-file --json --ip addr file` as bob.
fn sender(home: &Path, addr: &str, file: &Path) -> Running {
    let child = Command::new(client_bin())
        .args(["--home", home.to_str().unwrap(), "send-file", "--json"])
        .args(["--ip", addr, "--name", "bob"])
        .arg(file)
        .env("XDG_CONFIG_HOME", home.join("no-config"))
        .env("RUST_LOG", "p2p_chat=debug")
        .stdout(Stdio::piped())
        .stderr(log(home, "send-file"))
        .spawn()
        .unwrap();
    Running(child)
}

/// Standard error of a program, appended to `home/NAME.log` (shown when a step fails).
fn log(home: &Path, name: &str) -> std::fs::File {
    std::fs::create_dir_all(home).unwrap();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join(format!("{name}.log")))
        .unwrap()
}

/// Every log under `dir`, for a failure message.
fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for entry in walk(dir) {
        if entry.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&entry).unwrap_or_default();
            out.push_str(&format!("--- {}\n{text}\n", entry.display()));
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// The next `listen` line about a file of kind `kind` ("started", "done", …); on a timeout
/// the failure shows the logs under `dir`.
fn next_file_line(
    lines: &Receiver<serde_json::Value>,
    kind: &str,
    dir: &Path,
) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            panic!("listen did not report {kind:?} in time\n{}", logs(dir));
        };
        if line["file"] == kind {
            return line;
        }
    }
}

/// Bytes in the partial file(s) of `inbox`.
pub fn partial_bytes(inbox: &Path) -> u64 {
    std::fs::read_dir(inbox)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub fn wait_for_partial(inbox: &Path, bytes: u64) {
    let deadline = Instant::now() + PATIENCE;
    while partial_bytes(inbox) < bytes {
        assert!(
            Instant::now() < deadline,
            "the transfer did not get to {bytes} bytes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill9(child: &mut Running) {
    child.kill().unwrap();
    child.wait().unwrap();
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn a_gibibyte_arrives_whole_after_the_receiver_and_then_the_sender_were_killed() {
    const SIZE: usize = 1 << 30;
    let profiles = tempfile::tempdir().unwrap();
    let (alice, bob) = (profiles.path().join("alice"), profiles.path().join("bob"));
    let big = big_dir();
    let source = big.path().join("holiday video.mp4");
    let sha = write_random(&source, SIZE);
    let inbox = big.path().join("inbox");
    let addr = format!("127.0.0.1:{}", free_port());

    let (mut listening, mut lines) = receiver(&alice, &addr, &inbox);
    let mut sending = sender(&bob, &addr, &source);
    let first = next_file_line(&lines, "started", profiles.path());
    assert_eq!(first["at"], 0);
    assert_eq!(first["size"], SIZE);
    assert_eq!(first["sha256"], sha.as_str());

    // The receiver dies; started again, it takes the rest from where its file ends.
    wait_for_partial(&inbox, 200 << 20);
    kill9(&mut listening);
    let kept = partial_bytes(&inbox);
    (listening, lines) = receiver(&alice, &addr, &inbox);
    let resumed = next_file_line(&lines, "started", profiles.path());
    assert_eq!(resumed["id"], first["id"], "the same transfer resumes");
    assert_eq!(resumed["at"], kept, "it resumes with every byte it kept");

    // The sender dies; the same command again resumes the same offer.
    wait_for_partial(&inbox, 600 << 20);
    kill9(&mut sending);
    let kept = partial_bytes(&inbox);
    let again = sender(&bob, &addr, &source);
    let resumed = next_file_line(&lines, "started", profiles.path());
    assert_eq!(resumed["id"], first["id"], "the same offer resumes");
    // The receiver still wrote what was in flight when the sender died.
    let at = resumed["at"].as_u64().unwrap();
    assert!(at >= kept, "resumed at {at} with {kept} bytes kept");

    let done = next_file_line(&lines, "done", profiles.path());
    let mut again = again;
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut again.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(again.wait().unwrap().success(), "{}", logs(profiles.path()));
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["outcome"], "delivered");
    assert_eq!(summary["sha256"], sha.as_str());
    let saved = PathBuf::from(done["path"].as_str().unwrap());
    assert_eq!(saved, inbox.join("holiday video.mp4"));
    assert_eq!(sha256_of(&saved), sha);
    assert_eq!(files_in(&inbox), vec![saved], "no partial file is left");
    drop(listening);
}
