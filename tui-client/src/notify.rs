//! Desktop notifications for messages in chats that are not shown: over D-Bus
//! (`org.freedesktop.Notifications`, via notify-rust) where a session bus is reachable on this
//! machine, else the terminal's own notification escape (OSC 777 or OSC 9), which also works
//! over SSH and, passed through, inside tmux. The choice is one pure function, [`choose`].

use std::io::Write;

use serde::Deserialize;

/// `notifications` in the config file.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Desktop notifications where this machine has a session bus and we are not logged in
    /// over SSH, else the terminal's.
    #[default]
    Auto,
    /// Always over D-Bus.
    Desktop,
    /// Always the terminal's escape sequence.
    Terminal,
    /// None (the bell still rings unless `bell = false`).
    Off,
}

/// A terminal notification escape sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Osc {
    /// `OSC 777 ; notify ; TITLE ; BODY` (urxvt's, taken up by foot, VTE, Konsole, Ghostty).
    Notify777,
    /// `OSC 9 ; BODY` (iTerm2's, taken up by kitty, WezTerm, Windows Terminal, ConEmu).
    Growl9,
}

/// How a notification is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Over D-Bus.
    Desktop,
    /// By the terminal; `tmux` wraps it for tmux to pass through.
    Terminal {
        /// Which escape sequence.
        osc: Osc,
        /// Inside tmux.
        tmux: bool,
    },
    /// Not at all.
    Off,
}

/// What [`choose`] looks at, read from the environment by [`Environment::current`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// A D-Bus session bus is reachable (`DBUS_SESSION_BUS_ADDRESS`, or the socket
    /// `$XDG_RUNTIME_DIR/bus`).
    pub session_bus: bool,
    /// Logged in over SSH (`SSH_CONNECTION` or `SSH_TTY`): a bus here is not the user's screen.
    pub ssh: bool,
    /// Inside tmux (`TMUX`).
    pub tmux: bool,
    /// `TERM_PROGRAM`, to pick the escape sequence the terminal knows.
    pub term_program: String,
    /// `TERM`.
    pub term: String,
    /// Windows Terminal or ConEmu (`WT_SESSION` or `ConEmuPID` set).
    pub windows_terminal: bool,
}

impl Environment {
    /// The environment of this process.
    pub fn current() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let text = |name: &str| std::env::var(name).unwrap_or_default();
        let bus_socket = std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| std::path::Path::new(&dir).join("bus").exists());
        Self {
            session_bus: set("DBUS_SESSION_BUS_ADDRESS") || bus_socket,
            ssh: set("SSH_CONNECTION") || set("SSH_TTY"),
            tmux: set("TMUX"),
            term_program: text("TERM_PROGRAM"),
            term: text("TERM"),
            windows_terminal: set("WT_SESSION") || set("ConEmuPID"),
        }
    }
}

/// The method for `setting` in `env`: `auto` is the desktop when a session bus is reachable
/// and we are not over SSH, else the terminal.
pub fn choose(setting: Setting, env: &Environment) -> Method {
    let terminal = Method::Terminal {
        osc: terminal_osc(env),
        tmux: env.tmux,
    };
    match setting {
        Setting::Off => Method::Off,
        Setting::Desktop => Method::Desktop,
        Setting::Terminal => terminal,
        Setting::Auto if env.session_bus && !env.ssh => Method::Desktop,
        Setting::Auto => terminal,
    }
}

/// The sequence the terminal understands: OSC 9 for the terminals known to take it, OSC 777
/// otherwise.
fn terminal_osc(env: &Environment) -> Osc {
    let growl = matches!(env.term_program.as_str(), "iTerm.app" | "WezTerm")
        || env.term.contains("kitty")
        || env.windows_terminal;
    if growl { Osc::Growl9 } else { Osc::Notify777 }
}

/// Most characters of a notification's body.
const MAX_BODY_CHARS: usize = 200;

