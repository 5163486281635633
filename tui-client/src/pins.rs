//! Pinned peer keys (trust on first use, like SSH's `known_hosts`).
//!
//! The first time we talk to a peer, its proven key is remembered under its username. Later
//! sessions must prove the same key; a different one is refused until the user accepts it
//! explicitly. Kept in `known_peers.json` in the profile directory (mode 0600).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use p2p_chat_protocol::validate::{self, key_hex};
use serde::{Deserialize, Serialize};

use crate::identity::PublicKey;
use crate::profile::write_private_file;

/// Name of the pin file inside the profile directory.
pub const PINS_FILE: &str = "known_peers.json";

/// What we remember about one peer's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The key.
    pub key: PublicKey,
    /// Whether the user compared safety numbers and marked it verified.
    pub verified: bool,
}

/// How a key proven by a peer compares with what we remember.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Never seen this peer: the key will be pinned now.
    New,
    /// The pinned key, not (yet) verified by the user.
    Pinned,
    /// The pinned key, verified by the user.
    Verified,
    /// A different key than the pinned one: refuse until the user accepts it.
    Changed {
        /// The key we remember.
        pinned: PublicKey,
    },
}

/// All pins of a profile, by username.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pins {
    map: BTreeMap<String, Pin>,
}

#[derive(Serialize, Deserialize)]
struct StoredPin {
    public_key: String,
    #[serde(default)]
    verified: bool,
}

impl Pins {
    /// The pin file of the profile in `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(PINS_FILE)
    }

    /// Loads the pins of the profile in `home`; none when the file does not exist.
    ///
    /// # Errors
    /// When the file cannot be read or is corrupt (the message names it).
    pub fn load(home: &Path) -> anyhow::Result<Pins> {
        let path = Self::path(home);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let corrupt = || {
            format!(
                "the pinned keys file {} is corrupt; fix or delete it (every contact will then be new)",
                path.display()
            )
        };
        let stored: BTreeMap<String, StoredPin> =
            serde_json::from_slice(&bytes).with_context(corrupt)?;
        let mut map = BTreeMap::new();
        for (name, pin) in stored {
            let key = validate::public_key(&pin.public_key).with_context(corrupt)?;
            map.insert(
                name,
                Pin {
                    key,
                    verified: pin.verified,
                },
            );
        }
        Ok(Pins { map })
    }

    /// Writes the pins to the profile in `home` (atomically, mode 0600).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, home: &Path) -> anyhow::Result<()> {
        let stored: BTreeMap<&str, StoredPin> = self
            .map
            .iter()
            .map(|(name, pin)| {
                (
                    name.as_str(),
                    StoredPin {
                        public_key: key_hex(&pin.key),
                        verified: pin.verified,
                    },
                )
            })
            .collect();
        let json = serde_json::to_vec_pretty(&stored)?;
        let path = Self::path(home);
        write_private_file(&path, &json).with_context(|| format!("cannot save {}", path.display()))
    }

    /// The pin of `name`.
    pub fn get(&self, name: &str) -> Option<&Pin> {
        self.map.get(name)
    }

    /// How `key`, proven by `name`, compares with the pin.
    pub fn check(&self, name: &str, key: &PublicKey) -> Trust {
        match self.map.get(name) {
            None => Trust::New,
            Some(pin) if pin.key != *key => Trust::Changed { pinned: pin.key },
            Some(pin) if pin.verified => Trust::Verified,
            Some(_) => Trust::Pinned,
        }
    }

    /// Pins `key` for `name`, replacing any earlier key (which loses its verified mark).
    pub fn pin(&mut self, name: &str, key: PublicKey) {
        let verified = self
            .map
            .get(name)
            .is_some_and(|pin| pin.key == key && pin.verified);
        self.map.insert(name.to_owned(), Pin { key, verified });
    }

    /// Marks the pinned key of `name` verified; returns `false` when there is no pin.
    pub fn verify(&mut self, name: &str) -> bool {
        self.map
            .get_mut(name)
            .map(|pin| pin.verified = true)
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_pins_and_a_different_key_is_a_change() {
        let mut pins = Pins::default();
        assert_eq!(pins.check("bob", &[1; 32]), Trust::New);
        pins.pin("bob", [1; 32]);
        assert_eq!(pins.check("bob", &[1; 32]), Trust::Pinned);
        assert!(pins.verify("bob"));
        assert_eq!(pins.check("bob", &[1; 32]), Trust::Verified);
        assert_eq!(
            pins.check("bob", &[2; 32]),
            Trust::Changed { pinned: [1; 32] }
        );
        pins.pin("bob", [2; 32]);
        assert_eq!(
            pins.check("bob", &[2; 32]),
            Trust::Pinned,
            "a new key starts unverified"
        );
        assert!(!pins.verify("carol"));
    }

    #[test]
    fn pins_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Pins::load(dir.path()).unwrap(), Pins::default());
        let mut pins = Pins::default();
        pins.pin("bob", [3; 32]);
        pins.pin("carol", [4; 32]);
        pins.verify("carol");
        pins.save(dir.path()).unwrap();
        assert_eq!(Pins::load(dir.path()).unwrap(), pins);
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            Pins::path(dir.path()),
            br#"{"bob":{"public_key":"nothex"}}"#,
        )
        .unwrap();
        let err = format!("{:#}", Pins::load(dir.path()).unwrap_err());
        assert!(err.contains("corrupt") && err.contains(PINS_FILE), "{err}");
    }
}
