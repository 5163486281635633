//! Command-line interface: global options and subcommands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod group;

pub use group::GroupCommand;

/// Default address the client accepts peers on: every interface, port 55555 (the original
/// p2p-chat client's port).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:55555";

/// Chat with people directly, peer to peer, in your terminal.
///
/// Messages travel end to end encrypted between the two of you, directly wherever the network
/// allows, else through the directory's relay (which cannot read them); a small directory
/// server helps peers find and reach each other. Start with `p2p-chat demo`, then
/// `p2p-chat register NAME --server URL` and `p2p-chat` to open the chat window.
#[derive(Debug, Parser)]
#[command(name = "p2p-chat", version, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do; without a command, the interactive chat window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Parses `--listen`: an IP address and a port, `IP:PORT` (IPv6 in brackets), with an error
/// that says which part is wrong.
///
/// # Errors
/// A missing or out-of-range port, a host name instead of an IP address, or garbage.
pub fn parse_listen(raw: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(addr) = raw.parse() {
        return Ok(addr);
    }
    let example = "for example 0.0.0.0:55555 (every interface) or 127.0.0.1:0 (any free port)";
    let Some((host, port)) = raw.rsplit_once(':') else {
        return Err(format!("{raw:?} has no port: give IP:PORT, {example}"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "{port:?} is not a port (0-65535; 0 picks a free one): give IP:PORT, {example}"
        ));
    }
    if host.contains(':') && !host.starts_with('[') {
        return Err(format!(
            "an IPv6 address goes in brackets before its port: [{host}]:{port}"
        ));
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.parse::<std::net::IpAddr>().is_err() {
        return Err(format!(
            "{host:?} is not an IP address (a host name cannot be listened on; IPv6 goes in brackets, [::]:55555): {example}"
        ));
    }
    Err(format!("{raw:?} is not IP:PORT: {example}"))
}

/// Arguments clap accepted but the command cannot use (a message without text, an address
/// that is not HOST:PORT): reported like clap's own usage errors, with exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Options every command understands.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Config file (TOML). Default: config.toml in the platform's config directory, e.g.
    /// ~/.config/p2p-chat/config.toml on Linux; a missing default file means the defaults.
    /// Flags and environment variables override the file. `p2p-chat config` shows what applies.
    #[arg(long, global = true, env = crate::config::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Profile directory (directory URL, username, login token). Use different ones to run
    /// several users on one machine. Default: the platform's data directory, e.g.
    /// ~/.local/share/p2p-chat on Linux.
    #[arg(long, global = true, env = "P2P_CHAT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Address to accept peers on while the chat window, `connect` or `listen` runs.
    /// Use port 0 to let the system pick a free port.
    #[arg(long, global = true, env = "P2P_CHAT_LISTEN", value_name = "ADDR", default_value = DEFAULT_LISTEN,
          value_parser = parse_listen)]
    pub listen: std::net::SocketAddr,

    /// Do not ring the terminal bell when a message arrives in a chat that is not shown.
    /// In the environment, any value but 0, false, no, off or empty turns the bell off.
    #[arg(long, global = true, env = "P2P_CHAT_NO_BELL",
          value_parser = clap::builder::FalseyValueParser::new())]
    pub no_bell: bool,

    /// Answer hole punches and relay offers only from people you have talked to (whose key is
    /// pinned): a stranger then never learns your address through a punch, and reaches you
    /// only if it can dial you, or through the mailbox. In the environment, any value but 0,
    /// false, no, off or empty turns this on.
    #[arg(long, global = true, env = "P2P_CHAT_REFUSE_STRANGERS",
          value_parser = clap::builder::FalseyValueParser::new())]
    pub refuse_strangers: bool,

    /// Do not ask the router for a port mapping (PCP, NAT-PMP or UPnP-IGD). By default the chat window and
    /// `listen` ask the router on the LAN to forward a public port to --listen, so that peers
    /// can dial us even behind a router that hole punching cannot cross; the mapping is
    /// renewed while we run and removed when we quit. In the environment, any value but 0,
    /// false, no, off or empty turns port mapping off.
    #[arg(long, global = true, env = "P2P_CHAT_NO_PORT_MAPPING",
          value_parser = clap::builder::FalseyValueParser::new())]
    pub no_port_mapping: bool,

    /// Never reveal your addresses to peers: the directory withholds them from your record and
    /// arranges no hole punch with you, your client never dials a peer (sessions open through
    /// the directory's relay only, both ways) and asks the router for no port mapping. Needs a
    /// directory with its relay on; messages wait in the mailbox otherwise. Costs a little
    /// latency, and the directory sees how much you and your contacts exchange (never what).
    /// In the environment, any value but 0, false, no, off or empty turns this on.
    #[arg(long, global = true, env = "P2P_CHAT_RELAY_ONLY",
          value_parser = clap::builder::FalseyValueParser::new())]
    pub relay_only: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try p2p-chat at once: an embedded directory and an echo peer on this machine, and the
    /// chat window open on a chat with it. Nothing is written to disk.
    Demo,

    /// Create an account on a directory, log in and save the profile.
    Register {
        /// Your username: 3-32 characters of a-z, 0-9, '_', '.', '-'. Prompted when absent.
        username: Option<String>,
        /// Directory URL, e.g. http://chat.example.org:27182.
        #[arg(long, env = "P2P_CHAT_SERVER", value_name = "URL")]
        server: String,
        /// Host (IP address or DNS name) other peers should dial to reach you, or `auto` for
        /// the address the directory sees you connect from (your public address behind NAT).
        /// Default: the address this machine uses to reach the directory.
        #[arg(long, value_name = "HOST")]
        host: Option<String>,
        /// Port other peers should dial to reach you. Default: the port of --listen.
        #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
        port: Option<u16>,
        /// The invite code the directory's operator gave you (24 hex digits; dashes and spaces
        /// do not matter). Directories register by invitation unless their operator opened
        /// them.
        #[arg(long, env = "P2P_CHAT_INVITE", value_name = "CODE")]
        invite: Option<String>,
        /// Read the password (8 to 72 bytes) from the first line of standard input instead of
        /// prompting.
        #[arg(long)]
        password_stdin: bool,
    },

    /// Log in again (for example after the token expired) and save the new token.
    Login {
        /// Username; default: the one in the profile.
        username: Option<String>,
        /// Directory URL; default: the one in the profile.
        #[arg(long, env = "P2P_CHAT_SERVER", value_name = "URL")]
        server: Option<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },

    /// Delete your account from the directory and forget the login token.
    Unregister {
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },

    /// Log out: revoke the login token on the directory and forget it.
    Logout,

    /// Change your password on the directory. Every login is revoked; log in again afterwards.
    Passwd {
        /// Read the current password from the first line of standard input and the new one
        /// from the second, instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },

    /// List everyone registered on the directory.
    Contacts {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },

    /// Check how peers can reach you: the address the directory sees, whether your router
    /// keeps one public port for every connection (an "easy" NAT, which hole punching can
    /// cross) or not ("hard"), whether it maps a port for you (PCP, NAT-PMP or UPnP-IGD), whether the
    /// directory can connect to your listening port (--listen), and whether the directory
    /// relays and times hole punches; each finding with what it means. Needs an account.
    Doctor,

    /// Show one user's directory record.
    Lookup {
        /// The username to look up.
        username: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },

    /// Open the chat window straight in a chat with one peer.
    Connect {
        /// The peer: USERNAME or --ip HOST:PORT.
        #[command(flatten)]
        target: Target,
        /// With --ip: the name to introduce yourself with (default: your username, or your
        /// login name on this machine).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },

    /// Send one message without the chat window, with the chat window's delivery rules.
    ///
    /// The message goes into the profile's outbox first, then over a direct session; a peer
    /// that cannot be reached gets it sealed in the directory's mailbox. Exit status: 0 when
    /// the peer confirmed it (delivered); 3 when it waits in the mailbox (deposited, not yet
    /// delivered); 1 when it failed (it is then marked failed and never sent later); 2 for
    /// bad arguments.
    #[command(
        override_usage = "p2p-chat send [OPTIONS] <USERNAME | --ip HOST:PORT | --group NAME> <TEXT>..."
    )]
    Send {
        /// USERNAME, then the TEXT (several words are joined with spaces); only the TEXT
        /// with --ip or --group. A text starting with '-' goes after `--`.
        #[arg(value_name = "TEXT", num_args = 1.., required = true)]
        words: Vec<String>,
        /// Post the TEXT to the group NAME (see `p2p-chat group`): stored, then sent to
        /// every member that can be reached now, each separately; for the others it is left
        /// sealed in the directory's mailbox (and sent again on a later session with you).
        /// Exit status 0 when every member confirmed it, 3 when some wait.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["ip", "name", "no_mailbox"])]
        group: Option<String>,
        /// Address of the peer as HOST:PORT; needs no directory and no registration (and
        /// has no mailbox to fall back on).
        #[arg(long, value_name = "HOST:PORT")]
        ip: Option<String>,
        /// With --ip: the name to introduce yourself with.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Only try a direct session; never leave the message in the mailbox.
        #[arg(long)]
        no_mailbox: bool,
        /// Print one JSON object on standard output: {"id", "outcome": "delivered" or
        /// "deposited", "path": "direct", "punched", "relayed" or "mailbox", "rtt_ms": round
        /// trip in ms or null}.
        #[arg(long)]
        json: bool,
    },

    /// Groups: conversations with several members (at most 50), carried pairwise.
    ///
    /// Every post and change goes to each member over its own end-to-end encrypted session;
    /// the directory learns nothing about a group. A command stores what it does first, then
    /// reaches each member that has group messages waiting from you (this command's, and any
    /// left from earlier ones) and waits for its receipts; for members that cannot be reached
    /// now they are left sealed in the directory's mailbox, which those members read at their
    /// next start. Exit status: 0 when every one of them confirmed; 3 when some wait; 1 when
    /// it failed; 2 for bad arguments.
    Group {
        /// What to do.
        #[command(subcommand)]
        command: GroupCommand,
    },

    /// Send a file to a peer, peer to peer, end-to-end encrypted, and wait until the peer has
    /// all of it with its SHA-256 checked.
    ///
    /// The peer sees the file's name, size and SHA-256 and accepts or declines it (`listen
    /// --accept-files DIR` accepts everything). A progress bar shows on a terminal. A broken
    /// session is reconnected and the transfer resumes from the bytes the peer has; after a
    /// crash, running the same command again resumes the same offer. Files never go through
    /// the directory's mailbox. Exit status: 0 once the peer confirmed the whole file; 1 when
    /// it was declined, cancelled or failed, or the peer cannot be reached; 2 for bad
    /// arguments.
    #[command(override_usage = "p2p-chat send-file [OPTIONS] <USERNAME | --ip HOST:PORT> <FILE>")]
    SendFile {
        /// USERNAME, then the FILE; only the FILE with --ip.
        #[arg(value_name = "FILE", num_args = 1..=2, required = true)]
        words: Vec<PathBuf>,
        /// Address of the peer as HOST:PORT; needs no directory and no registration.
        #[arg(long, value_name = "HOST:PORT")]
        ip: Option<String>,
        /// With --ip: the name to introduce yourself with.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Print one JSON object on standard output once delivered: {"id", "name", "size",
        /// "sha256", "peer", "outcome": "delivered"} (no progress bar).
        #[arg(long)]
        json: bool,
    },

    /// Accept peers without the chat window and print each received message as a line.
    ///
    /// Each message is stored in the local history (see `history`) before the sender gets
    /// its receipt, and a message resent after a reconnect is printed only once. With an
    /// account, the directory entry is kept online and the mailbox is taken at start and every
    /// 20 s. Runs until Ctrl+C or SIGTERM, then signs off.
    Listen {
        /// Print one JSON object per message, and per file offered, started, done or ended,
        /// instead of text.
        #[arg(long)]
        json: bool,
        /// Accept every file peers offer and save it into DIR (created if missing): names
        /// are made safe, an existing file is never replaced (`name (1).ext` instead), and a
        /// file is named `NAME.XXXXXXXX.partial` until its SHA-256 checks. Without it offers
        /// wait to be accepted.
        #[arg(long, value_name = "DIR")]
        accept_files: Option<PathBuf>,
        /// The name to introduce yourself with (default: your username).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },

    /// Print a conversation from the local history, oldest first.
    History {
        /// The other side of the conversation.
        username: String,
        /// How many of the newest messages to print.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// Print one JSON object per message instead of text.
        #[arg(long)]
        json: bool,
        /// Only the messages holding every word of TEXT (a word matches from its start, in
        /// any case and with or without accents), as /search in the chat window finds them;
        /// at most --limit of the newest, oldest first.
        #[arg(long, value_name = "TEXT")]
        grep: Option<String>,
    },

    /// Write a whole conversation to standard output as JSON lines, oldest first.
    Export {
        /// The other side of the conversation.
        username: String,
    },

    /// Print your username, your identity key's fingerprint and the key itself.
    Whoami,

    /// Print the effective settings, each with where it came from (command line, environment,
    /// config file or default), as TOML you can copy into the config file.
    Config,

    /// Print the shell completion script for SHELL, for example
    /// `p2p-chat completions bash > ~/.local/share/bash-completion/completions/p2p-chat`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },

    /// Show the safety number of your conversation with USERNAME, to compare with them
    /// (in person or by phone); mark their key verified, or accept a changed key.
    Verify {
        /// The contact.
        username: String,
        /// The numbers match: mark the contact's key verified.
        #[arg(long, conflicts_with = "accept_new_key")]
        confirm: bool,
        /// Trust the key the directory now lists for this contact instead of the pinned one.
        #[arg(long)]
        accept_new_key: bool,
    },

    /// Replace your identity key with a new one and publish it on the directory (for example
    /// when the old one may have leaked). Every contact will see a key change and must accept
    /// it. Needs a login.
    RotateKey {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// The peer to talk to: a username from the directory, or an address.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// Username of the peer, looked up in the directory.
    pub username: Option<String>,
    /// Address of the peer as HOST:PORT; needs no directory and no registration.
    #[arg(long, value_name = "HOST:PORT")]
    pub ip: Option<String>,
}

#[cfg(test)]
mod tests;
