//! `whoami` and `verify`, and the pin checks of the line-oriented commands.

use anyhow::bail;
use p2p_chat_protocol::validate;

use super::peer::{Loaded, load};
use crate::cli::GlobalOpts;
use crate::identity::{PublicKey, fingerprint, safety_number};
use crate::pins::Trust;

/// The explanation shown when a contact's key differs from the pinned one.
pub fn changed_key_message(name: &str, pinned: &PublicKey, offered: &PublicKey) -> String {
    format!(
        "{name}'s key changed: pinned {}, now {} — if {name} really has a new key (check with them), run `p2p-chat verify {name} --accept-new-key`; otherwise someone may be impersonating them",
        fingerprint(pinned),
        fingerprint(offered)
    )
}

/// Pins `key` for `name` on first contact (saving the pins), accepts it when pinned, and
/// fails when it differs from the pin.
///
/// # Errors
/// A changed key, or pins that cannot be saved.
pub(super) fn pin_or_refuse(ctx: &mut Loaded, name: &str, key: &PublicKey) -> anyhow::Result<()> {
    match ctx.pins.check(name, key) {
        Trust::Pinned | Trust::Verified => Ok(()),
        Trust::Changed { pinned } => bail!("{}", changed_key_message(name, &pinned, key)),
        Trust::New => {
            eprintln!(
                "note: first contact with {name}; pinned its key (fingerprint {})",
                fingerprint(key)
            );
            ctx.pins.pin(name, *key);
            ctx.pins.save(&ctx.home)
        }
    }
}

/// `p2p-chat whoami`.
///
/// # Errors
/// When the profile or identity cannot be read.
pub fn whoami(global: &GlobalOpts) -> anyhow::Result<()> {
    let ctx = load(global)?;
    let name = ctx
        .profile
        .username
        .as_deref()
        .unwrap_or("(not registered)");
    println!("username:    {name}");
    println!("fingerprint: {}", fingerprint(ctx.identity.public()));
    println!("public key:  {}", ctx.identity.public_hex());
    Ok(())
}

/// `p2p-chat verify USERNAME [--confirm | --accept-new-key]`.
///
/// # Errors
/// When nothing is known about the contact, the directory cannot be asked, or the pins cannot
/// be saved.
pub async fn verify(
    global: &GlobalOpts,
    username: &str,
    confirm: bool,
    accept_new_key: bool,
) -> anyhow::Result<()> {
    let mut ctx = load(global)?;
    let name = validate::username(username)?;
    let listed = match &ctx.account {
        Some(account) => validate::public_key(&account.client.lookup(&name).await?.public_key).ok(),
        None => None,
    };
    let pinned = ctx.pins.get(&name).map(|pin| pin.key);
    let key = match (pinned, listed) {
        (Some(pin), Some(listed)) if pin != listed && accept_new_key => {
            ctx.pins.pin(&name, listed);
            ctx.pins.save(&ctx.home)?;
            println!(
                "now trusting {name}'s new key (fingerprint {})",
                fingerprint(&listed)
            );
            listed
        }
        (Some(pin), Some(listed)) if pin != listed => {
            bail!("{}", changed_key_message(&name, &pin, &listed))
        }
        (Some(pin), _) => pin,
        (None, Some(listed)) => listed,
        (None, None) => bail!(
            "no key of {name} is known: chat with them once, or register with a directory that lists them"
        ),
    };
    if accept_new_key && pinned == Some(key) && listed == Some(key) && !confirm {
        // Nothing changed; still show the number below.
    }
    println!("safety number with {name} (compare it with what {name} sees):");
    println!("{}", safety_number(ctx.identity.public(), &key));
    if confirm {
        ctx.pins.pin(&name, key);
        ctx.pins.verify(&name);
        ctx.pins.save(&ctx.home)?;
        println!("{name}'s key is marked verified");
    } else if ctx.pins.get(&name).is_some_and(|pin| pin.verified) {
        println!("{name}'s key is verified");
    } else {
        println!("if the numbers match, run `p2p-chat verify {name} --confirm`");
    }
    Ok(())
}
