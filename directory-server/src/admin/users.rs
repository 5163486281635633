//! `users list|show|disable|enable|delete|reset-password`.

use chrono::{DateTime, Utc};
use p2p_chat_protocol::validate;
use serde_json::json;

use super::{AdminError, when};
use crate::config::UsersCommand;
use crate::store::{AccountRow, Store};

/// Accounts read per query by `users list`.
const PAGE: u32 = 500;

/// Random bytes in a password made by `reset-password`: 12 (96 bits), printed as 24 hex
/// digits, well inside the 8–72 bytes a password may have.
const RESET_PASSWORD_BYTES: usize = 12;

/// Runs one `users` command at `now`; `bcrypt_cost` hashes a reset password.
///
/// # Errors
/// [`AdminError::InvalidName`] for a name that cannot be a username,
/// [`AdminError::NoSuchUser`] for an unknown one, store failures.
pub async fn users(
    store: &dyn Store,
    command: UsersCommand,
    now: DateTime<Utc>,
    bcrypt_cost: u32,
) -> Result<String, AdminError> {
    match command {
        UsersCommand::List { json } => list(store, json, now).await,
        UsersCommand::Show { name } => {
            let account = existing(store, &name, now).await?;
            Ok(show(&account, now))
        }
        UsersCommand::Disable { name } => {
            let account = existing(store, &name, now).await?;
            if account.disabled {
                return Ok(format!("{} was disabled already\n", account.username));
            }
            store.set_disabled(&account.username, true).await?;
            Ok(format!(
                "disabled {}: it cannot log in and is hidden from lookups; `users enable {}` \
                 undoes it\n",
                account.username, account.username
            ))
        }
        UsersCommand::Enable { name } => {
            let account = existing(store, &name, now).await?;
            if !account.disabled {
                return Ok(format!("{} was enabled already\n", account.username));
            }
            store.set_disabled(&account.username, false).await?;
            Ok(format!("enabled {}\n", account.username))
        }
        UsersCommand::Delete { name } => {
            let account = existing(store, &name, now).await?;
            if !store.delete_client(&account.username).await? {
                return Err(AdminError::NoSuchUser(account.username));
            }
            Ok(format!(
                "deleted {} with its logins and {} waiting message(s); the name is free again\n",
                account.username, account.mail_messages
            ))
        }
        UsersCommand::ResetPassword { name } => {
            let account = existing(store, &name, now).await?;
            let mut bytes = [0u8; RESET_PASSWORD_BYTES];
            getrandom::fill(&mut bytes).map_err(|e| AdminError::Random(e.to_string()))?;
            let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let secret = password.clone();
            let hash = tokio::task::spawn_blocking(move || bcrypt::hash(secret, bcrypt_cost))
                .await
                .map_err(|e| AdminError::Hash(e.to_string()))?
                .map_err(|e| AdminError::Hash(e.to_string()))?;
            if !store.set_password_hash(&account.username, &hash).await? {
                return Err(AdminError::NoSuchUser(account.username));
            }
            let user = &account.username;
            Ok(format!(
                "{password}\n\nthe new password of {user} (shown only this once); all of {user}'s \
                 logins ended. Give it to {user} privately: they run `p2p-chat login` with it, \
                 then `p2p-chat passwd` to choose their own.\n"
            ))
        }
    }
}

/// The account `name` names, disabled or not.
async fn existing(
    store: &dyn Store,
    name: &str,
    now: DateTime<Utc>,
) -> Result<AccountRow, AdminError> {
    let username =
        validate::username(name).map_err(|e| AdminError::InvalidName(e.message.clone()))?;
    store
        .account(&username, now)
        .await?
        .ok_or(AdminError::NoSuchUser(username))
}

async fn list(store: &dyn Store, json: bool, now: DateTime<Utc>) -> Result<String, AdminError> {
    let mut out = String::new();
    let mut after = String::new();
    let mut count = 0usize;
    if !json {
        out += &format!(
            "{:<32}  {:<16}  {:<20}  {:>6}  {:>5}\n",
            "NAME", "STATE", "LAST SEEN", "LOGINS", "MAIL"
        );
    }
    loop {
        let page = store.accounts(&after, PAGE, now).await?;
        for account in &page {
            count += 1;
            if json {
                out += &(account_json(account).to_string() + "\n");
            } else {
                out += &format!(
                    "{:<32}  {:<16}  {:<20}  {:>6}  {:>5}\n",
                    account.username,
                    state(account),
                    when(account.last_seen),
                    account.logins,
                    account.mail_messages
                );
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after.clone_from(&last.username),
            _ => break,
        }
    }
    if !json && count == 0 {
        return Ok("No accounts yet.\n".into());
    }
    Ok(out)
}

/// `disabled`, or `enabled` with `, running` while its client sends heartbeats.
fn state(account: &AccountRow) -> &'static str {
    match (account.disabled, account.heartbeat_at.is_some()) {
        (true, _) => "disabled",
        (false, true) => "enabled, running",
        (false, false) => "enabled",
    }
}

fn account_json(account: &AccountRow) -> serde_json::Value {
    json!({
        "username": account.username,
        "disabled": account.disabled,
        "host": account.host,
        "port": account.port,
        "public_key": account.public_key,
        "registered_at": account.registered_at,
        "last_seen": account.last_seen,
        "heartbeat_at": account.heartbeat_at,
        "logins": account.logins,
        "mail_messages": account.mail_messages,
        "mail_bytes": account.mail_bytes,
    })
}

fn show(account: &AccountRow, now: DateTime<Utc>) -> String {
    let heartbeat = account
        .heartbeat_at
        .map_or("none (not running)".to_owned(), |at| {
            let secs = now.signed_duration_since(at).num_seconds().max(0);
            format!("{} ({secs} s ago)", when(at))
        });
    format!(
        "username:    {}\nstate:       {}\naddress:     {}:{}\nkey:         {}\nregistered:  \
         {}\nlast seen:   {}\nheartbeat:   {heartbeat}\nlogins:      {}\nmailbox:     {} \
         message(s), {} bytes\n",
        account.username,
        if account.disabled {
            "disabled"
        } else {
            "enabled"
        },
        account.host,
        account.port,
        if account.public_key.is_empty() {
            "none yet"
        } else {
            &account.public_key
        },
        when(account.registered_at),
        when(account.last_seen),
        account.logins,
        account.mail_messages,
        account.mail_bytes,
    )
}
