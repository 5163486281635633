//! The `p2p-chat group` subcommands.

use clap::Subcommand;

/// `p2p-chat group` commands. GROUP is a group's name (or id).
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group NAME with MEMBERS (usernames); you are its creator and first admin.
    New {
        /// The group's name (at most 64 bytes).
        name: String,
        /// The first members besides you.
        #[arg(value_name = "MEMBER", num_args = 1.., required = true)]
        members: Vec<String>,
        /// Print one JSON object: {"group", "name", "done", "delivered", "waiting"}.
        #[arg(long)]
        json: bool,
    },
    /// The groups you are a member of.
    List {
        /// One JSON object per group: {"group", "name", "members"}.
        #[arg(long)]
        json: bool,
    },
    /// The members of GROUP, with their role (creator, admin, member).
    Members {
        /// The group.
        group: String,
        /// One JSON object per member: {"member", "role", "key"}.
        #[arg(long)]
        json: bool,
    },
    /// Add MEMBER to GROUP (admins only); it gets the group, not what was said before.
    Add {
        /// The group.
        group: String,
        /// The username to add.
        member: String,
        /// As for `new`.
        #[arg(long)]
        json: bool,
    },
    /// Remove MEMBER from GROUP (admins only; never its creator); it gets nothing said after.
    Remove {
        /// The group.
        group: String,
        /// The username to remove.
        member: String,
        /// As for `new`.
        #[arg(long)]
        json: bool,
    },
    /// Leave GROUP.
    Leave {
        /// The group.
        group: String,
        /// As for `new`.
        #[arg(long)]
        json: bool,
    },
    /// Rename GROUP to NAME (admins only).
    Rename {
        /// The group.
        group: String,
        /// Its new name.
        name: String,
        /// As for `new`.
        #[arg(long)]
        json: bool,
    },
    /// Make MEMBER an admin of GROUP (its creator only).
    Admin {
        /// The group.
        group: String,
        /// The username.
        member: String,
        /// As for `new`.
        #[arg(long)]
        json: bool,
    },
}
