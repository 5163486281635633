//! Command line and environment configuration of the `p2p-chat-directory` binary.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

use crate::state::{
    DEFAULT_BCRYPT_COST, DEFAULT_PRESENCE_WINDOW_SECS, DEFAULT_TOKEN_TTL_DAYS, MAX_BCRYPT_COST,
    MIN_BCRYPT_COST, SECS_PER_DAY, Settings, default_hash_concurrency,
};

/// Default listen address: loopback only, port 27182 (the digits of e, easy to remember and
/// unassigned by IANA).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:27182";

/// Default database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE: &str = "sqlite://p2p-chat-directory.db";

/// Longest token lifetime accepted on the command line: 3650 days (10 years).
pub const MAX_TOKEN_TTL_DAYS: u64 = 3650;

/// Longest presence window accepted on the command line: one day.
pub const MAX_PRESENCE_WINDOW_SECS: u64 = SECS_PER_DAY;

/// The p2p-chat directory server.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "p2p-chat-directory",
    version,
    about = "The p2p-chat directory: where peers register and look each other up",
    long_about = "The p2p-chat directory: a small HTTP service where peers register the \
address they accept chat connections on, log in, send heartbeats and look each other up. \
Messages never pass through it; peers talk over direct TCP.\n\n\
Every option can also be set through the environment variable shown with it. Logs go to \
stderr and are filtered with RUST_LOG (default: info). Once listening, the server prints one \
line to stdout: \"p2p-chat-directory listening on http://ADDR\"."
)]
pub struct Config {
    /// Socket address to listen on (IP:PORT). Port 0 picks a free port; the address actually
    /// bound is printed on stdout.
    #[arg(long, env = "P2P_CHAT_DIRECTORY_LISTEN", default_value = DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Database URL: sqlite://PATH (file, created if missing) or sqlite::memory: (lost on
    /// exit).
    #[arg(long, env = "P2P_CHAT_DIRECTORY_DATABASE", default_value = DEFAULT_DATABASE, value_name = "URL")]
    pub database: String,

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
}

impl Config {
    /// The [`Settings`] these options describe; bcrypt concurrency is one per CPU.
    pub fn settings(&self) -> Settings {
        Settings {
            presence_window: Duration::from_secs(self.presence_window_secs),
            token_ttl: Duration::from_secs(self.token_ttl_days * SECS_PER_DAY),
            bcrypt_cost: self.bcrypt_cost,
            hash_concurrency: default_hash_concurrency(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let config = Config::try_parse_from(["p2p-chat-directory"]).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.database, DEFAULT_DATABASE);
        let settings = config.settings();
        let defaults = Settings::default();
        assert_eq!(settings.presence_window, defaults.presence_window);
        assert_eq!(settings.token_ttl, defaults.token_ttl);
        assert_eq!(settings.bcrypt_cost, 12);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for args in [
            ["--bcrypt-cost", "3"],
            ["--bcrypt-cost", "32"],
            ["--presence-window-secs", "0"],
            ["--token-ttl-days", "0"],
            ["--token-ttl-days", "3651"],
            ["--listen", "localhost"],
        ] {
            let parsed = Config::try_parse_from(["p2p-chat-directory", args[0], args[1]]);
            assert!(parsed.is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
