//! Passwords, login tokens and the bearer-token extractor.
//!
//! bcrypt is deliberately slow (about 0.25 s at cost 12), so it never runs on the async
//! workers: every hash and verify goes to threads of its own, `hash_concurrency` of them (half
//! the CPUs by default). Each runs at a lower scheduling priority ([`HASH_NICENESS`]) and
//! within a budget of time ([`HASH_DUTY_PER_SECOND`], with a burst of [`HASH_BURST`]): a few
//! logins on a quiet directory take their usual time, while a registration or login storm
//! gets a bounded share of the CPU and cannot starve the requests that need no hashing
//! (lookups, heartbeats, signaling). A request waits at most [`HASH_WAIT`] for a hashing
//! thread, then is answered 503 with `Retry-After`: a queued registration is answered
//! promptly either way.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{TOKEN_HASH_BYTES, TokenHash};

mod hashing;

pub(crate) use hashing::PasswordHasher;
pub use hashing::{HASH_BURST, HASH_DUTY_PER_SECOND, HASH_NICENESS, HASH_WAIT};

/// Random bytes in a login token: 32 (256 bits), far beyond guessing range.
pub const TOKEN_BYTES: usize = 32;

/// Length of a token as sent to the client: two hex digits per byte.
pub const TOKEN_HEX_CHARS: usize = TOKEN_BYTES * 2;

/// A freshly issued login token.
pub(crate) struct IssuedToken {
    /// What the client gets: [`TOKEN_HEX_CHARS`] lower-case hex digits.
    pub(crate) secret: String,
    /// What the store keeps.
    pub(crate) hash: TokenHash,
}

/// Draws a new random token from the operating system.
///
/// # Errors
/// 500 when the OS random source fails.
pub(crate) fn issue_token() -> Result<IssuedToken, ApiError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let secret = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(IssuedToken {
        secret,
        hash: hash_token_bytes(&bytes),
    })
}

fn hash_token_bytes(bytes: &[u8; TOKEN_BYTES]) -> TokenHash {
    let digest: [u8; TOKEN_HASH_BYTES] = Sha256::digest(bytes).into();
    digest
}

/// The store hash of a token given as hex; `None` unless it is exactly
/// [`TOKEN_HEX_CHARS`] hex digits (either case).
pub(crate) fn hash_token_hex(secret: &str) -> Option<TokenHash> {
    // Checked up front because `from_str_radix` would also accept a sign ("+f").
    if secret.len() != TOKEN_HEX_CHARS || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    for (byte, pair) in bytes.iter_mut().zip(secret.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(hash_token_bytes(&bytes))
}

/// The user proven by a valid `Authorization: Bearer <token>` header.
///
/// Rejection: 401 `unauthorized` when the header is missing or malformed, or the token is
/// unknown, expired or revoked; 403 `account_disabled` when it is a valid token of an account
/// the operator disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The token owner's (case-folded) username.
    pub username: String,
    /// The store hash of the token that proved it (for logout).
    pub token_hash: TokenHash,
}

impl Authenticated {
    /// Checks that the token owner is `username`.
    ///
    /// # Errors
    /// 403 `forbidden` when it is someone else.
    pub fn require(&self, username: &str) -> Result<(), ApiError> {
        if self.username == username {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token belongs to {:?} and cannot change {username:?}",
                self.username
            )))
        }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization header; log in first"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| unauthorized("Authorization header must be \"Bearer <token>\""))?;
        let hash = hash_token_hex(secret).ok_or_else(invalid_token)?;
        let now = Utc::now();
        match state.store().token_owner(&hash, now).await? {
            Some(username) => Ok(Authenticated {
                username,
                token_hash: hash,
            }),
            // Only a refused token costs this second look: its holder (the owner, who logged
            // in) learns the account is disabled and whom to ask, instead of "log in again".
            None => match state.store().disabled_token_owner(&hash, now).await? {
                Some(username) => Err(ApiError::AccountDisabled(username)),
                None => Err(invalid_token()),
            },
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::Unauthorized(message.to_owned())
}

fn invalid_token() -> ApiError {
    ApiError::InvalidToken("token is invalid, expired or revoked; log in again".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_hash_back() {
        let token = issue_token().unwrap();
        assert_eq!(token.secret.len(), TOKEN_HEX_CHARS);
        assert!(token.secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(hash_token_hex(&token.secret), Some(token.hash));
        assert_eq!(
            hash_token_hex(&token.secret.to_uppercase()),
            Some(token.hash)
        );
        assert_ne!(issue_token().unwrap().secret, token.secret);
    }

    #[test]
    fn malformed_tokens_have_no_hash() {
        assert_eq!(hash_token_hex(""), None);
        assert_eq!(hash_token_hex(&"0".repeat(63)), None);
        assert_eq!(hash_token_hex(&"g".repeat(64)), None);
        assert_eq!(hash_token_hex(&"é".repeat(32)), None);
        assert_eq!(hash_token_hex(&"+f".repeat(32)), None);
    }
}
