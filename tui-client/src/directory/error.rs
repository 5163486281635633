//! [`DirectoryError`] and the mapping from HTTP answers to it.

use p2p_chat_protocol::api::{ErrorBody, ErrorCode, MailId};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};

use super::mailbox::{self, MailOp};

/// Longest server message shown to the user, in characters; the rest is cut off so a
/// misconfigured server (an HTML error page, say) cannot flood the terminal.
const MAX_MESSAGE_CHARS: usize = 200;

/// Why a directory request failed. Each message is one line saying what happened and what to
/// do about it.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory URL is not an `http://` or `https://` URL with a host.
    #[error(
        "{url:?} is not a usable directory URL: {reason} (expected something like http://chat.example.org:27182)"
    )]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No HTTP answer: connection refused, DNS failure, timeout.
    #[error(
        "cannot reach the directory at {url}: {detail} — is the server running and the URL right?"
    )]
    Unreachable {
        /// Base URL of the directory.
        url: String,
        /// The underlying cause.
        detail: String,
    },
    /// `POST /register` answered 409.
    #[error("the username {username} is already taken on this directory — choose another one")]
    UsernameTaken {
        /// The name that was asked for.
        username: String,
    },
    /// `POST /register` or `POST /login` answered 403, or any request 403 `account_disabled`:
    /// the directory registers by invitation only or not at all, the invite code is not
    /// valid, or the operator disabled the account. The directory's message says which and
    /// whom to ask.
    #[error("the directory refused: {message}")]
    Refused {
        /// The directory's explanation.
        message: String,
    },
    /// `POST /login` or `DELETE /clients/{username}` answered 401.
    #[error("wrong username or password")]
    BadCredentials,
    /// The user does not exist (404).
    #[error("no user named {username} on the directory")]
    NotFound {
        /// The name that was looked for.
        username: String,
    },
    /// A bearer token was refused (401 or 403).
    #[error("your login expired or is not valid for this account — run `p2p-chat login`")]
    TokenRejected,
    /// `GET /clients` needs a login on this directory, and none was sent.
    #[error(
        "this directory shows its user list only to logged-in users — run `p2p-chat login` first"
    )]
    LoginRequired,
    /// The current password given to a password change is wrong (401 without
    /// `error="invalid_token"`).
    #[error("the current password is wrong; nothing was changed")]
    WrongPassword,
    /// 429: the directory's rate limit for our address.
    #[error("the directory is getting too many requests from your address — try again {}", match retry_after_secs {
        Some(secs) => format!("in {secs} s"),
        None => "later".to_owned(),
    })]
    TooManyRequests {
        /// The `Retry-After` seconds, when the directory sent them.
        retry_after_secs: Option<u64>,
    },
    /// The directory refused the request as invalid (400, 413, 415); the message is its own.
    #[error("the directory refused the request: {message}")]
    Invalid {
        /// The directory's explanation.
        message: String,
    },
    /// A mailbox deposit answered 507: the recipient's mailbox is at the directory's limit.
    #[error("the directory did not keep the message for {recipient}: {message}")]
    MailboxFull {
        /// The recipient.
        recipient: String,
        /// The directory's explanation, naming the limit.
        message: String,
    },
    /// A mailbox deposit answered 413: the sealed message is over the directory's limit.
    #[error("the message is too large for the directory's mailbox: {message}")]
    MailTooLarge {
        /// The directory's explanation, naming the limit.
        message: String,
    },
    /// `DELETE /mailbox/{id}` answered 404: the message is gone (deleted or expired).
    #[error("message {id} is no longer in your mailbox — it was already deleted or has expired")]
    MailNotFound {
        /// The message's id.
        id: MailId,
    },
    /// Any other error status, e.g. 500 or 503.
    #[error("the directory answered HTTP {status}: {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// The directory's explanation, or the status text when it gave none.
        message: String,
    },
    /// The server answered, but not the way a p2p-chat directory does.
    #[error(
        "the server at {url} does not answer like a p2p-chat directory ({detail}) — check the URL"
    )]
    UnexpectedResponse {
        /// Base URL of the directory.
        url: String,
        /// What was unexpected.
        detail: String,
    },
    /// The directory answered with a redirect to another origin (scheme, host or port), which
    /// the client does not follow: the login token and passwords go only to the URL the user
    /// gave.
    #[error(
        "the directory at {url} redirected to {target}, another server; p2p-chat does not follow \
         such redirects — if you trust that address, use it as the directory URL (--server)"
    )]
    Redirected {
        /// Base URL of the directory.
        url: String,
        /// Where the redirect pointed.
        target: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {detail}")]
    Client {
        /// The underlying cause.
        detail: String,
    },
}

/// What kind of trouble a failed directory request means for the status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// Nothing answered (or not a directory): the network, the URL, or a server down.
    Unreachable,
    /// It answered "not now": too many requests from our address (429), or busy (503).
    Busy,
    /// It answered and refused: a login no longer valid, a disabled account, a bad request.
    Refused,
}

