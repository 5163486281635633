//! The operator's commands (`invite …`, `users …`, `mailbox stats`, `backup`): each runs once
//! against the store and returns the text to print, so tests read exactly what an operator
//! reads. They share the database with a running directory, whose next request sees the
//! change.

mod users;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::{InviteCommand, MailboxCommand};
use crate::registration::new_invite_code;
use crate::store::{InviteRow, NewInvite, Store, StoreError};

pub use users::users;

/// Why an operator's command failed; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No account has this name.
    #[error("no account named {0:?} — `p2p-chat-directory users list` shows them all")]
    NoSuchUser(String),
    /// The name cannot be a username.
    #[error("{0}")]
    InvalidName(String),
    /// No invite has this number, or it was revoked already.
    #[error("no usable invite {0} — `p2p-chat-directory invite list` shows them all")]
    NoSuchInvite(i64),
    /// The backup file exists already.
    #[error("{0} exists already; choose a new file name (backup never overwrites)")]
    Exists(String),
    /// The backup's folder does not exist.
    #[error("the folder {0} does not exist; create it first (backup makes only the file)")]
    NoFolder(String),
    /// The operating system's random source failed.
    #[error("cannot draw random bytes: {0}")]
    Random(String),
    /// Hashing the new password failed.
    #[error("cannot hash the new password: {0}")]
    Hash(String),
}

/// A time as the commands print it: `2026-12-01 09:30 UTC`.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Runs `invite create|list|revoke` at `now`.
///
/// # Errors
/// [`AdminError::NoSuchInvite`] for a revoke of an unknown or revoked invite; store failures.
pub async fn invites(
    store: &dyn Store,
    command: InviteCommand,
    now: DateTime<Utc>,
) -> Result<String, AdminError> {
    match command {
        InviteCommand::Create {
            uses,
            expires,
            note,
        } => {
            let code = new_invite_code().map_err(|e| AdminError::Random(e.to_string()))?;
            let expires_at = expires
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .and_then(|d| now.checked_add_signed(d));
            let invite = NewInvite {
                code_hash: code.hash,
                note: note.unwrap_or_default(),
                max_uses: Some(uses),
                created_at: now,
                expires_at,
            };
            let id = store.insert_invite(&invite).await?;
            let expiry = expires_at.map_or("never expires".to_owned(), |at| {
                format!("expires {}", when(at))
            });
            let plural = if uses == 1 { "" } else { "s" };
            Ok(format!(
                "{}\n\ninvite {id}: {uses} registration{plural}, {expiry}. Only its hash is \
                 stored: this is the one time the code is shown.\nA friend registers with:\n  \
                 p2p-chat register NAME --server URL-OF-THIS-DIRECTORY --invite {}\n",
                code.code, code.code
            ))
        }
        InviteCommand::List { json } => {
            let rows = store.invites().await?;
            if json {
                return Ok(rows.iter().map(|r| invite_json(r, now) + "\n").collect());
            }
            if rows.is_empty() {
                return Ok(
                    "No invites yet; `p2p-chat-directory invite create` makes one.\n".into(),
                );
            }
            let mut out = format!(
                "{:>4}  {:<7}  {:<20}  {:<8}  NOTE\n",
                "ID", "USES", "EXPIRES", "STATE"
            );
            for row in &rows {
                let uses = match row.max_uses {
                    Some(max) => format!("{}/{max}", row.uses),
                    None => row.uses.to_string(),
                };
                let expires = row.expires_at.map_or("never".to_owned(), when);
                out += &format!(
                    "{:>4}  {uses:<7}  {expires:<20}  {:<8}  {}\n",
                    row.id,
                    invite_state(row, now),
                    row.note
                );
            }
            Ok(out)
        }
        InviteCommand::Revoke { id } => {
            if store.revoke_invite(id, now).await? {
                Ok(format!(
                    "revoked invite {id}; accounts already made with it stay\n"
                ))
            } else {
                Err(AdminError::NoSuchInvite(id))
            }
        }
    }
}

/// `usable`, `used up`, `expired` or `revoked`.
fn invite_state(row: &InviteRow, now: DateTime<Utc>) -> &'static str {
    if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else if row.usable(now) {
        "usable"
    } else {
        "used up"
    }
}

fn invite_json(row: &InviteRow, now: DateTime<Utc>) -> String {
    json!({
        "id": row.id,
        "note": row.note,
        "uses": row.uses,
        "max_uses": row.max_uses,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "state": invite_state(row, now),
    })
    .to_string()
}

/// Runs `mailbox stats` at `now`.
///
/// # Errors
/// Store failures.
pub async fn mailbox(
    store: &dyn Store,
    command: MailboxCommand,
    now: DateTime<Utc>,
) -> Result<String, AdminError> {
    let MailboxCommand::Stats { json } = command;
    let stats = store.mailbox_stats(now).await?;
    if json {
        return Ok(json!({
            "messages": stats.messages,
            "bytes": stats.bytes,
            "recipients": stats.recipients,
            "expired": stats.expired,
            "oldest": stats.oldest,
        })
        .to_string()
            + "\n");
    }
    Ok(format!(
        "messages:   {} waiting for {} account(s)\nbytes:      {}\nexpired:    {} (purged \
         within minutes by the running directory)\noldest:     {}\n",
        stats.messages,
        stats.recipients,
        stats.bytes,
        stats.expired,
        stats.oldest.map_or("-".to_owned(), when),
    ))
}

/// Runs `backup PATH`.
///
/// # Errors
/// [`AdminError::Exists`] when `path` exists; [`StoreError::Unsupported`] on PostgreSQL;
/// store failures (a folder that does not exist, no permission).
pub async fn backup(store: &dyn Store, path: &Path) -> Result<String, AdminError> {
    if path.exists() {
        return Err(AdminError::Exists(path.display().to_string()));
    }
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(AdminError::NoFolder(folder.display().to_string()));
    }
    store.backup(path).await?;
    // Absolute, so the restore hint holds wherever the service runs.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "copied the database to {} ({bytes} bytes, readable by its owner only), consistent as \
         of now.\nTo restore: stop the directory, copy this file over its database file (and \
         delete that file's -wal and -shm files), start it again.\n",
        path.display(),
    ))
}
