//! `whoami` and `verify`, and the pin checks of the line-oriented commands.

use anyhow::bail;
use p2p_chat_protocol::validate;

use super::peer::{Loaded, load};
use crate::cli::GlobalOpts;
use crate::directory::{DirectoryClient, DirectoryError};
use crate::identity::{Identity, PublicKey, fingerprint, safety_number};
use crate::trust::{Decision, Listed, Origin, decide};

/// The explanation shown when a contact's key differs from the pinned one.
pub fn changed_key_message(name: &str, pinned: &PublicKey, offered: &PublicKey) -> String {
    format!(
        "{name}'s key changed: pinned {}, now {} — if {name} really has a new key (check with them), run `p2p-chat verify {name} --accept-new-key`; otherwise someone may be impersonating them",
        fingerprint(pinned),
        fingerprint(offered)
    )
}

/// What the directory says about a name's key.
enum Listing {
    /// It lists this key.
    Key(PublicKey),
    /// It lists no usable key: the name is not registered, or was registered before keys
    /// existed.
    None,
    /// It could not be asked.
    Unknown(DirectoryError),
}

/// The directory of the profile, for lookups (which need no login): the account's client, else
/// one for the saved directory while the profile still names a user there.
fn directory(ctx: &Loaded) -> Option<DirectoryClient> {
    if let Some(account) = &ctx.account {
        return Some(account.client.clone());
    }
    match (&ctx.profile.server, &ctx.profile.username) {
        (Some(server), Some(_)) => DirectoryClient::new(server).ok(),
        _ => None,
    }
}

async fn listing(client: &DirectoryClient, name: &str) -> Listing {
    match client.lookup(name).await {
        Ok(record) => validate::public_key(&record.public_key).map_or(Listing::None, Listing::Key),
        Err(DirectoryError::NotFound { .. }) => Listing::None,
        Err(e) => Listing::Unknown(e),
    }
}

/// Applies the trust rule ([`crate::trust::decide`]) to `key`, proven by a peer named `name`
/// and reached through `origin`, asking the profile's directory when the pin alone does not
/// decide. A first contact ([`Decision::PinNew`], or [`Decision::NewByAddress`], which a
/// script cannot ask about) is pinned here, with a note on stderr.
///
/// # Errors
/// Pins that cannot be saved.
pub(super) async fn judge(
    ctx: &mut Loaded,
    name: &str,
    key: &PublicKey,
    origin: Origin,
) -> anyhow::Result<Decision> {
    let pin = ctx.pins.get(name).copied();
    let listed = if pin.is_some_and(|p| p.key == *key) {
        Listed::Nothing
    } else {
        match directory(ctx) {
            None => Listed::Nothing,
            Some(client) => match listing(&client, name).await {
                Listing::Key(listed) => Listed::Key(listed),
                Listing::None => Listed::Nothing,
                Listing::Unknown(_) => Listed::Unknown,
            },
        }
    };
    let decision = decide(pin, listed, origin, key);
    if matches!(decision, Decision::PinNew | Decision::NewByAddress) {
        eprintln!(
            "note: first contact with {name}; pinned its key (fingerprint {})",
            fingerprint(key)
        );
        let pin = ctx.pins.pin(name, *key);
        ctx.store.save_pin(name, &pin).await?;
    }
    Ok(decision)
}

/// [`judge`], with every refusal as an error: accepts the pinned key and first contacts
/// (pinning them); refuses an impostor, a changed key, and a first incoming contact while the
/// directory cannot be asked.
///
/// # Errors
/// The refusals, each one line saying why and what to do; or pins that cannot be saved.
pub(super) async fn pin_or_refuse(
    ctx: &mut Loaded,
    name: &str,
    key: &PublicKey,
    origin: Origin,
) -> anyhow::Result<()> {
    refusal(name, key, judge(ctx, name, key, origin).await?)
}

