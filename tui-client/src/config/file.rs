//! The config file's shape (TOML, every key optional) and its in-place editing.
//!
//! Reading goes through serde with unknown keys refused, so a typo is an error that names the
//! file, line and key rather than a setting silently ignored. Writing (a setting changed in
//! the chat window) edits the document with `toml_edit`, which keeps the user's comments,
//! order and layout, and replaces the file atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Deserializer};

use crate::app::keys::table::COMMANDS;
use crate::app::keys::{Keymap, Sequence, parse_sequence};

/// The config file as written by the user: `None` where a key is absent.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FileConfig {
    /// `listen = "IP:PORT"`.
    #[serde(default, deserialize_with = "listen")]
    pub listen: Option<SocketAddr>,
    /// `bell = true|false`.
    pub bell: Option<bool>,
    /// `refuse_strangers = true|false`.
    pub refuse_strangers: Option<bool>,
    /// `port_mapping = true|false`.
    pub port_mapping: Option<bool>,
    /// `relay_only = true|false`.
    pub relay_only: Option<bool>,
    /// `read_receipts = true|false`.
    pub read_receipts: Option<bool>,
    /// `mute = ["bob", …]`: chats that never notify.
    #[serde(default, deserialize_with = "usernames")]
    pub mute: Option<BTreeSet<String>>,
    /// `timestamp_format = "%H:%M"` (chrono's strftime syntax).
    #[serde(default, deserialize_with = "timestamp_format")]
    pub timestamp_format: Option<String>,
    /// `theme = "dark"|"light"`.
    pub theme: Option<super::Theme>,
    /// `notifications = "auto"|"desktop"|"terminal"|"off"`.
    pub notifications: Option<crate::notify::Setting>,
    /// `notification_text = true|false`: show the message's text, not only its sender.
    pub notification_text: Option<bool>,
    /// `typing = true|false`: tell peers while typing.
    pub typing: Option<bool>,
    /// `download_dir = "PATH"`: where received files are saved (`~/` is the home directory).
    pub download_dir: Option<String>,
    /// `auto_accept_bytes = N`: take files up to N bytes from verified contacts unasked.
    pub auto_accept_bytes: Option<u64>,
    /// `[keys]`: `action = ["Key", …]` rebinds an action (see `app::keys::table`).
    #[serde(default, deserialize_with = "keys")]
    pub keys: Option<KeyOverrides>,
}

/// The `[keys]` table: the actions it names and the keymap they make with the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOverrides {
    /// The actions the file rebinds, with their keys.
    pub names: BTreeMap<String, Vec<Sequence>>,
    /// The defaults with those changes.
    pub keymap: Keymap,
}

/// An action name of `[keys]`, checked against the table of actions.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ActionName(String);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if COMMANDS.iter().any(|c| c.name == name) {
            return Ok(Self(name));
        }
        let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        Err(serde::de::Error::custom(format!(
            "{name:?} is not an action; the actions are: {}",
            names.join(", ")
        )))
    }
}

/// One key sequence of `[keys]` ("Ctrl+N", "Ctrl+X Ctrl+E").
struct KeySpec(Sequence);

impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let sequence = parse_sequence(&raw).map_err(serde::de::Error::custom)?;
        if sequence.iter().any(|k| k.is_typing()) {
            return Err(serde::de::Error::custom(format!(
                "{raw:?} types a character (no Ctrl or Alt), so it cannot be bound"
            )));
        }
        Ok(Self(sequence))
    }
}

fn keys<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KeyOverrides>, D::Error> {
    let raw = BTreeMap::<ActionName, Vec<KeySpec>>::deserialize(d)?;
    let names: BTreeMap<String, Vec<Sequence>> = raw
        .into_iter()
        .map(|(name, specs)| (name.0, specs.into_iter().map(|s| s.0).collect()))
        .collect();
    // Clashes involve two actions: reported on the table, naming both.
    let keymap =
        Keymap::with(&names).map_err(|e| serde::de::Error::custom(format!("[keys]: {e}")))?;
    Ok(Some(KeyOverrides { names, keymap }))
}

fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let raw = String::deserialize(d)?;
    crate::cli::parse_listen(&raw)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn usernames<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeSet<String>>, D::Error> {
    let raw = Vec::<String>::deserialize(d)?;
    raw.iter()
        .map(|name| {
            p2p_chat_protocol::validate::username(name).map_err(|e| {
                serde::de::Error::custom(format!("{name:?} is not a username: {}", e.message))
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()
        .map(Some)
}

fn timestamp_format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw = String::deserialize(d)?;
    super::check_timestamp_format(&raw)
        .map(|()| Some(raw))
        .map_err(serde::de::Error::custom)
}

/// Parses the text of a config file.
///
/// # Errors
/// The parser's message: line and column, the offending line with a caret, and what is wrong
/// (an unknown key with the keys that exist, a value of the wrong type, a bad address).
pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml_edit::de::from_str(text).map_err(|e| {
        // Not every mistake is one of TOML's syntax: the position says enough.
        let message = e.to_string();
        message
            .strip_prefix("TOML parse error at ")
            .unwrap_or(&message)
            .trim_end()
            .to_owned()
    })
}

/// One change to write back into the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `read_receipts = on`.
    ReadReceipts(bool),
    /// Adds (`true`) or removes a username from `mute`.
    Mute(String, bool),
}

/// Applies `change` to the config file at `path` (created, with its folder, when absent),
/// keeping everything else in it as it was; the new file replaces the old one atomically.
///
/// # Errors
/// The file cannot be read, is not valid TOML (it is then left alone), or cannot be written.
pub fn write_change(path: &Path, change: &Change) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML, left as it is: {e}", path.display()))?;
    match change {
        Change::ReadReceipts(on) => {
            doc["read_receipts"] = toml_edit::value(*on);
        }
        Change::Mute(name, muted) => {
            let mut names: BTreeSet<String> = doc
                .get("mute")
                .and_then(toml_edit::Item::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if *muted {
                names.insert(name.clone());
            } else {
                names.remove(name);
            }
            let array: toml_edit::Array = names.iter().map(String::as_str).collect();
            doc["mute"] = toml_edit::value(array);
        }
    }
    write_atomically(path, doc.to_string().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let text = r#"
# mine
listen = "127.0.0.1:4000"
bell = false
read_receipts = true
mute = ["bob", "carol"]
timestamp_format = "%H:%M:%S"
theme = "light"
"#;
        let file = parse(text).unwrap();
        assert_eq!(file.listen, Some("127.0.0.1:4000".parse().unwrap()));
        assert_eq!(file.bell, Some(false));
        assert_eq!(file.theme, Some(super::super::Theme::Light));
        assert_eq!(file.mute.unwrap().len(), 2);
        assert_eq!(parse("").unwrap(), FileConfig::default());
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let cases = [
            ("bell = true\nbel = false\n", "line 2", "bel"),
            ("\n\nlisten = \"localhost:1\"\n", "line 3", "listen"),
            ("theme = \"blue\"\n", "line 1", "theme"),
            ("bell = \"yes\"\n", "line 1", "bell"),
            ("mute = [\"../x\"]\n", "line 1", "mute"),
            ("timestamp_format = \"%Q\"\n", "line 1", "timestamp_format"),
            ("bell = \n", "line 1", "bell"),
            ("[keys]\nnext-chat = [\"Hyper+X\"]\n", "line 2", "next-chat"),
            (
                "[keys]\nquit = [\"F2\"]\nredraw = [\"a\"]\n",
                "line 3",
                "redraw",
            ),
            (
                "[keys]\nquit = [\"F1\"]\nnext-chatt = [\"F3\"]\n",
                "line 3",
                "next-chatt",
            ),
            ("[keys]\nredraw = [\"Ctrl+N\"]\n", "line 1", "redraw"),
        ];
        for (text, line, key) in cases {
            let err = parse(text).unwrap_err();
            println!("{err}\n---");
            assert!(err.contains(line), "{text:?}: {err}");
            assert!(err.contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn changes_keep_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        write_change(&path, &Change::ReadReceipts(true)).unwrap();
        assert_eq!(
            parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap()
                .read_receipts,
            Some(true)
        );
        std::fs::write(
            &path,
            "# my notes\nbell = false # quiet\nmute = [\"dave\"]\n",
        )
        .unwrap();
        write_change(&path, &Change::Mute("bob".into(), true)).unwrap();
        write_change(&path, &Change::Mute("dave".into(), false)).unwrap();
        write_change(&path, &Change::ReadReceipts(false)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("# my notes") && text.contains("# quiet"),
            "{text}"
        );
        let file = parse(&text).unwrap();
        assert_eq!(file.mute, Some(BTreeSet::from(["bob".to_owned()])));
        assert_eq!((file.bell, file.read_receipts), (Some(false), Some(false)));
        // A broken file is never overwritten.
        std::fs::write(&path, "bell = = \n").unwrap();
        assert!(write_change(&path, &Change::ReadReceipts(true)).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "bell = = \n");
    }
}
