//! The trust rule: what to do with the key a peer proved, given our pin for the name it
//! claims and what the directory lists for that name. One pure function, [`decide`], used by
//! the chat window (sessions and mail), `send` and `listen`, so all of them agree.
//!
//! The rule, trust on first use (as SSH's `known_hosts`) checked against the directory:
//! - The pinned key: trusted.
//! - A key that matches neither the pin nor the directory's key for the claimed name, arriving
//!   from outside (an incoming session or a sealed mail): an **impostor**. It is refused with
//!   a notice, and the contact it claims to be is left alone — anyone who can reach our port
//!   must not be able to block a chat with a friend.
//! - A key that differs from the pin and that the directory lists for the name, or that a
//!   peer we dialled at its listed address answered with: a **changed key**, which only the
//!   user can accept after checking it; it belongs to that contact's chat.
//! - No pin yet: pinned, unless the directory lists another key for the name (an impostor
//!   when incoming, a changed key when we dialled the listed address), or it cannot be asked
//!   about an incoming peer.

use crate::identity::PublicKey;
use crate::pins::Pin;

/// What the directory says about the claimed name's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listed {
    /// It lists this key for the name.
    Key(PublicKey),
    /// It does not list the name (or lists no usable key).
    Nothing,
    /// There is no directory, or it could not be asked.
    Unknown,
}

/// How the key reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A peer connected to us, or a sealed mail from the mailbox: the name is only a claim.
    Inbound,
    /// We dialled the address the directory lists for the name.
    DialedListed,
    /// We dialled an address the user gave (`--ip`): the peer named itself.
    DialedAddress,
}

/// What to do with the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The pinned key; `verified` when the user compared safety numbers.
    Trusted {
        /// Whether the pin is marked verified.
        verified: bool,
    },
    /// A first contact: pin the key (with a note naming its fingerprint).
    PinNew,
    /// A first contact by address, which the directory cannot vouch for: the chat window asks
    /// the user (`/accept`) before sending; `send` and `listen`, which cannot ask, pin it with
    /// a note.
    NewByAddress,
    /// Not the claimed peer: refuse it with a non-blocking notice and leave the contact with
    /// that name untouched.
    Impostor,
    /// The contact's key changed: refuse until the user accepts `offered` (a blocking warning
    /// in that contact's chat). `expected` is the key we trusted: the pin, or on a first
    /// contact the key the directory lists.
    Changed {
        /// The key we expected.
        expected: PublicKey,
    },
    /// A first incoming contact while the directory cannot be asked: refused, because a pin,
    /// once made, decides all later sessions.
    Unverifiable,
}

/// The decision for `key`, proven by a peer claiming a name for which we hold `pin` and the
/// directory says `listed`, reached through `origin`.
pub fn decide(pin: Option<Pin>, listed: Listed, origin: Origin, key: &PublicKey) -> Decision {
    let listed_other = matches!(listed, Listed::Key(k) if k != *key);
    match (pin, origin) {
        (Some(pin), _) if pin.key == *key => Decision::Trusted {
            verified: pin.verified,
        },
        // Another key than the pin, which the directory confirms: the contact rotated it.
        (Some(pin), _) if listed == Listed::Key(*key) => Decision::Changed { expected: pin.key },
        (Some(_), Origin::Inbound) => Decision::Impostor,
        (Some(pin), Origin::DialedListed | Origin::DialedAddress) => {
            Decision::Changed { expected: pin.key }
        }
        (None, Origin::Inbound) if listed_other => Decision::Impostor,
        (None, Origin::Inbound) if listed == Listed::Unknown => Decision::Unverifiable,
        (None, Origin::Inbound) => Decision::PinNew,
        (None, Origin::DialedListed) => match listed {
            Listed::Key(expected) if expected != *key => Decision::Changed { expected },
            _ => Decision::PinNew,
        },
        (None, Origin::DialedAddress) if listed_other => Decision::Impostor,
        (None, Origin::DialedAddress) if listed == Listed::Key(*key) => Decision::PinNew,
        (None, Origin::DialedAddress) => Decision::NewByAddress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: PublicKey = [1; 32];
    const OTHER: PublicKey = [2; 32];
    const THIRD: PublicKey = [3; 32];

    fn pin(key: PublicKey) -> Option<Pin> {
        Some(Pin {
            key,
            verified: false,
        })
    }

    #[test]
    fn the_pinned_key_is_trusted_whatever_the_directory_says() {
        for listed in [Listed::Key(OTHER), Listed::Nothing, Listed::Unknown] {
            for origin in [Origin::Inbound, Origin::DialedListed, Origin::DialedAddress] {
                assert_eq!(
                    decide(pin(MINE), listed, origin, &MINE),
                    Decision::Trusted { verified: false }
                );
            }
        }
        let verified = Some(Pin {
            key: MINE,
            verified: true,
        });
        assert_eq!(
            decide(verified, Listed::Unknown, Origin::Inbound, &MINE),
            Decision::Trusted { verified: true }
        );
    }

    #[test]
    fn an_inbound_key_neither_pinned_nor_listed_is_an_impostor() {
        for listed in [Listed::Key(THIRD), Listed::Nothing, Listed::Unknown] {
            assert_eq!(
                decide(pin(MINE), listed, Origin::Inbound, &OTHER),
                Decision::Impostor,
                "{listed:?}"
            );
        }
        // No pin, but the directory lists another key for the claimed name.
        assert_eq!(
            decide(None, Listed::Key(MINE), Origin::Inbound, &OTHER),
            Decision::Impostor
        );
        assert_eq!(
            decide(None, Listed::Key(MINE), Origin::DialedAddress, &OTHER),
            Decision::Impostor
        );
    }

    #[test]
    fn a_change_is_shown_only_when_the_directory_confirms_it_or_we_dialled() {
        for origin in [Origin::Inbound, Origin::DialedListed, Origin::DialedAddress] {
            assert_eq!(
                decide(pin(MINE), Listed::Key(OTHER), origin, &OTHER),
                Decision::Changed { expected: MINE }
            );
        }
        for listed in [Listed::Nothing, Listed::Unknown, Listed::Key(MINE)] {
            assert_eq!(
                decide(pin(MINE), listed, Origin::DialedListed, &OTHER),
                Decision::Changed { expected: MINE }
            );
        }
        // First contact at the listed address, answered with another key than listed.
        assert_eq!(
            decide(None, Listed::Key(MINE), Origin::DialedListed, &OTHER),
            Decision::Changed { expected: MINE }
        );
    }

    #[test]
    fn first_contacts() {
        assert_eq!(
            decide(None, Listed::Key(MINE), Origin::Inbound, &MINE),
            Decision::PinNew
        );
        assert_eq!(
            decide(None, Listed::Nothing, Origin::Inbound, &MINE),
            Decision::PinNew
        );
        assert_eq!(
            decide(None, Listed::Unknown, Origin::Inbound, &MINE),
            Decision::Unverifiable
        );
        for listed in [Listed::Key(MINE), Listed::Nothing, Listed::Unknown] {
            assert_eq!(
                decide(None, listed, Origin::DialedListed, &MINE),
                Decision::PinNew
            );
        }
        assert_eq!(
            decide(None, Listed::Key(MINE), Origin::DialedAddress, &MINE),
            Decision::PinNew
        );
        for listed in [Listed::Nothing, Listed::Unknown] {
            assert_eq!(
                decide(None, listed, Origin::DialedAddress, &MINE),
                Decision::NewByAddress
            );
        }
    }
}
