//! Command line and environment configuration of the `p2p-chat-directory` binary.

use crate::connections::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
};
use crate::relay::{DEFAULT_RELAY_MAX_BYTES, DEFAULT_RELAY_MAX_SESSIONS};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use ipnet::IpNet;
use p2p_chat_protocol::api::MAX_SEALED_BYTES;

use crate::client_ip::parse_trusted_proxy;
use crate::limits::{DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_PER_MINUTE};
use crate::mailbox::{
    DEFAULT_MAILBOX_MAX_BYTES, DEFAULT_MAILBOX_MAX_MESSAGES, DEFAULT_MAILBOX_MAX_TOTAL_BYTES,
    DEFAULT_MAILBOX_TTL_DAYS,
};
use crate::registration::Registration;
use crate::state::{
    DEFAULT_BCRYPT_COST, DEFAULT_PRESENCE_WINDOW_SECS, DEFAULT_REQUEST_TIMEOUT_SECS,
    DEFAULT_TOKEN_TTL_DAYS, MAX_BCRYPT_COST, MIN_BCRYPT_COST, SECS_PER_DAY,
};

/// Default listen address: loopback only, port 27182 (the digits of e, easy to remember and
/// unassigned by IANA).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:27182";

/// Default database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE: &str = "sqlite://p2p-chat-directory.db";

/// Who may register unless the operator chooses: only with an invite code. An open directory
/// on the internet collects spam accounts and scrapers; `invite create` makes codes.
pub const DEFAULT_REGISTRATION: Registration = Registration::Invite;

/// Longest token lifetime accepted on the command line: 3650 days (10 years).
pub const MAX_TOKEN_TTL_DAYS: u64 = 3650;

/// Longest presence window accepted on the command line: one day.
pub const MAX_PRESENCE_WINDOW_SECS: u64 = SECS_PER_DAY;

/// Longest mailbox lifetime accepted on the command line: 365 days.
pub const MAX_MAILBOX_TTL_DAYS: u64 = 365;

/// The p2p-chat directory server.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "p2p-chat-directory",
    version,
    about = "The p2p-chat directory: where peers register and look each other up",
    long_about = "The p2p-chat directory: a small HTTP service where peers register the \
address they accept chat connections on, log in, send heartbeats and look each other up. \
Peers talk directly where they can; otherwise it relays their end-to-end encrypted \
sessions (--relay) and keeps sealed messages for offline users, reading neither.\n\n\
Every option can also be set through the environment variable shown with it, or in a TOML \
file named by --config; a flag wins over the environment, the environment over the file, the \
file over the default. Logs go to \
stderr and are filtered with RUST_LOG (default: info). Once listening, the server prints one \
line to stdout: \"p2p-chat-directory listening on http://ADDR\" (https:// with \
--tls-cert and --tls-key).\n\n\
The mailbox keeps sealed messages for offline users, which only their recipient can open; \
the --mailbox-* options bound what it keeps per user and for how long."
)]
pub struct Config {
    /// What to do instead of serving; without one the directory serves.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// A TOML file of settings: each key is a setting's environment variable without
    /// P2P_CHAT_DIRECTORY_, in lower case (`listen = "0.0.0.0:27182"`, `mailbox_ttl_days = 7`,
    /// `trusted_proxies = ["10.0.0.1"]`). A flag or the environment wins over the file, the
    /// file over the default; `check-config` shows what came from where.
    #[arg(
        long,
        global = true,
        env = "P2P_CHAT_DIRECTORY_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Socket address to listen on (IP:PORT). Port 0 picks a free port; the address actually
    /// bound is printed on stdout.
    #[arg(long, env = "P2P_CHAT_DIRECTORY_LISTEN", default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Serve Prometheus metrics (GET /metrics, plain HTTP) on this socket address (IP:PORT),
    /// apart from the public one; off unless given. Keep it private: a loopback or internal
    /// address, or a firewall.
    #[arg(long, env = "P2P_CHAT_DIRECTORY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Database URL: sqlite://PATH (a file the server creates if missing; the operator's
    /// commands need it to exist), sqlite::memory: (lost on exit), or postgres://USER:PASSWORD@HOST:PORT/DATABASE (an existing database; several
    /// directory processes may share it, see docs/deploy.md).
    #[arg(long, global = true, env = "P2P_CHAT_DIRECTORY_DATABASE", default_value = DEFAULT_DATABASE, value_name = "URL")]
    pub database: String,

