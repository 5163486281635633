//! The subcommands of `p2p-chat-directory`: one-off jobs and the operator's commands, which
//! run against the same database as a running directory.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;

/// One-off jobs of the `p2p-chat-directory` binary.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Copy a SQLite directory into an empty PostgreSQL database, then exit.
    ///
    /// Copies every account, login token and mailbox message from the SQLite database named
    /// by --database into the PostgreSQL database URL. Stop the directory first:
    /// what it writes during the copy is not copied. Afterwards start it with
    /// --database URL. The SQLite file is left as it was.
    MigrateTo {
        /// The PostgreSQL database to copy into: postgres://USER:PASSWORD@HOST:PORT/DATABASE.
        /// It must exist and have no accounts; the tables are created.
        #[arg(value_name = "URL")]
        url: String,
    },

    /// Make, list and revoke invite codes (with --registration invite, the default, a new
    /// account needs one). Runs against --database, beside a running directory.
    Invite {
        /// What to do with invites.
        #[command(subcommand)]
        command: InviteCommand,
    },

    /// List, inspect, disable, enable, delete accounts or reset their password. Runs against
    /// --database, beside a running directory.
    Users {
        /// What to do with accounts.
        #[command(subcommand)]
        command: UsersCommand,
    },

    /// What the offline mailbox holds. Runs against --database.
    Mailbox {
        /// What to show.
        #[command(subcommand)]
        command: MailboxCommand,
    },

    /// Write a consistent copy of the SQLite database to the new file PATH, while the directory
    /// keeps running. To restore, stop the directory and start it with --database
    /// sqlite://PATH (or copy the file over the old one). PostgreSQL: use pg_dump.
    Backup {
        /// The file to create; it must not exist yet.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },

    /// Check the settings (flags, environment and the --config file) and print each one with
    /// where it came from; a mistake in the file is named by file, line and key (exit 1).
    CheckConfig,

    /// Print the shell completion script for SHELL, for example
    /// `p2p-chat-directory completions bash > /etc/bash_completion.d/p2p-chat-directory`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// `p2p-chat-directory invite …`.
#[derive(Clone, Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invite code and print it (only its hash is stored: note it down).
    Create {
        /// How many accounts may register with it.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
        uses: u32,
        /// How long it works, e.g. 30m, 12h, 7d, 2w (default: for ever, until revoked).
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        expires: Option<Duration>,
        /// A note for `invite list`, such as whom it is for (one line, at most 200 characters).
        #[arg(long, value_parser = parse_note, value_name = "TEXT")]
        note: Option<String>,
    },
    /// List every invite: number, uses, expiry, state and note (never the code).
    List {
        /// One JSON object per invite on its own line, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an invite by the number `invite list` shows; accounts made with it stay.
    Revoke {
        /// The invite's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// `p2p-chat-directory users …`.
#[derive(Clone, Debug, Subcommand)]
pub enum UsersCommand {
    /// List every account with its state, last sign of life and waiting mail.
    List {
        /// One JSON object per account on its own line, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Show one account in detail.
    Show {
        /// The username (case-insensitive).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Disable an account: it cannot log in, its logins stop working, and lookups, listings
    /// and the mailbox treat it as absent; its name stays taken. `users enable` undoes it.
    Disable {
        /// The username (case-insensitive).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Enable a disabled account again; its unexpired logins work again.
    Enable {
        /// The username (case-insensitive).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Delete an account with its logins and mailbox; its name becomes free.
    Delete {
        /// The username (case-insensitive).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Give an account a new random password, print it once and end all its logins; the user
    /// logs in with it (`p2p-chat login`) and then picks their own (`p2p-chat passwd`).
    ResetPassword {
        /// The username (case-insensitive).
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// `p2p-chat-directory mailbox …`.
#[derive(Clone, Debug, Subcommand)]
pub enum MailboxCommand {
    /// Messages and bytes waiting, recipients, expired messages not purged yet, the oldest.
    Stats {
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// A duration such as `30m`, `12h`, `7d` or `2w` (humantime's syntax), at least one second.
fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value)
        .map_err(|err| format!("{err}; expected a duration such as 30m, 12h, 7d or 2w"))?;
    if duration < Duration::from_secs(1) {
        return Err("expected at least one second".into());
    }
    Ok(duration)
}

/// A note: one line of at most 200 characters, without control characters.
fn parse_note(value: &str) -> Result<String, String> {
    if value.chars().count() > 200 {
        return Err("at most 200 characters".into());
    }
    if value.chars().any(char::is_control) {
        return Err("one line without control characters".into());
    }
    Ok(value.trim().to_owned())
}
