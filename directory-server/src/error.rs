//! [`ApiError`]: every way a request can fail, turned into one JSON shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use p2p_chat_protocol::api::{ErrorBody, ErrorCode, MAX_BODY_BYTES};
use p2p_chat_protocol::validate::InvalidField;

use crate::store::StoreError;

/// A failed request. Its response is `{"error": "<code>", "message": "<text>"}` with the
/// status of the code (see `docs/api.md`).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_json`: the body is not syntactically valid JSON.
    #[error("{0}")]
    InvalidJson(String),
    /// 400 `invalid_request`: a field, query parameter or path segment is missing or invalid;
    /// the message names it.
    #[error("{0}")]
    InvalidRequest(String),
    /// 401 `unauthorized`: missing, malformed, unknown or expired credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 `unauthorized` for a bearer token that is unknown, expired or revoked; the
    /// `WWW-Authenticate` header says `error="invalid_token"` (RFC 6750, section 3.1), which
    /// tells it apart from a wrong password.
    #[error("{0}")]
    InvalidToken(String),
    /// 403 `forbidden`: a valid token used on another user's resource.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`: no such user or route.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`: the route exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 403 `registration_closed`: the directory takes no new accounts
    /// (`--registration closed`).
    #[error(
        "this directory takes no new accounts; ask its operator for one, or use another directory"
    )]
    RegistrationClosed,
    /// 403 `invite_required`: the directory registers only with an invite code
    /// (`--registration invite`) and none came.
    #[error(
        "this directory registers new accounts by invitation only: ask its operator for an \
         invite code and register with --invite CODE"
    )]
    InviteRequired,
    /// 403 `invite_invalid`: the invite code is not one, or it is used up, expired or revoked
    /// (one answer for all, so the answer says nothing about other people's codes).
    #[error(
        "the invite code is not valid here: it may be mistyped, used up, expired or revoked; \
         ask the directory's operator for a new one"
    )]
    InviteInvalid,
    /// 403 `account_disabled`: the password was right, but the operator disabled the account.
    #[error("the account {0:?} is disabled on this directory; ask its operator to enable it")]
    AccountDisabled(String),
    /// 409 `username_taken`.
    #[error("username {0:?} is already registered; choose another one")]
    UsernameTaken(String),
    /// 413 `payload_too_large`: the body is over [`MAX_BODY_BYTES`].
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    /// 413 `payload_too_large` on a mailbox deposit: the sealed message (or the body carrying
    /// it) is over the directory's per-message limit.
    #[error(
        "the sealed message is larger than {max} bytes, the most this directory keeps per \
         message; send it directly when the recipient is online"
    )]
    SealedTooLarge {
        /// The per-message limit in bytes, before base64.
        max: usize,
    },
    /// 507 `mailbox_full`: the recipient's mailbox is at one of its limits.
    #[error(
        "the mailbox of {recipient:?} is full (it holds at most {limit}); try again after \
         {recipient:?} has fetched their messages"
    )]
    MailboxFull {
        /// The recipient's username.
        recipient: String,
        /// The limit reached, with its unit ("1000 messages", "16777216 bytes").
        limit: String,
    },
    /// 507 `mailbox_full`: the directory's whole mailbox is at its limit
    /// (`--mailbox-max-total-bytes`).
    #[error(
        "the directory's mailbox holds as much as it may for everyone ({limit} bytes); the \
         message was not kept — try again later"
    )]
    MailboxStorageFull {
        /// The limit, in bytes.
        limit: u64,
    },
    /// 415 `unsupported_media_type`: the body is not declared as `application/json`.
    #[error("request body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429 `too_many_requests`: the client's address used up its budget (see
    /// [`crate::limits`]); sent with `Retry-After`.
    #[error("too many requests; try again in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until a request will be accepted again (at least 1).
        retry_after_secs: u64,
    },
    /// 503 `unavailable`: every password-hashing slot stayed taken for as long as a request
    /// may wait for one (a registration or login storm); sent with `Retry-After`.
    #[error("the directory is busy checking passwords; try again in {retry_after_secs} s")]
    Busy {
        /// Seconds after which to try again (at least 1).
        retry_after_secs: u64,
    },
    /// 503 `unavailable`: the handler ran longer than the directory's request timeout
    /// (`--request-timeout-secs`) and was stopped.
    #[error("the directory took longer than {secs} s to answer; try again")]
    TimedOut {
        /// The timeout, in seconds.
        secs: u64,
    },
    /// 503 `unavailable`: the store cannot be reached. The cause is logged, not sent.
    #[error("the directory's database is unavailable; try again later")]
    Unavailable(#[source] StoreError),
    /// 503 `unavailable`: the relay cannot take the session (turned off, or at its limit), or
    /// a hole punch cannot be arranged (a side whose port the directory cannot see); the
    /// message says which.
    #[error("{0}")]
    PathUnavailable(String),
    /// 503 `unavailable`: the disk under the database is full, so nothing was saved. Logged
    /// as an error for the operator.
    #[error("the directory's disk is full, so nothing was saved; try again later")]
    DiskFull(#[source] StoreError),
    /// 500 `internal`: anything else. The cause is logged, the client only sees
    /// "internal error".
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// An internal error with its cause, which goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    /// The HTTP status and the machine-readable code of this error.
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::InvalidJson(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidJson),
            ApiError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest),
            ApiError::Unauthorized(_) | ApiError::InvalidToken(_) => {
                (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::RegistrationClosed => (StatusCode::FORBIDDEN, ErrorCode::RegistrationClosed),
            ApiError::InviteRequired => (StatusCode::FORBIDDEN, ErrorCode::InviteRequired),
            ApiError::InviteInvalid => (StatusCode::FORBIDDEN, ErrorCode::InviteInvalid),
            ApiError::AccountDisabled(_) => (StatusCode::FORBIDDEN, ErrorCode::AccountDisabled),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            ApiError::UsernameTaken(_) => (StatusCode::CONFLICT, ErrorCode::UsernameTaken),
            ApiError::PayloadTooLarge | ApiError::SealedTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            ApiError::MailboxFull { .. } | ApiError::MailboxStorageFull { .. } => {
                (StatusCode::INSUFFICIENT_STORAGE, ErrorCode::MailboxFull)
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests)
            }
            ApiError::Unavailable(_)
            | ApiError::DiskFull(_)
            | ApiError::PathUnavailable(_)
            | ApiError::TimedOut { .. }
            | ApiError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl From<InvalidField> for ApiError {
    fn from(err: InvalidField) -> Self {
        ApiError::InvalidRequest(err.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UsernameTaken(name) => ApiError::UsernameTaken(name),
            StoreError::InviteRefused => ApiError::InviteInvalid,
            StoreError::Unavailable(_) => ApiError::Unavailable(err),
            StoreError::DiskFull(_) => ApiError::DiskFull(err),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.status_and_code();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "store unavailable"),
            ApiError::DiskFull(cause) => {
                tracing::error!(%cause, "disk full: free space for the database");
            }
            _ => {}
        }
        let body = ErrorBody {
            error,
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        // For the request log's line, which names the refusal.
        response.extensions_mut().insert(error);
        if let ApiError::TooManyRequests { retry_after_secs }
        | ApiError::Busy { retry_after_secs } = self
        {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs.max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 section 3: a 401 names the scheme the client should use.
            let challenge = match self {
                ApiError::InvalidToken(_) => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
