//! Passwords, login tokens and the bearer-token extractor.
//!
//! bcrypt is deliberately slow (about 0.25 s at cost 12), so it never runs on the async
//! workers: every hash and verify goes to tokio's blocking pool, at most `hash_concurrency` at a
//! time, so a burst of logins cannot stall the requests that need no hashing.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use p2p_chat_protocol::validate::PASSWORD_MAX_BYTES;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{TOKEN_HASH_BYTES, TokenHash};

/// Random bytes in a login token: 32 (256 bits), far beyond guessing range.
pub const TOKEN_BYTES: usize = 32;

/// Length of a token as sent to the client: two hex digits per byte.
pub const TOKEN_HEX_CHARS: usize = TOKEN_BYTES * 2;

/// Hashed with the configured cost once, so that a login for an unknown username spends the
/// same bcrypt time as one for a known username.
const DUMMY_PASSWORD: &str = "p2p-chat-directory timing equaliser";

/// Runs bcrypt on the blocking pool with bounded concurrency.
pub(crate) struct PasswordHasher {
    cost: u32,
    concurrency: usize,
    permits: Arc<Semaphore>,
    dummy_hash: OnceCell<String>,
}

impl PasswordHasher {
    /// `cost` must be 4–31 and `concurrency` at least 1 (ensured by `AppState::new`).
    pub(crate) fn new(cost: u32, concurrency: usize) -> Self {
        Self {
            cost,
            concurrency,
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: OnceCell::new(),
        }
    }

    /// Computations running now.
    pub(crate) fn in_flight(&self) -> usize {
        self.concurrency
            .saturating_sub(self.permits.available_permits())
    }

    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        // The permit moves into the closure: if the request is cancelled the computation
        // still finishes, and it keeps counting against the limit until it does.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(ApiError::internal)
    }

    /// The bcrypt hash of `password` (modular crypt format, `$2b$`).
    ///
    /// # Errors
    /// 500 when bcrypt fails (it does not for valid costs).
    pub(crate) async fn hash(&self, password: String) -> Result<String, ApiError> {
        let cost = self.cost;
        self.on_blocking_pool(move || bcrypt::hash(password, cost))
            .await?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `hash`. With `hash == None` (unknown user) a verify against
    /// a dummy hash is still spent and the answer is false. Passwords over bcrypt's 72-byte
    /// limit never match: registration refuses them, and bcrypt would otherwise compare only
    /// their first 72 bytes.
    ///
    /// # Errors
    /// 500 when the stored hash is malformed.
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => self.dummy_hash().await?.clone(),
        };
        let too_long = password.len() > PASSWORD_MAX_BYTES;
        let matches = self
            .on_blocking_pool(move || bcrypt::verify(password, &hash))
            .await?
            .map_err(ApiError::internal)?;
        Ok(known && matches && !too_long)
    }

    async fn dummy_hash(&self) -> Result<&String, ApiError> {
        self.dummy_hash
            .get_or_try_init(|| self.hash(DUMMY_PASSWORD.to_owned()))
            .await
    }
}

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
/// unknown, expired or revoked.
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
        let owner = state.store().token_owner(&hash, Utc::now()).await?;
        owner
            .map(|username| Authenticated {
                username,
                token_hash: hash,
            })
            .ok_or_else(invalid_token)
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

    #[tokio::test]
    async fn verify_spends_a_hash_even_for_unknown_users() {
        let hasher = PasswordHasher::new(4, 1);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(DUMMY_PASSWORD.into(), None).await.unwrap());
        assert!(hasher.dummy_hash.get().is_some());
    }

    #[tokio::test]
    async fn passwords_over_72_bytes_never_match() {
        let hasher = PasswordHasher::new(4, 1);
        let long = "x".repeat(PASSWORD_MAX_BYTES);
        let hash = hasher.hash(long.clone()).await.unwrap();
        assert!(
            hasher
                .verify(long.clone(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify(format!("{long}y"), Some(hash)).await.unwrap());
    }
}
