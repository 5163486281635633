//! The user's settings: defaults, the config file, the environment and flags, with one
//! precedence — **flag > environment > file > default** — and a record of where each effective
//! value came from (`p2p-chat config`).
//!
//! The file is `$XDG_CONFIG_HOME/p2p-chat/config.toml` (the platform's config directory, via
//! `directories`), or the one `--config FILE` / `P2P_CHAT_CONFIG` names. Settings the chat
//! window changes (`/receipts`, `/mute`) are written back into it ([`file::write_change`]).
//! The profile's data (keys, history) stays in the data directory ([`crate::profile`]).

pub mod file;
mod report;
mod resolve;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use serde::Deserialize;

use crate::cli::GlobalOpts;
pub use file::{Change, FileConfig};
pub use report::report;
use resolve::resolve;

/// Environment variable naming the config file (as `--config` does).
pub const CONFIG_ENV: &str = "P2P_CHAT_CONFIG";

/// Default `timestamp_format`: hours and minutes (chrono's strftime syntax).
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "%H:%M";

/// Colour theme of the chat window.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Light text colours for a dark terminal background (the default).
    #[default]
    Dark,
    /// Darker text colours for a light terminal background.
    Light,
}

/// Where an effective setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (its name).
    Env(&'static str),
    /// The config file.
    File,
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag => f.write_str("command line"),
            Self::Env(name) => write!(f, "environment {name}"),
            Self::File => f.write_str("config file"),
            Self::Default => f.write_str("default"),
        }
    }
}

/// Settings of the chat window that have no flag (the network ones live in [`GlobalOpts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSettings {
    /// Send read receipts (`/receipts`); off by default, for privacy.
    pub read_receipts: bool,
    /// Chats that count unread messages but never ring or notify (`/mute`).
    pub mute: BTreeSet<String>,
    /// How message times are shown (chrono's strftime syntax).
    pub timestamp_format: String,
    /// The colour theme.
    pub theme: Theme,
    /// `false` when `NO_COLOR` is set: no colours at all, only bold, italic and reverse.
    pub colour: bool,
    /// The key bindings: the defaults with the file's `[keys]` changes.
    pub keys: crate::app::keys::Keymap,
    /// How a message in a chat that is not shown is announced beside the bell.
    pub notifications: crate::notify::Setting,
    /// Whether a notification shows the message's text (off: only who sent it, for privacy).
    pub notification_text: bool,
    /// Whether peers are told while the user types (`Typing`).
    pub typing: bool,
    /// Where received files are saved ([`download_dir`] by default).
    pub download_dir: std::path::PathBuf,
    /// Files up to this many bytes from contacts whose key the user verified are taken
    /// without asking; 0 (the default) asks for every file.
    pub auto_accept_bytes: u64,
}

impl Default for WindowSettings {
    fn default() -> Self {
        Self {
            read_receipts: false,
            mute: BTreeSet::new(),
            timestamp_format: DEFAULT_TIMESTAMP_FORMAT.to_owned(),
            theme: Theme::Dark,
            colour: true,
            keys: crate::app::keys::Keymap::default(),
            notifications: crate::notify::Setting::Auto,
            notification_text: false,
            typing: true,
            download_dir: download_dir(),
            auto_accept_bytes: 0,
        }
    }
}

/// One effective setting as `p2p-chat config` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    /// The key in the config file.
    pub key: &'static str,
    /// The value, written as TOML.
    pub value: String,
    /// Where it came from.
    pub source: Source,
}

/// The loaded configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The config file consulted; changes made in the window are written here.
    pub path: PathBuf,
    /// Whether that file exists.
    pub exists: bool,
    /// The window's settings.
    pub window: WindowSettings,
    /// Every setting with its effective value and source, in the file's order.
    pub effective: Vec<Effective>,
    /// The actions the file's `[keys]` table rebinds.
    pub keys_from_file: BTreeSet<String>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` or `P2P_CHAT_CONFIG` names a file that does not exist.
    #[error(
        "config file {} does not exist: create it (see the README's configuration section) or drop --config / {CONFIG_ENV}",
        .0.display()
    )]
    Missing(PathBuf),
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a bad value.
    #[error("config file {}: {message}\n(fix or remove that line; the README's Configuration section lists every key)", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// The platform has no config directory (no home directory).
    #[error("no config directory on this system: give one with --config FILE")]
    NoConfigDir,
}

/// The default config file: `config.toml` in the platform's config directory for p2p-chat
/// (`$XDG_CONFIG_HOME/p2p-chat/` on Linux).
///
/// # Errors
/// [`ConfigError::NoConfigDir`] when the platform has none.
pub fn default_path() -> Result<PathBuf, ConfigError> {
    let dirs =
        directories::ProjectDirs::from("", "", "p2p-chat").ok_or(ConfigError::NoConfigDir)?;
    Ok(dirs.config_dir().join("config.toml"))
}

/// Where received files are saved by default: the user's download directory
/// (`$XDG_DOWNLOAD_DIR` on Linux, through `directories`), else `Downloads` in the home
/// directory, else `Downloads` in the working directory.
pub fn download_dir() -> PathBuf {
    let user = directories::UserDirs::new();
    user.as_ref()
        .and_then(|u| u.download_dir().map(std::path::Path::to_path_buf))
        .or_else(|| user.as_ref().map(|u| u.home_dir().join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("Downloads"))
}

/// Checks a chrono strftime format.
///
/// # Errors
/// A message naming the format when chrono cannot format with it.
pub fn check_timestamp_format(format: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "{format:?} is not a strftime format (for example \"%H:%M\" or \"%H:%M:%S\")"
        ));
    }
    Ok(())
}

/// Loads the configuration and applies the file's values to `global` wherever neither a flag
/// nor the environment set them; `matches` tells which did.
///
/// # Errors
/// See [`ConfigError`].
pub fn load(matches: &ArgMatches, global: &mut GlobalOpts) -> Result<Config, ConfigError> {
    let (path, named) = match &global.config {
        Some(path) => (path.clone(), true),
        None => (default_path()?, false),
    };
    let (file, exists) = read(&path, named)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(resolve(
        path,
        exists,
        &file,
        |id| matches.value_source(id),
        no_color,
        global,
    ))
}

fn read(path: &Path, named: bool) -> Result<(FileConfig, bool), ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => file::parse(&text)
            .map(|file| (file, true))
            .map_err(|message| ConfigError::Invalid {
                path: path.to_owned(),
                message,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
            Ok((FileConfig::default(), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ConfigError::Missing(path.to_owned()))
        }
        Err(source) => Err(ConfigError::Unreadable {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;
