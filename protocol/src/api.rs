//! Bodies of the directory's HTTP API (`docs/api.md`), shared by server and client.
//!
//! All bodies are JSON. Timestamps are RFC 3339 strings in UTC. The offline mailbox's bodies
//! are in `mailbox` and re-exported here; the signaling connection's messages are in
//! [`signal`].

mod mailbox;
pub mod signal;

pub use mailbox::{
    DEFAULT_MAILBOX_PAGE_LIMIT, DepositReceipt, DepositRequest, MAX_MAILBOX_PAGE_LIMIT,
    MAX_SEALED_BYTES, MailId, MailboxItem, MailboxPage, MailboxQuery, decode_sealed, encode_sealed,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The TCP port a peer listens on when none is given: 55555, the original p2p-chat client's.
pub const DEFAULT_PEER_PORT: u16 = 55555;

/// Default page size of `GET /clients`.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// Largest page size of `GET /clients`.
pub const MAX_PAGE_LIMIT: u32 = 100;

/// Value of `host` in `POST /register` and `PUT /clients/{username}` that asks the directory to
/// use the address it observes the request coming from.
pub const HOST_AUTO: &str = "auto";

/// Largest request body the directory accepts: 16 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// `POST /register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// 3–32 characters of `[a-z0-9_.-]`; upper case is folded to lower case.
    pub username: String,
    /// 8–72 bytes (bcrypt uses only the first 72).
    pub password: String,
    /// IP address or DNS name where the peer accepts connections, or [`HOST_AUTO`].
    pub host: String,
    /// TCP port where the peer accepts connections; [`DEFAULT_PEER_PORT`] when absent.
    #[serde(default)]
    pub port: Option<u16>,
    /// The peer's long-term X25519 identity public key: 64 lowercase hex digits (32 bytes).
    pub public_key: String,
    /// The invite code the directory's operator handed out, needed when the directory
    /// registers by invitation only: 24 hex digits, dashes and spaces ignored. Absent when
    /// none was given; an open directory ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

/// `POST /login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The registered username (case-insensitive).
    pub username: String,
    /// The password given at registration.
    pub password: String,
}

/// Answer to `POST /login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`: 64 hex digits (256 random bits).
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// `PUT /clients/{username}`: the peer's new address, and optionally a new identity key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRequest {
    /// IP address or DNS name, or [`HOST_AUTO`].
    pub host: String,
    /// TCP port; [`DEFAULT_PEER_PORT`] when absent.
    #[serde(default)]
    pub port: Option<u16>,
    /// A new identity public key (64 hex digits) to rotate to; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Other addresses the peer may be reached at, as `IP:PORT` (at most
    /// [`MAX_CANDIDATES`]): its LAN address, so that a peer on the same network connects
    /// without the router. Replaces the earlier list; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<String>>,
    /// `true`: reach me only through the directory's relay. The directory then publishes none
    /// of the peer's addresses (see [`ClientRecord::relay_only`]) and arranges no hole punch
    /// with it; `false` publishes them again. Unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_only: Option<bool>,
}

/// Most extra addresses ([`UpdateRequest::candidates`]) a client may publish: 4.
pub const MAX_CANDIDATES: usize = 4;

/// `PUT /clients/{username}/password`: change the password; every token is revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChangeRequest {
    /// The current password.
    pub old_password: String,
    /// The new password, 8–72 bytes.
    pub new_password: String,
}

/// `DELETE /clients/{username}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnregisterRequest {
    /// The account's password.
    pub password: String,
}

/// The public record of one registered peer; never includes secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientRecord {
    /// Case-folded username.
    pub username: String,
    /// Where the peer says it accepts connections.
    pub host: String,
    /// TCP port of the peer.
    pub port: u16,
    /// The peer's X25519 identity public key, 64 lowercase hex digits.
    pub public_key: String,
    /// The address the directory saw the peer's last register, update or heartbeat come
    /// from; `null` until it has seen one.
    pub observed_host: Option<String>,
    /// When the account was created.
    pub registered_at: DateTime<Utc>,
    /// Time of the last heartbeat, login or address update.
    pub last_seen: DateTime<Utc>,
    /// Whether a heartbeat arrived within the directory's presence window.
    pub online: bool,
    /// Other addresses the peer published, `IP:PORT` (its LAN address, say); dialled beside
    /// `host:port`. Empty for older directories and clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// The peer takes sessions only through the directory's relay (`--relay-only`): its
    /// addresses are withheld, so `host` is empty, `port` 0, `observed_host` null and
    /// `candidates` empty. Left out when false (and by older directories).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relay_only: bool,
}

