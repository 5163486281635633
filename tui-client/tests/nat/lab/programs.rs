//! The programs in the lab: the directory on its public host (started, restarted), clients
//! run or spawned in a namespace, and registration with `--host auto`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{DIRECTORY_IP, DIRECTORY_PORT, Host, Lab};

impl Lab {
    /// Starts the directory on its own public host.
    pub fn directory(&mut self, extra: &[&str]) -> Host {
        let ns = self.namespace("dir");
        self.plug(&ns, DIRECTORY_IP);
        let host = Host {
            ns,
            ip: DIRECTORY_IP.to_owned(),
        };
        self.directory_args = extra.iter().map(|s| (*s).to_owned()).collect();
        self.start_directory(&host);
        host
    }

    /// Kills the directory (SIGKILL: no goodbye to anyone) and starts it again on the same
    /// database, waiting until it answers.
    pub fn restart_directory(&mut self, host: &Host) {
        let mut old = self.directory.take().expect("a running directory");
        let _ = old.kill();
        let _ = old.wait();
        self.start_directory(host);
    }

    fn start_directory(&mut self, host: &Host) {
        let db = format!(
            "sqlite://{}",
            self.dir.path().join("directory.db").display()
        );
        let listen = format!("{DIRECTORY_IP}:{DIRECTORY_PORT}");
        let mut args = vec![
            "--listen",
            &listen,
            "--database",
            &db,
            "--bcrypt-cost",
            "4",
            "--rate-limit-per-minute",
            "0",
            "--registration",
            "open",
        ];
        let extra = self.directory_args.clone();
        args.extend(extra.iter().map(String::as_str));
        self.directory = Some(self.spawn(&host.ns, &directory_bin(), &args, Stdio::null()));
        // Wait until it answers on the lab's internet.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.reachable(host, DIRECTORY_PORT) {
            assert!(Instant::now() < deadline, "the directory never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn reachable(&self, host: &Host, port: u16) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &host.ns, "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{}/{port}", host.ip))
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Spawns `program args...` in namespace `ns`.
    pub fn spawn(&self, ns: &str, program: &Path, args: &[&str], stdout: Stdio) -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in a namespace")
    }

    /// Keeps `child` to kill when the lab goes.
    pub fn keep(&mut self, child: Child) {
        self.processes.push(child);
    }

    /// Runs the client in `host`'s namespace with profile `home` and waits for it.
    pub fn client(&self, host: &Host, home: &Path, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(client_bin())
            .arg("--home")
            .arg(home)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .output()
            .expect("run the client in a namespace")
    }

    /// Registers `name` from `host` with `--host auto` (the address the directory sees).
    pub fn register(&self, host: &Host, name: &str) -> PathBuf {
        let home = self.dir.path().join(name);
        let server = format!("http://{DIRECTORY_IP}:{DIRECTORY_PORT}");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &host.ns])
            .arg(client_bin())
            .arg("--home")
            .arg(&home)
            .args([
                "register",
                name,
                "--server",
                &server,
                "--host",
                "auto",
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("register");
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"correct horse battery\n");
        let out = child.wait_with_output().expect("register");
        assert!(
            out.status.success(),
            "register {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    }
}

/// The client binary.
pub fn client_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_p2p-chat"))
}

/// The directory binary, built next to the client (`cargo test --workspace`).
pub fn directory_bin() -> PathBuf {
    client_bin().with_file_name("p2p-chat-directory")
}
