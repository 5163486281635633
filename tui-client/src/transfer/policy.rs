//! Which offers are taken without asking: one pure function for the chat window and `listen`.

use std::path::PathBuf;

use p2p_chat_protocol::transfer::{CancelReason, offer_problem};

/// What a user configured about incoming files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Take every valid offer into this directory (`listen --accept-files DIR`).
    pub accept_into: Option<PathBuf>,
    /// Where files are saved otherwise: the user's download directory or the configured one.
    pub download_dir: PathBuf,
    /// Take offers from contacts whose key the user verified, up to this many bytes, without
    /// asking (`auto_accept_bytes`; 0 turns it off).
    pub auto_accept_bytes: u64,
}

/// What to do with an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Take it into this directory.
    Accept(PathBuf),
    /// Ask the user.
    Ask,
    /// Refuse it with this reason.
    Refuse(CancelReason),
}

/// Decides about an offer of `name`, `size` bytes, from a peer whose key the user verified
/// (`verified`) or not.
pub fn decide(rules: &Rules, name: &str, size: u64, verified: bool) -> Decision {
    if let Some(detail) = offer_problem(name, size) {
        return Decision::Refuse(CancelReason::Invalid { detail });
    }
    if let Some(dir) = &rules.accept_into {
        return Decision::Accept(dir.clone());
    }
    if verified && rules.auto_accept_bytes > 0 && size <= rules.auto_accept_bytes {
        return Decision::Accept(rules.download_dir.clone());
    }
    Decision::Ask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_of_rules_and_offers() {
        let downloads = PathBuf::from("/home/u/Downloads");
        let asking = Rules {
            accept_into: None,
            download_dir: downloads.clone(),
            auto_accept_bytes: 1000,
        };
        let listen = Rules {
            accept_into: Some(PathBuf::from("/srv/in")),
            ..asking.clone()
        };
        let off = Rules {
            auto_accept_bytes: 0,
            ..asking.clone()
        };
        let cases = [
            (&asking, "a", 10, true, Decision::Accept(downloads.clone())),
            (
                &asking,
                "a",
                1000,
                true,
                Decision::Accept(downloads.clone()),
            ),
            (&asking, "a", 1001, true, Decision::Ask),
            (&asking, "a", 10, false, Decision::Ask),
            (&off, "a", 10, true, Decision::Ask),
            (&off, "a", 0, true, Decision::Ask),
            (
                &listen,
                "a",
                1 << 30,
                false,
                Decision::Accept("/srv/in".into()),
            ),
        ];
        for (rules, name, size, verified, expected) in cases {
            assert_eq!(
                decide(rules, name, size, verified),
                expected,
                "{size} {verified}"
            );
        }
        for rules in [&asking, &listen] {
            assert!(matches!(
                decide(rules, "", 1, true),
                Decision::Refuse(CancelReason::Invalid { .. })
            ));
            assert!(matches!(
                decide(rules, "a", u64::MAX, true),
                Decision::Refuse(CancelReason::Invalid { .. })
            ));
        }
    }
}