/// `host:port`, with brackets around an IPv6 host so the port stays unambiguous
/// (RFC 3986 §3.2.2).
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl ClientRecord {
    /// Where the peer takes sessions, as shown to users: its `host:port` ([`host_port`]), or
    /// `relay only` when it withholds its addresses ([`ClientRecord::relay_only`]).
    pub fn reached_at(&self) -> String {
        if self.relay_only {
            "relay only".to_owned()
        } else {
            host_port(&self.host, self.port)
        }
    }

    /// The `host` and `port` an update sends to keep this record's address: its own, or
    /// [`HOST_AUTO`] and [`DEFAULT_PEER_PORT`] when the record withholds them
    /// ([`ClientRecord::relay_only`]).
    pub fn address_to_keep(&self) -> (&str, u16) {
        if self.relay_only {
            (HOST_AUTO, DEFAULT_PEER_PORT)
        } else {
            (&self.host, self.port)
        }
    }
}

/// Query of `GET /clients`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ClientsQuery {
    /// Page size, 1–[`MAX_PAGE_LIMIT`]; [`DEFAULT_PAGE_LIMIT`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Return usernames sorted after this one (the previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Answer to `GET /clients`: one page, sorted by username.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientList {
    /// The records of this page.
    pub clients: Vec<ClientRecord>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next: Option<String>,
}

/// Answer to `GET /healthz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `"ok"`, or `"unavailable"` with status 503.
    pub status: String,
}

/// Machine-readable error codes in [`ErrorBody::error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ErrorCode {
    /// 400: a field is missing or invalid; the message names it.
    InvalidRequest,
    /// 400: the body is not valid JSON.
    InvalidJson,
    /// 401: missing or bad credentials.
    Unauthorized,
    /// 403: the token belongs to another user.
    Forbidden,
    /// 403: the directory takes no new accounts (`--registration closed`).
    RegistrationClosed,
    /// 403: the directory registers only with an invite code, and none came
    /// ([`RegisterRequest::invite`]).
    InviteRequired,
    /// 403: the invite code is mistyped, used up, expired or revoked.
    InviteInvalid,
    /// 403: the password was right, but the directory's operator disabled the account.
    AccountDisabled,
    /// 404: no such user or route.
    NotFound,
    /// 405: the route exists, but not with this method.
    MethodNotAllowed,
    /// 409: the username is registered already.
    UsernameTaken,
    /// 413: the body is over [`MAX_BODY_BYTES`].
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: too many requests from this client address; the `Retry-After` header says when
    /// to try again, in seconds. (Wrong passwords for one user are slowed down instead, with
    /// the usual 401.)
    TooManyRequests,
    /// 503: the store cannot be reached.
    Unavailable,
    /// 507: the recipient's mailbox holds as many messages or bytes as the directory keeps
    /// for one user; the message names the limit. Try again after the recipient has fetched
    /// their mail.
    MailboxFull,
    /// 500: something failed on the server; details are in its log only.
    Internal,
}

/// Every error response: `{"error": "<code>", "message": "<human text>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: ErrorCode,
    /// Human-readable explanation, safe to show to the user.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(relay_only: bool) -> ClientRecord {
        ClientRecord {
            username: "bob".into(),
            host: if relay_only { "" } else { "203.0.113.4" }.into(),
            port: if relay_only { 0 } else { 4000 },
            public_key: "ab".repeat(32),
            observed_host: None,
            registered_at: DateTime::<Utc>::UNIX_EPOCH,
            last_seen: DateTime::<Utc>::UNIX_EPOCH,
            online: true,
            candidates: Vec::new(),
            relay_only,
        }
    }

    #[test]
    fn relay_only_is_left_out_when_false_and_read_as_false_when_absent() {
        let json = serde_json::to_value(record(false)).unwrap();
        assert!(json.get("relay_only").is_none(), "{json}");
        let back: ClientRecord = serde_json::from_value(json).unwrap();
        assert!(!back.relay_only, "an older directory's record");
        let json = serde_json::to_value(record(true)).unwrap();
        assert_eq!(json["relay_only"], true);
        let update: UpdateRequest = serde_json::from_str(r#"{"host":"auto"}"#).unwrap();
        assert_eq!(update.relay_only, None, "absent keeps the earlier choice");
    }

    #[test]
    fn ipv6_hosts_get_brackets_and_withheld_addresses_say_so() {
        assert_eq!(host_port("::1", 5), "[::1]:5");
        assert_eq!(host_port("example.org", 5), "example.org:5");
        assert_eq!(record(false).reached_at(), "203.0.113.4:4000");
        assert_eq!(record(true).reached_at(), "relay only");
    }

    #[test]
    fn an_update_keeps_a_withheld_address_as_auto() {
        assert_eq!(record(false).address_to_keep(), ("203.0.113.4", 4000));
        assert_eq!(
            record(true).address_to_keep(),
            (HOST_AUTO, DEFAULT_PEER_PORT)
        );
    }
}
