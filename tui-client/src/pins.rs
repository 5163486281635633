//! Pinned peer keys (trust on first use, like SSH's `known_hosts`).
//!
//! The first time we talk to a peer, its proven key is remembered under its username. Later
//! sessions must prove the same key; a different one is refused until the user accepts it
//! explicitly. The pins live in the local store (`store::LocalStore::pins`); this type is the
//! in-memory copy the app decides with.

use std::collections::BTreeMap;

use crate::identity::PublicKey;

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

impl Pins {
    /// The pin of `name`.
    pub fn get(&self, name: &str) -> Option<&Pin> {
        self.map.get(name)
    }

    /// Puts a pin read from the store.
    pub fn insert(&mut self, name: &str, pin: Pin) {
        self.map.insert(name.to_owned(), pin);
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

    /// Pins `key` for `name`, replacing any earlier key (which loses its verified mark);
    /// returns the pin to store.
    pub fn pin(&mut self, name: &str, key: PublicKey) -> Pin {
        let verified = self
            .map
            .get(name)
            .is_some_and(|pin| pin.key == key && pin.verified);
        let pin = Pin { key, verified };
        self.map.insert(name.to_owned(), pin);
        pin
    }

    /// Marks the pinned key of `name` verified; returns the pin to store, `None` when there
    /// is no pin.
    pub fn verify(&mut self, name: &str) -> Option<Pin> {
        let pin = self.map.get_mut(name)?;
        pin.verified = true;
        Some(*pin)
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
        assert!(pins.verify("bob").is_some());
        assert_eq!(pins.check("bob", &[1; 32]), Trust::Verified);
        assert_eq!(
            pins.check("bob", &[2; 32]),
            Trust::Changed { pinned: [1; 32] }
        );
        assert!(
            !pins.pin("bob", [2; 32]).verified,
            "a new key starts unverified"
        );
        assert_eq!(pins.check("bob", &[2; 32]), Trust::Pinned);
        assert!(pins.verify("carol").is_none());
    }
}
