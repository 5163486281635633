//! `logout` and `passwd`: the commands that end logins.

use std::path::Path;

use anyhow::{Context, bail};

use super::{NO_PROFILE, input, out};
use crate::cli::GlobalOpts;
use crate::directory::{self, DirectoryClient, DirectoryError};
use crate::profile::{self, Profile};

/// Warns on stderr, before the chat window takes the terminal, when the saved login token
/// would travel to the directory over plain HTTP (once per process, like every request that
/// carries it, so the window's own requests stay quiet). A profile that cannot be read is
/// left for the chat window to report.
pub fn warn_before_chat(global: &GlobalOpts) {
    let Ok(home) = profile::home_dir(global.home.as_deref()) else {
        return;
    };
    if let Ok(Profile {
        server: Some(server),
        token: Some(_),
        ..
    }) = Profile::load(&home)
    {
        directory::warn_before_using_token(&server);
    }
}

/// The saved directory, username and token; a message saying what to do when one is missing.
pub(super) fn logged_in(
    profile: &Profile,
    home: &Path,
) -> anyhow::Result<(String, String, String)> {
    let (Some(server), Some(username)) = (profile.server.clone(), profile.username.clone()) else {
        bail!(NO_PROFILE);
    };
    let Some(token) = profile.token.clone() else {
        bail!(
            "not logged in (no token in {}) — run `p2p-chat login` first",
            Profile::path(home).display()
        );
    };
    Ok((server, username, token))
}

fn forget_token(profile: &mut Profile, home: &Path) -> anyhow::Result<()> {
    profile.token = None;
    profile.token_expires_at = None;
    profile.save(home)?;
    Ok(())
}

/// Revokes the saved token on the directory and removes it from the profile. A token the
/// directory no longer accepts is removed too; when the directory cannot be reached, the token
/// stays so that the command can be retried.
pub(super) async fn logout(home: &Path) -> anyhow::Result<()> {
    let mut profile = Profile::load(home)?;
    if profile.server.is_some() && profile.username.is_some() && profile.token.is_none() {
        return out("Not logged in; nothing to do.\n");
    }
    let (server, username, token) = logged_in(&profile, home)?;
    let client = DirectoryClient::new(&server)?;
    match client.logout(&token).await {
        Ok(()) | Err(DirectoryError::TokenRejected) => {}
        Err(err) => {
            return Err(err).context("the login was not revoked and stays saved; try again");
        }
    }
    forget_token(&mut profile, home)?;
    out(&format!("Logged out {username} from {server}.\n"))
}

/// Changes the password, then logs in again with the new one (the directory revoked every
/// token, the saved one included).
pub(super) async fn passwd(home: &Path, password_stdin: bool) -> anyhow::Result<()> {
    let mut profile = Profile::load(home)?;
    let (server, username, token) = logged_in(&profile, home)?;
    let client = DirectoryClient::new(&server)?;
    let old = input::password(password_stdin, &format!("Current password of {username}: "))?;
    let new = input::new_password(password_stdin)?;
    if new == old {
        bail!("the new password is the same as the current one; nothing was changed");
    }
    client
        .change_password(&username, &token, &old, &new)
        .await?;
    // Every token is revoked now; a failed login below must not leave a dead one saved.
    forget_token(&mut profile, home)?;
    let login = client.login(&username, &new).await.with_context(|| {
        format!(
            "changed the password of {username}, but logging in again failed; run `p2p-chat login`"
        )
    })?;
    profile.token = Some(login.token);
    profile.token_expires_at = Some(login.expires_at);
    profile.save(home)?;
    out(&format!(
        "Changed the password of {username} on {server}; every other login was revoked and this \
         one renewed.\n"
    ))
}