/// Control characters (which would end the sequence early or inject others) become spaces;
/// `;` too where it separates fields.
fn clean(text: &str, semicolons: bool) -> String {
    text.chars()
        .take(MAX_BODY_CHARS)
        .map(|c| {
            if c.is_control() || (semicolons && c == ';') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The bytes that make the terminal show `title` and `body`.
pub fn sequence(osc: Osc, tmux: bool, title: &str, body: &str) -> String {
    let inner = match osc {
        Osc::Notify777 => format!(
            "\x1b]777;notify;{};{}\x07",
            clean(title, true),
            clean(body, false)
        ),
        Osc::Growl9 => format!("\x1b]9;{}: {}\x07", clean(title, false), clean(body, false)),
    };
    if tmux {
        // tmux passes a DCS "tmux;" sequence through with its escapes doubled (it needs
        // `set -g allow-passthrough on`).
        format!("\x1bPtmux;{}\x1b\\", inner.replace('\x1b', "\x1b\x1b"))
    } else {
        inner
    }
}

/// Shows notifications by the method chosen at start; a desktop notification that fails (no
/// notification daemon) falls back to the terminal for the rest of the run.
#[derive(Clone, Debug)]
pub struct Notifier {
    method: std::sync::Arc<std::sync::Mutex<Method>>,
    env: Environment,
}

impl Notifier {
    /// A notifier for `setting` in this process's environment.
    pub fn new(setting: Setting) -> Self {
        let env = Environment::current();
        Self {
            method: std::sync::Arc::new(std::sync::Mutex::new(choose(setting, &env))),
            env,
        }
    }

    fn method(&self) -> Method {
        self.method.lock().map_or(Method::Off, |m| *m)
    }

    /// Shows `title` / `body`; a desktop notification is sent by a task of its own, so a slow
    /// bus never holds up the chat window.
    pub fn show(&self, title: String, body: String) {
        match self.method() {
            Method::Off => {}
            Method::Terminal { osc, tmux } => write_terminal(&sequence(osc, tmux, &title, &body)),
            Method::Desktop => {
                let this = self.clone();
                tokio::spawn(async move {
                    let shown = notify_rust::Notification::new()
                        .appname("p2p-chat")
                        .summary(&title)
                        .body(&clean(&body, false))
                        .show_async()
                        .await;
                    if shown.is_err() {
                        let (osc, tmux) = (terminal_osc(&this.env), this.env.tmux);
                        if let Ok(mut method) = this.method.lock() {
                            *method = Method::Terminal { osc, tmux };
                        }
                        write_terminal(&sequence(osc, tmux, &title, &body));
                    }
                });
            }
        }
    }
}

/// Best effort, as the bell.
fn write_terminal(bytes: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(bytes.as_bytes()).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desktop_only_with_a_local_session_bus() {
        let desktop = Environment {
            session_bus: true,
            ..Environment::default()
        };
        assert_eq!(choose(Setting::Auto, &desktop), Method::Desktop);
        // D-Bus absent: the terminal's sequence.
        let plain = Environment::default();
        let osc777 = Method::Terminal {
            osc: Osc::Notify777,
            tmux: false,
        };
        assert_eq!(choose(Setting::Auto, &plain), osc777);
        // Over SSH a bus is not the user's screen.
        let ssh = Environment {
            session_bus: true,
            ssh: true,
            ..Environment::default()
        };
        assert_eq!(choose(Setting::Auto, &ssh), osc777);
        assert_eq!(choose(Setting::Desktop, &ssh), Method::Desktop);
        assert_eq!(choose(Setting::Terminal, &desktop), osc777);
        assert_eq!(choose(Setting::Off, &desktop), Method::Off);
        // The terminals that know OSC 9 get it; tmux wraps.
        for env in [
            Environment {
                term_program: "iTerm.app".into(),
                ..Environment::default()
            },
            Environment {
                term: "xterm-kitty".into(),
                ..Environment::default()
            },
            Environment {
                windows_terminal: true,
                ..Environment::default()
            },
        ] {
            assert!(matches!(
                choose(Setting::Auto, &env),
                Method::Terminal {
                    osc: Osc::Growl9,
                    ..
                }
            ));
        }
        let tmux = Environment {
            tmux: true,
            ..Environment::default()
        };
        assert_eq!(
            choose(Setting::Auto, &tmux),
            Method::Terminal {
                osc: Osc::Notify777,
                tmux: true
            }
        );
    }

    #[test]
    fn sequences_are_well_formed_whatever_the_text() {
        assert_eq!(
            sequence(Osc::Notify777, false, "p2p-chat", "message from bob"),
            "\x1b]777;notify;p2p-chat;message from bob\x07"
        );
        assert_eq!(
            sequence(Osc::Growl9, false, "p2p-chat", "message from bob"),
            "\x1b]9;p2p-chat: message from bob\x07"
        );
        assert_eq!(
            sequence(Osc::Notify777, true, "t", "b"),
            "\x1bPtmux;\x1b\x1b]777;notify;t;b\x07\x1b\\"
        );
        // A hostile text cannot end the sequence or start another.
        let evil = sequence(Osc::Notify777, false, "a;b\x07", "x\x1b]0;owned\x07\ny");
        assert_eq!(evil, "\x1b]777;notify;a b ;x ]0;owned  y\x07");
        assert_eq!(evil.matches('\x07').count(), 1);
        assert_eq!(evil.matches('\x1b').count(), 1);
        let long = sequence(Osc::Growl9, false, "t", &"x".repeat(10_000));
        assert!(long.len() < MAX_BODY_CHARS + 20);
    }
}
