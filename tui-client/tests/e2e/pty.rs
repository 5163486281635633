//! A program running in a real pseudo-terminal, with its screen parsed by `vt100`.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// Longest wait for something to appear on a screen; only reached when a test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);
const ROWS: u16 = 30;
const COLS: u16 = 110;

/// A running program in a pseudo-terminal.
pub struct Tui {
    name: String,
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser<Bells>>>,
    /// `XDG_CONFIG_HOME` of the program: settings it saves stay out of the user's own.
    _config: tempfile::TempDir,
}

/// Counts the terminal bells (BEL) the program rang and keeps the terminal notifications
/// (OSC 777 and OSC 9) it sent.
#[derive(Default)]
struct Bells(usize, Vec<String>);

impl vt100::Callbacks for Bells {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.0 += 1;
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        if matches!(params.first().copied(), Some(b"777" | b"9")) {
            let fields: Vec<String> = params
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            self.1.push(fields.join(";"));
        }
    }
}

impl Tui {
    /// Starts `program args...` in a new pseudo-terminal; `name` labels failure messages.
    pub fn spawn(name: &str, program: &Path, args: &[&str]) -> Tui {
        Self::spawn_env(name, program, args, &[])
    }

    /// [`Tui::spawn`] with extra environment variables.
    pub fn spawn_env(name: &str, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pseudo-terminal");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        let config = tempfile::tempdir().expect("config dir");
        cmd.env("XDG_CONFIG_HOME", config.path());
        cmd.env_remove("P2P_CHAT_CONFIG");
        // No D-Bus session and a plain xterm: notifications come as OSC 777 on the terminal.
        cmd.env("XDG_RUNTIME_DIR", config.path());
        for name in [
            "DBUS_SESSION_BUS_ADDRESS",
            "TERM_PROGRAM",
            "TMUX",
            "WT_SESSION",
            "SSH_TTY",
        ] {
            cmd.env_remove(name);
        }
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.env_remove("RUST_LOG");
        let child = pair.slave.spawn_command(cmd).expect("spawn the program");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let rows = std::num::NonZeroU16::new(ROWS).unwrap();
        let cols = std::num::NonZeroU16::new(COLS).unwrap();
        let parser = vt100::Parser::new_with_callbacks(rows, cols, 0, Bells::default());
        let screen = Arc::new(Mutex::new(parser));
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            // Keeps the master alive for as long as the reader runs.
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Tui {
            name: name.to_owned(),
            child,
            writer,
            screen,
            _config: config,
        }
    }

    /// The visible screen as text, one line per row.
    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// How many times the program has rung the terminal bell so far.
    pub fn bells(&self) -> usize {
        self.screen.lock().unwrap().callbacks().0
    }

    /// The terminal notifications sent so far, as `777;notify;TITLE;BODY` or `9;TEXT`.
    pub fn notifications(&self) -> Vec<String> {
        self.screen.lock().unwrap().callbacks().1.clone()
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&mut self, text: &str) {
        self.wait_until(&format!("{text:?} on screen"), |screen| {
            screen.contains(text)
        });
    }

    /// Waits until `check` holds for the screen text.
    pub fn wait_until(&mut self, what: &str, check: impl Fn(&str) -> bool) {
        self.wait_longer(what, PATIENCE, check);
    }

    /// [`Tui::wait_until`] with a patience of its own, for what takes long by design.
    pub fn wait_longer(&mut self, what: &str, patience: Duration, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + patience;
        loop {
            let screen = self.contents();
            if check(&screen) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status:?}) while waiting for {what}; screen:\n{screen}",
                    self.name
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: timed out waiting for {what}; screen:\n{screen}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` (raw bytes: `\r` is Enter, `\x03` is Ctrl+C).
    pub fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Presses Ctrl+C and waits for a successful exit.
    pub fn quit(mut self) {
        self.type_text("\x03");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status:?}", self.name);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit after Ctrl+C:\n{}",
                self.name,
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tui {
    /// Kills the program with SIGKILL, as a crash or a pulled plug would: no goodbye, no
    /// cleanup.
    pub fn crash(mut self) {
        if let Some(pid) = self.child.process_id() {
            let status = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            assert!(status.is_ok_and(|s| s.success()), "kill -9 {pid} failed");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
