//! `rotate-key`: a new identity key, published on the directory before it replaces the old one.
//!
//! The order makes a crash harmless: the new key is saved to a side file, then published, and
//! only then renamed over `identity.json` (see [`crate::identity`]). A side file left behind
//! is finished or discarded by the next `rotate-key`, according to the key the directory lists.

use std::path::Path;

use anyhow::{Context, bail};
use p2p_chat_protocol::validate;

use super::session::logged_in;
use super::{input, out};
use crate::directory::{DirectoryClient, DirectoryError};
use crate::identity::{Identity, PublicKey, fingerprint};
use crate::profile::Profile;

/// Replaces the identity key of the profile in `home`, asking first unless `yes`.
pub(super) async fn rotate_key(home: &Path, yes: bool) -> anyhow::Result<()> {
    let profile = Profile::load(home)?;
    let (server, username, token) = logged_in(&profile, home)?;
    let client = DirectoryClient::new(&server)?;
    let old = Identity::load_or_create(home)?;
    let record = client.lookup(&username).await?;
    // An empty or malformed key (an account from before keys existed) is no key.
    let listed = validate::public_key(&record.public_key).ok();
    if let Some(pending) = resume(home, listed.as_ref())? {
        eprintln!(
            "note: finished an interrupted key rotation; the directory already listed the new key"
        );
        return report(&username, &server, old.public(), pending.public());
    }
    if let Some(listed) = listed.filter(|key| key != old.public()) {
        eprintln!(
            "warning: the directory lists another key than yours for {username} (fingerprint {}); \
             someone with your login may have replaced it — consider `p2p-chat passwd`, which \
             revokes every login",
            fingerprint(&listed)
        );
    }
    let question = format!(
        "Replace the identity key of {username}? Every contact will see a key change and must accept the new key."
    );
    if !yes && !input::confirm(&question, "pass --yes to rotate without a prompt")? {
        return out("Nothing was changed.\n");
    }

    let new = Identity::generate()?;
    new.save_pending(home)?;
    let (host, port) = record.address_to_keep();
    let published = client
        .publish_key(&username, &token, host, port, &new.public_hex())
        .await;
    match published {
        Ok(record) if record.public_key == new.public_hex() => {}
        Ok(_) => {
            Identity::discard_pending(home)?;
            bail!("the directory did not take the new key; your identity key was not changed");
        }
        // The request may have arrived before the connection failed: only the directory knows.
        Err(err @ DirectoryError::Unreachable { .. }) => {
            return Err(err).context(
                "the new key may or may not be published; run `p2p-chat rotate-key` again to \
                 finish or undo the rotation",
            );
        }
        Err(err) => {
            Identity::discard_pending(home)?;
            return Err(err).context("your identity key was not changed");
        }
    }
    Identity::commit_pending(home).context(
        "the directory lists your new key, but it could not replace the old one here; run \
         `p2p-chat rotate-key` again to finish",
    )?;
    report(&username, &server, old.public(), new.public())
}

/// Deals with the side file of an interrupted rotation: makes it the identity when the
/// directory lists its key (returning it), else deletes it.
fn resume(home: &Path, listed: Option<&PublicKey>) -> anyhow::Result<Option<Identity>> {
    let Some(pending) = Identity::load_pending(home)? else {
        return Ok(None);
    };
    if listed == Some(pending.public()) {
        Identity::commit_pending(home)?;
        return Ok(Some(pending));
    }
    Identity::discard_pending(home)?;
    eprintln!(
        "note: discarded the new key of an interrupted `rotate-key`; the directory never listed it"
    );
    Ok(None)
}

/// Both fingerprints, and what the contacts will see.
fn report(username: &str, server: &str, old: &PublicKey, new: &PublicKey) -> anyhow::Result<()> {
    out(&format!(
        "Published a new identity key for {username} on {server}.\n\
         old fingerprint: {}\n\
         new fingerprint: {}\n\
         Your contacts will see a key change and must accept it (/accept in the chat window, or \
         `p2p-chat verify {username} --accept-new-key`); tell them your new fingerprint over a \
         channel you trust. Restart any p2p-chat of this profile that is still running.\n",
        fingerprint(old),
        fingerprint(new),
    ))
}
