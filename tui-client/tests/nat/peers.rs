//! The real clients inside the lab: a user's `listen --json` whose output the test reads, and
//! chat windows in pseudo-terminals.

use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{ChildStderr, ChildStdout, Stdio};

use crate::lab::{Host, Lab, PEER_PORT, client_bin};
use crate::pty::Tui;

/// A running `listen --json`: what it prints on standard output (one message per line) and
/// standard error (its notices), read by the test. The process goes with the lab.
pub struct Listener {
    printed: Lines<BufReader<ChildStdout>>,
    said: Option<Lines<BufReader<ChildStderr>>>,
}

impl Listener {
    /// Starts `listen --json` on the lab's peer port in `host`, with profile `home` and
    /// `options` before the command.
    pub fn start(lab: &mut Lab, host: &Host, home: &Path, options: &[&str]) -> Listener {
        let listen = format!("0.0.0.0:{PEER_PORT}");
        let home = home.to_str().unwrap();
        let mut args = vec!["--home", home, "--listen", &listen];
        args.extend_from_slice(options);
        args.extend_from_slice(&["listen", "--json"]);
        let mut child = lab.spawn(&host.ns, &client_bin(), &args, Stdio::piped());
        let printed = BufReader::new(child.stdout.take().unwrap()).lines();
        let said = BufReader::new(child.stderr.take().unwrap()).lines();
        lab.keep(child);
        Listener {
            printed,
            said: Some(said),
        }
    }

    /// The text of the next message it prints.
    pub fn next_text(&mut self) -> String {
        let line = self.printed.next().expect("listen printed a line").unwrap();
        let message: serde_json::Value = serde_json::from_str(&line).unwrap();
        message["text"].as_str().expect("a text").to_owned()
    }

    /// Waits for a notice containing `what` on standard error; returns it.
    pub fn wait_said(&mut self, what: &str) -> String {
        let said = self
            .said
            .as_mut()
            .expect("standard error is still read here");
        said.find(|line| line.as_ref().is_ok_and(|l| l.contains(what)))
            .unwrap_or_else(|| panic!("listen never said {what:?}"))
            .unwrap()
    }

    /// Reads standard error on in the background from now on, so that the process never
    /// blocks on a full pipe.
    pub fn drain_said(&mut self) {
        if let Some(said) = self.said.take() {
            std::thread::spawn(move || said.for_each(drop));
        }
    }
}

/// The chat window of profile `home` in `host`'s namespace, in a pseudo-terminal, with `args`
/// after the profile (`connect bob`, say).
pub fn window(name: &str, host: &Host, home: &Path, args: &[&str]) -> Tui {
    let client = client_bin();
    let mut full = vec![
        "netns",
        "exec",
        &host.ns,
        client.to_str().unwrap(),
        "--home",
        home.to_str().unwrap(),
    ];
    full.extend_from_slice(args);
    Tui::spawn(name, Path::new("ip"), &full)
}