/// `Ok` for a decision that accepts the key, else the error that explains the refusal.
///
/// # Errors
/// [`Decision::Changed`], [`Decision::Impostor`] and [`Decision::Unverifiable`].
pub(super) fn refusal(name: &str, key: &PublicKey, decision: Decision) -> anyhow::Result<()> {
    match decision {
        Decision::Trusted { .. } | Decision::PinNew | Decision::NewByAddress => Ok(()),
        Decision::Changed { expected } => {
            bail!("{}", changed_key_message(name, &expected, key))
        }
        Decision::Impostor => bail!(
            "this peer calls itself {name}, but its key (fingerprint {}) is neither the one \
             pinned for {name} nor the one the directory lists: someone else may be using the \
             name; refused",
            fingerprint(key)
        ),
        Decision::Unverifiable => bail!(
            "a first contact is pinned only once the directory has checked the name, and it \
             cannot be asked now — try again later"
        ),
    }
}

/// `p2p-chat whoami`.
///
/// # Errors
/// When the profile or identity cannot be read.
pub async fn whoami(global: &GlobalOpts) -> anyhow::Result<()> {
    let ctx = load(global).await?;
    let name = ctx
        .profile
        .username
        .as_deref()
        .unwrap_or("(not registered)");
    println!("username:    {name}");
    println!("fingerprint: {}", fingerprint(ctx.identity.public()));
    println!("public key:  {}", ctx.identity.public_hex());
    let pending = Identity::pending_path(&ctx.home);
    if pending.exists() {
        eprintln!(
            "note: an interrupted `p2p-chat rotate-key` left {}; run `p2p-chat rotate-key` \
             again to finish or undo it",
            pending.display()
        );
    }
    Ok(())
}

/// `p2p-chat verify USERNAME [--confirm | --accept-new-key]`. Works from the pin alone, with a
/// note, when the directory cannot be asked or lists no key for the name.
///
/// # Errors
/// When nothing is known about the contact, the directory's key differs from the pin (unless
/// accepted), `--accept-new-key` has no listed key to take, or the pins cannot be saved.
pub async fn verify(
    global: &GlobalOpts,
    username: &str,
    confirm: bool,
    accept_new_key: bool,
) -> anyhow::Result<()> {
    let mut ctx = load(global).await?;
    let name = validate::username(username)?;
    let client = directory(&ctx);
    let listing = match &client {
        Some(client) => listing(client, &name).await,
        None => Listing::None,
    };
    let pinned = ctx.pins.get(&name).map(|pin| pin.key);
    if accept_new_key && !matches!(listing, Listing::Key(_)) {
        bail!(
            "--accept-new-key takes the key the directory lists for {name}, and there is none \
             to take{}",
            match &listing {
                Listing::Unknown(e) => format!(" ({e})"),
                _ => String::new(),
            }
        );
    }
    let key = match (pinned, listing) {
        (Some(pin), Listing::Key(listed)) if pin != listed && accept_new_key => {
            let pin = ctx.pins.pin(&name, listed);
            ctx.store.save_pin(&name, &pin).await?;
            println!(
                "now trusting {name}'s new key (fingerprint {})",
                fingerprint(&listed)
            );
            listed
        }
        (Some(pin), Listing::Key(listed)) if pin != listed => {
            bail!("{}", changed_key_message(&name, &pin, &listed))
        }
        (Some(pin), Listing::Key(_)) => pin,
        (Some(pin), Listing::None) => {
            if client.is_some() {
                eprintln!("note: the directory lists no key for {name}; showing the pinned one");
            }
            pin
        }
        (Some(pin), Listing::Unknown(e)) => {
            eprintln!("note: showing the pinned key of {name}; the directory cannot be asked: {e}");
            pin
        }
        (None, Listing::Key(listed)) => listed,
        (None, Listing::Unknown(e)) => {
            bail!("no key of {name} is pinned, and the directory cannot be asked: {e}")
        }
        (None, Listing::None) => bail!(
            "no key of {name} is known: chat with them once, or register with a directory that lists them"
        ),
    };
    println!("safety number with {name} (compare it with what {name} sees):");
    println!("{}", safety_number(ctx.identity.public(), &key));
    if confirm {
        ctx.pins.pin(&name, key);
        if let Some(pin) = ctx.pins.verify(&name) {
            ctx.store.save_pin(&name, &pin).await?;
        }
        println!("{name}'s key is marked verified");
    } else if ctx.pins.get(&name).is_some_and(|pin| pin.verified) {
        println!("{name}'s key is verified");
    } else {
        println!("if the numbers match, run `p2p-chat verify {name} --confirm`");
    }
    Ok(())
}
