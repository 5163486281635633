//! Helpers of the account tests: an in-process directory and a runner for the binary.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use p2p_chat_directory::{AppState, Settings, open_store, run};
use serde_json::Value;

/// Longest a single run of the binary may take before the test fails.
const RUN_DEADLINE: Duration = Duration::from_secs(60);
/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// A directory with an in-memory store, served until the value is dropped.
pub struct Directory {
    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// The runtime serving it; tests may run more requests on it.
    pub runtime: tokio::runtime::Runtime,
    /// Its store, for the operator's commands.
    pub store: std::sync::Arc<dyn p2p_chat_directory::Store>,
}

/// Starts a directory on 127.0.0.1 with a random port, bcrypt cost 4 (its minimum: the cost
/// is not under test here) and no rate limit.
pub fn directory() -> Directory {
    directory_with(Settings {
        bcrypt_cost: 4,
        rate_limit: None,
        ..Default::default()
    })
}

/// Starts a directory with `settings` on 127.0.0.1 with a random port.
pub fn directory_with(settings: Settings) -> Directory {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (listener, state) = runtime.block_on(async {
        let store = open_store("sqlite::memory:").await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (listener, AppState::new(store, settings))
    });
    let url = format!("http://{}", listener.local_addr().unwrap());
    let store = std::sync::Arc::clone(state.store());
    runtime.spawn(run(listener, state, std::future::pending()));
    Directory {
        url,
        runtime,
        store,
    }
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Output {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its exit status; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Asserts the run failed with exactly one `error: ...` line containing `needle`.
    #[track_caller]
    pub fn assert_error(&self, needle: &str) {
        assert!(!self.success, "expected failure: {self:?}");
        let line = self.stderr.trim_end();
        assert!(line.starts_with("error: "), "{self:?}");
        assert!(!line.contains('\n'), "error is not one line: {self:?}");
        assert!(line.contains(needle), "{needle:?} not in {line:?}");
    }

    /// Asserts the run succeeded and returns its standard output.
    #[track_caller]
    pub fn assert_ok(&self) -> &str {
        assert!(self.success, "expected success: {self:?}");
        &self.stdout
    }
}

/// Runs `p2p-chat --home HOME ARGS...` with `stdin` as standard input.
pub fn p2p(home: &Path, args: &[&str], stdin: &str) -> Output {
    p2p_env(home, args, stdin, &[])
}

/// [`p2p`] with extra environment variables.
pub fn p2p_env(home: &Path, args: &[&str], stdin: &str, env: &[(&str, &Path)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_p2p-chat"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("P2P_CHAT_HOME")
        .env_remove("P2P_CHAT_SERVER")
        .env_remove("P2P_CHAT_LISTEN")
        .env_remove("P2P_CHAT_CA_CERT")
        .env_remove("P2P_CHAT_CONFIG")
        // A config file of the user running the tests must not change them.
        .env("XDG_CONFIG_HOME", home.join("no-config"))
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The binary may exit before reading its input: a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("p2p-chat {args:?} did not finish within {RUN_DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        success: status.success(),
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// `register NAME --server SERVER --host 127.0.0.1 --port 4000 --password-stdin`.
pub fn register_args<'a>(name: &'a str, server: &'a str) -> Vec<&'a str> {
    let tail = ["--host", "127.0.0.1", "--port", "4000", "--password-stdin"];
    [&["register", name, "--server", server][..], &tail].concat()
}

/// The saved profile of `home`, as JSON.
pub fn profile(home: &Path) -> Value {
    let text = std::fs::read_to_string(home.join("profile.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Whether `home` has no profile file.
pub fn no_profile(home: &Path) -> bool {
    !home.join("profile.json").exists()
}