    /// Most database connections this process keeps open (1-1000). Default: 8 for a SQLite
    /// file, 10 for PostgreSQL; the sum over all directory processes must stay below the
    /// PostgreSQL server's max_connections (100 by default).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_DATABASE_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..=1000),
        value_name = "N"
    )]
    pub database_max_connections: Option<u32>,

    /// With PostgreSQL: the URL at which the other directory processes sharing the database
    /// reach this one, for relayed sessions whose two sides arrived at different processes
    /// (http://HOST:PORT on a private network). Default: http://LISTEN when --listen names
    /// an address rather than 0.0.0.0 or [::]; without one, such sessions fail and the peers
    /// retry (through the same process, or by the mailbox).
    #[arg(long, env = "P2P_CHAT_DIRECTORY_REPLICA_URL", value_name = "URL")]
    pub replica_url: Option<String>,

    /// bcrypt cost for password hashes (4-31); each step doubles the time per hash.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_BCRYPT_COST",
        default_value_t = DEFAULT_BCRYPT_COST,
        value_parser = clap::value_parser!(u32).range(i64::from(MIN_BCRYPT_COST)..=i64::from(MAX_BCRYPT_COST)),
        value_name = "COST"
    )]
    pub bcrypt_cost: u32,

    /// Seconds after the last heartbeat, login or address update during which a client is
    /// shown as online (1-86400).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_PRESENCE_WINDOW_SECS",
        default_value_t = DEFAULT_PRESENCE_WINDOW_SECS,
        value_parser = clap::value_parser!(u64).range(1..=MAX_PRESENCE_WINDOW_SECS),
        value_name = "SECS"
    )]
    pub presence_window_secs: u64,

    /// Days a login token stays valid (1-3650).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_TOKEN_TTL_DAYS",
        default_value_t = DEFAULT_TOKEN_TTL_DAYS,
        value_parser = clap::value_parser!(u64).range(1..=MAX_TOKEN_TTL_DAYS),
        value_name = "DAYS"
    )]
    pub token_ttl_days: u64,

    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. Both files
    /// are read again on SIGHUP, e.g. after a renewal.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert; needs --tls-cert.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// A reverse proxy (IP address or CIDR network) whose X-Forwarded-For header is believed
    /// when it is the TCP peer. Repeat the option for several; the variable takes a
    /// comma-separated list.
    #[arg(
        long = "trusted-proxy",
        env = "P2P_CHAT_DIRECTORY_TRUSTED_PROXIES",
        value_name = "IP|CIDR",
        value_delimiter = ',',
        value_parser = parse_trusted_proxy
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Requests per minute one client address may make to register, login, unregister,
    /// password change, lookups and listing together (0: no limit).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_RATE_LIMIT_PER_MINUTE",
        default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE,
        value_name = "N"
    )]
    pub rate_limit_per_minute: u32,

    /// Requests one client address may make at once before the per-minute rate applies.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_RATE_LIMIT_BURST",
        default_value_t = DEFAULT_RATE_LIMIT_BURST,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub rate_limit_burst: u32,

    /// Most HTTP connections open at once; further ones are closed at once. Keep it well
    /// under the process's open-file limit (LimitNOFILE in a systemd unit).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAX_CONNECTIONS",
        default_value_t = DEFAULT_MAX_CONNECTIONS as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub max_connections: u32,

    /// Most HTTP connections open at once from one client address (a --trusted-proxy has no
    /// such limit).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub max_connections_per_address: u32,

    /// Seconds a connection may take to send a complete request head (1-3600); a
    /// kept-alive connection idle that long between requests is closed too.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_HEADER_TIMEOUT_SECS",
        default_value_t = DEFAULT_HEADER_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600),
        value_name = "SECS"
    )]
    pub header_timeout_secs: u64,

    /// Seconds a request may take before the directory stops it and answers 503 (1-3600).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_REQUEST_TIMEOUT_SECS",
        default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        value_name = "SECS"
    )]
    pub request_timeout_secs: u64,

    /// How the log (stderr) is written: text, for people, or json, one object per line for a
    /// log collector, each with the request id of the request it belongs to.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_LOG_FORMAT",
        default_value = "text",
        value_enum,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// Whether the directory relays sessions between users who cannot reach each other
    /// directly (only their end-to-end encrypted bytes): on or off.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_RELAY",
        default_value = "on",
        action = clap::ArgAction::Set,
        value_parser = parse_on_off,
        value_name = "on|off"
    )]
    pub relay: bool,

    /// Whether the directory times hole punches between users behind routers, so they can
    /// connect directly (each then learns the address and port the other's client connects
    /// to the directory from): on or off.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_HOLE_PUNCHING",
        default_value = "on",
        action = clap::ArgAction::Set,
        value_parser = parse_on_off,
        value_name = "on|off"
    )]
    pub hole_punching: bool,

    /// Most relayed sessions at once.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_RELAY_MAX_SESSIONS",
        default_value_t = DEFAULT_RELAY_MAX_SESSIONS as u32,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub relay_max_sessions: u32,

    /// Most bytes one relayed session carries, both directions together (default 64 MiB);
    /// the session ends there and the peers reconnect.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_RELAY_MAX_BYTES",
        default_value_t = DEFAULT_RELAY_MAX_BYTES,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "BYTES"
    )]
    pub relay_max_bytes: u64,

    /// Who may create an account: open (anyone who can reach the directory), invite (only
    /// with a code from `p2p-chat-directory invite create`) or closed (nobody).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_REGISTRATION",
        default_value_t = DEFAULT_REGISTRATION,
        value_enum,
        value_name = "MODE"
    )]
    pub registration: Registration,

    /// Let anyone list all clients with GET /clients; by default it needs a login token.
    /// Looking up one name (GET /clients/NAME) is always public.
    #[arg(long, env = "P2P_CHAT_DIRECTORY_PUBLIC_LISTING")]
    pub public_listing: bool,

    /// Most messages kept in one user's mailbox; further deposits get 507 mailbox_full.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAILBOX_MAX_MESSAGES",
        default_value_t = DEFAULT_MAILBOX_MAX_MESSAGES,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub mailbox_max_messages: u32,

    /// Most bytes of sealed messages kept in one user's mailbox (default 16 MiB).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAILBOX_MAX_BYTES",
        default_value_t = DEFAULT_MAILBOX_MAX_BYTES,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "BYTES"
    )]
    pub mailbox_max_bytes: u64,

    /// Most bytes of sealed messages the mailbox keeps for all users together (default
    /// 1 GiB): accounts are free, so this bounds the disk the mailbox takes.
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAILBOX_MAX_TOTAL_BYTES",
        default_value_t = DEFAULT_MAILBOX_MAX_TOTAL_BYTES,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "BYTES"
    )]
    pub mailbox_max_total_bytes: u64,

    /// Largest sealed message accepted, in bytes before base64 (1-65536).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAILBOX_MAX_MESSAGE_BYTES",
        default_value_t = MAX_SEALED_BYTES as u64,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SEALED_BYTES as u64),
        value_name = "BYTES"
    )]
    pub mailbox_max_message_bytes: u64,

    /// Days a message waits in a mailbox before it is deleted unread (1-365).
    #[arg(
        long,
        env = "P2P_CHAT_DIRECTORY_MAILBOX_TTL_DAYS",
        default_value_t = DEFAULT_MAILBOX_TTL_DAYS,
        value_parser = clap::value_parser!(u64).range(1..=MAX_MAILBOX_TTL_DAYS),
        value_name = "DAYS"
    )]
    pub mailbox_ttl_days: u64,
}

/// The log's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, for people (coloured on a terminal).
    Text,
    /// One JSON object per line, for log collectors: `timestamp`, `level`, `fields`
    /// (`message` and the event's own), `target`, and `span` with the request's `id`,
    /// `method` and `path`.
    Json,
}

/// `on` or `off` (also `true`/`false`, `yes`/`no`, `1`/`0`).
fn parse_on_off(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected on or off, got {value:?}")),
    }
}

mod commands;
pub mod file;
mod settings;
pub use commands::{Command, InviteCommand, MailboxCommand, UsersCommand};
pub use file::{Effective, LoadError, Loaded, Source, load};

#[cfg(test)]
mod tests;