impl DirectoryError {
    /// The kind of trouble this error is.
    pub fn trouble(&self) -> Trouble {
        match self {
            Self::Unreachable { .. }
            | Self::UnexpectedResponse { .. }
            | Self::Redirected { .. }
            | Self::BadUrl { .. }
            | Self::Client { .. } => Trouble::Unreachable,
            Self::TooManyRequests { .. } | Self::Server { status: 503, .. } => Trouble::Busy,
            _ => Trouble::Refused,
        }
    }
}

/// Which request got an error status; decides what 401, 404 and 409 mean.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op<'a> {
    Ping,
    Register {
        username: &'a str,
    },
    Login,
    List {
        with_token: bool,
    },
    Lookup {
        username: &'a str,
    },
    Authed {
        username: &'a str,
    },
    Unregister {
        username: &'a str,
    },
    Logout,
    PasswordChange {
        username: &'a str,
    },
    Mail(MailOp<'a>),
    /// The relay and hole punching.
    Relay,
}

/// The explanation in an error response: the `message` of an [`ErrorBody`], else the text of
/// the body, else the status's reason phrase. Always one line of printable characters.
pub(crate) fn error_message(status: StatusCode, body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.message)
        .ok()
        .or_else(|| {
            // Tolerates error codes this client does not know yet.
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            value.get("message")?.as_str().map(str::to_owned)
        });
    let text = match from_json {
        Some(message) => message,
        None => {
            let text = String::from_utf8_lossy(body);
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            match first {
                // An HTML page (a proxy's, typically) says nothing useful in its first line.
                Some(line) if !line.starts_with('<') => line.to_owned(),
                _ => String::new(),
            }
        }
    };
    let clean = one_line(&text);
    if clean.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no explanation")
            .to_owned()
    } else {
        clean
    }
}

/// Replaces control characters (which could move the cursor or recolour the terminal) with
/// spaces and cuts the text to [`MAX_MESSAGE_CHARS`].
fn one_line(text: &str) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_MESSAGE_CHARS)
        .collect();
    if text.trim().chars().count() > MAX_MESSAGE_CHARS {
        out.push('…');
    }
    out
}

/// The error for a non-success answer, using the headers where the status alone is not
/// enough: `Retry-After` of a 429, and whether a 401 to a password change is about the token
/// (`WWW-Authenticate: Bearer error="invalid_token"`, RFC 6750) or the old password.
pub(crate) fn answer_error(
    op: Op<'_>,
    url: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> DirectoryError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after_secs = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        return DirectoryError::TooManyRequests { retry_after_secs };
    }
    let bad_token = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("invalid_token")));
    if status == StatusCode::UNAUTHORIZED && bad_token && matches!(op, Op::PasswordChange { .. }) {
        return DirectoryError::TokenRejected;
    }
    status_error(op, url, status, body)
}

/// The error for an answer with a non-success `status` to request `op` on directory `url`.
pub(crate) fn status_error(
    op: Op<'_>,
    url: &str,
    status: StatusCode,
    body: &[u8],
) -> DirectoryError {
    let message = error_message(status, body);
    if let Op::Mail(mail) = op {
        return mailbox::status_error(mail, url, status, message);
    }
    let code = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    if status == StatusCode::FORBIDDEN && code == Some(ErrorCode::AccountDisabled) {
        // Any request with the login of an account the operator disabled.
        return DirectoryError::Refused { message };
    }
    match (status, op) {
        (StatusCode::CONFLICT, Op::Register { username }) => DirectoryError::UsernameTaken {
            username: username.to_owned(),
        },
        (StatusCode::FORBIDDEN, Op::Register { .. } | Op::Login) => {
            DirectoryError::Refused { message }
        }
        (StatusCode::UNAUTHORIZED, Op::Login | Op::Unregister { .. }) => {
            DirectoryError::BadCredentials
        }
        (StatusCode::UNAUTHORIZED, Op::PasswordChange { .. }) => DirectoryError::WrongPassword,
        (StatusCode::UNAUTHORIZED, Op::List { with_token: false }) => DirectoryError::LoginRequired,
        (
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN,
            Op::Authed { .. } | Op::Logout | Op::PasswordChange { .. } | Op::List { .. },
        ) => DirectoryError::TokenRejected,
        (StatusCode::TOO_MANY_REQUESTS, _) => DirectoryError::TooManyRequests {
            retry_after_secs: None,
        },
        (
            StatusCode::NOT_FOUND,
            Op::Lookup { username }
            | Op::Authed { username }
            | Op::Unregister { username }
            | Op::PasswordChange { username },
        ) => DirectoryError::NotFound {
            username: username.to_owned(),
        },
        (
            StatusCode::NOT_FOUND,
            Op::Ping | Op::Register { .. } | Op::Login | Op::List { .. } | Op::Logout,
        ) => DirectoryError::UnexpectedResponse {
            url: url.to_owned(),
            detail: "it has no such endpoint".to_owned(),
        },
        (
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _,
        ) => DirectoryError::Invalid { message },
        _ => DirectoryError::Server {
            status: status.as_u16(),
            message,
        },
    }
}

/// The innermost error's message: "Connection refused (os error 111)" says more than
/// reqwest's "error sending request".
pub(super) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests;
