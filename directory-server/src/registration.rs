//! Who may register: the [`Registration`] mode, invite codes, and [`admit`], the one rule the
//! `POST /register` handler applies.
//!
//! An invite code is 96 random bits from the operating system, written as 24 lower-case hex
//! digits in groups of four (`3f9a-0c41-…`). The directory keeps only its SHA-256, as for login
//! tokens, so a copy of the database cannot register anyone. A code is read back leniently:
//! upper case, spaces and dashes anywhere are ignored, so a code read aloud or retyped works.

use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::store::TokenHash;

/// Random bytes in an invite code: 12 (96 bits). Guessing one of a thousand live codes at the
/// default rate limit (60 registrations a minute per address) would take about 10^21 years.
pub const INVITE_CODE_BYTES: usize = 12;

/// Hex digits in an invite code, dashes not counted.
pub const INVITE_CODE_HEX_CHARS: usize = INVITE_CODE_BYTES * 2;

/// Who may create an account with `POST /register`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Registration {
    /// Anyone who can reach the directory.
    Open,
    /// Only with an invite code the operator made (`p2p-chat-directory invite create`).
    Invite,
    /// Nobody new: only the existing accounts.
    Closed,
}

impl std::fmt::Display for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::Invite => "invite",
            Self::Closed => "closed",
        })
    }
}

/// A freshly drawn invite code: the text to hand out and the hash to store.
#[derive(Debug)]
pub struct NewInviteCode {
    /// The code as printed, e.g. `3f9a-0c41-9b2e-77d0-a5c3-1e08`.
    pub code: String,
    /// The SHA-256 of its [`normalized`](normalize) form.
    pub hash: TokenHash,
}

/// Draws a new invite code from the operating system's random source.
///
/// # Errors
/// When the random source fails.
pub fn new_invite_code() -> Result<NewInviteCode, getrandom::Error> {
    let mut bytes = [0u8; INVITE_CODE_BYTES];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let code = hex
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    Ok(NewInviteCode {
        hash: hash_normalized(&hex),
        code,
    })
}

/// The stored hash of `code` as a user typed it; `None` unless it is
/// [`INVITE_CODE_HEX_CHARS`] hex digits once spaces and dashes are removed.
pub fn invite_code_hash(code: &str) -> Option<TokenHash> {
    normalize(code).map(|hex| hash_normalized(&hex))
}

/// `code` without spaces and dashes, in lower case; `None` unless that leaves exactly
/// [`INVITE_CODE_HEX_CHARS`] hex digits.
fn normalize(code: &str) -> Option<String> {
    let hex: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == INVITE_CODE_HEX_CHARS && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(hex)
}

fn hash_normalized(hex: &str) -> TokenHash {
    Sha256::digest(hex.as_bytes()).into()
}

/// Whether a registration may go ahead under `mode` with the `invite` code it carries: `Ok`
/// with the hash of the invite to use up (always `None` when registration is open, where a
/// code is ignored), or the error to answer with.
///
/// # Errors
/// [`ApiError::RegistrationClosed`] when closed; [`ApiError::InviteRequired`] when the mode is
/// `invite` and no code came; [`ApiError::InviteInvalid`] for a code that is not one (the
/// store refuses unknown, used-up, expired and revoked codes with the same error).
pub fn admit(mode: Registration, invite: Option<&str>) -> Result<Option<TokenHash>, ApiError> {
    match (mode, invite.map(str::trim).filter(|code| !code.is_empty())) {
        (Registration::Open, _) => Ok(None),
        (Registration::Closed, _) => Err(ApiError::RegistrationClosed),
        (Registration::Invite, None) => Err(ApiError::InviteRequired),
        (Registration::Invite, Some(code)) => invite_code_hash(code)
            .map(Some)
            .ok_or(ApiError::InviteInvalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_code_reads_back_to_its_hash_however_it_is_typed() {
        let new = new_invite_code().expect("random source");
        assert_eq!(new.code.len(), INVITE_CODE_HEX_CHARS + 5, "{}", new.code);
        assert_eq!(invite_code_hash(&new.code), Some(new.hash));
        let retyped = format!(" {} ", new.code.replace('-', " ").to_uppercase());
        assert_eq!(invite_code_hash(&retyped), Some(new.hash));
        let other = new_invite_code().expect("random source");
        assert_ne!(other.hash, new.hash);
    }

    #[test]
    fn codes_of_the_wrong_length_or_alphabet_have_no_hash() {
        for code in [
            "",
            "abc",
            "3f9a-0c41-9b2e-77d0-a5c3-1e0",
            "3f9a-0c41-9b2e-77d0-a5c3-1e08-0",
            "3f9a-0c41-9b2e-77d0-a5c3-1e0g",
            "+f9a-0c41-9b2e-77d0-a5c3-1e08",
            "３f9a-0c41-9b2e-77d0-a5c3-1e08",
        ] {
            assert_eq!(invite_code_hash(code), None, "{code:?}");
        }
    }

    #[test]
    fn admit_applies_each_mode() {
        let code = new_invite_code().expect("random source");
        assert_eq!(admit(Registration::Open, None).ok(), Some(None));
        assert_eq!(admit(Registration::Open, Some(&code.code)).ok(), Some(None));
        assert!(matches!(
            admit(Registration::Closed, Some(&code.code)),
            Err(ApiError::RegistrationClosed)
        ));
        for missing in [None, Some(""), Some("  ")] {
            assert!(matches!(
                admit(Registration::Invite, missing),
                Err(ApiError::InviteRequired)
            ));
        }
        assert!(matches!(
            admit(Registration::Invite, Some("not-a-code")),
            Err(ApiError::InviteInvalid)
        ));
        assert_eq!(
            admit(Registration::Invite, Some(&code.code)).ok(),
            Some(Some(code.hash))
        );
    }
}
