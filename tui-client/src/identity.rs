//! Our long-term identity: an X25519 key pair, and fingerprints for comparing keys by eye.
//!
//! The key pair is the Noise static key of every session. It is created on first use and kept
//! in `identity.json` in the profile directory (mode 0600); only the public half ever leaves
//! the machine.
//!
//! `p2p-chat rotate-key` replaces it in three steps: the new key goes to a side file,
//! [`PENDING_IDENTITY_FILE`], then to the directory, and only then is the side file renamed
//! over `identity.json` ([`Identity::commit_pending`]). [`Identity::load_or_create`] never
//! reads the side file, so a crash at any point leaves the old key in use; the next
//! `rotate-key` finishes or discards a leftover side file by comparing it with the key the
//! directory lists.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use p2p_chat_protocol::noise::Pattern;
use p2p_chat_protocol::validate::{self, PUBLIC_KEY_BYTES, key_hex};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::profile::write_private_file;

/// Name of the identity file inside the profile directory.
pub const IDENTITY_FILE: &str = "identity.json";
/// Name of the side file holding a new key while `rotate-key` publishes it.
pub const PENDING_IDENTITY_FILE: &str = "identity.json.new";

/// Domain-separation label hashed before a key when computing its fingerprint.
const FINGERPRINT_LABEL: &[u8] = b"p2p-chat fingerprint v1\0";
/// Groups of digits in one key's fingerprint.
const FINGERPRINT_GROUPS: usize = 6;
/// Digits per group.
const DIGITS_PER_GROUP: usize = 5;

/// A public identity key: 32 bytes (X25519, RFC 7748).
pub type PublicKey = [u8; PUBLIC_KEY_BYTES];

/// Our key pair.
#[derive(Clone)]
pub struct Identity {
    secret: [u8; PUBLIC_KEY_BYTES],
    public: PublicKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret half never appears in logs or panics.
        f.debug_struct("Identity")
            .field("public", &key_hex(&self.public))
            .finish_non_exhaustive()
    }
}

/// The identity file: only the secret half is stored; the public half is derived from it.
#[derive(Serialize, Deserialize)]
struct Stored {
    secret_key: String,
}

impl Identity {
    /// A fresh random key pair (from the operating system's random source, via snow).
    ///
    /// # Errors
    /// When the random source fails.
    pub fn generate() -> anyhow::Result<Identity> {
        let pair = snow::Builder::new(Pattern::XX.params())
            .generate_keypair()
            .map_err(|e| anyhow::anyhow!("cannot generate an identity key: {e}"))?;
        let secret = pair
            .private
            .as_slice()
            .try_into()
            .context("unexpected private key size")?;
        Ok(Self::from_secret(secret))
    }

    /// The key pair of a secret key (the public half per RFC 7748, via x25519-dalek).
    pub fn from_secret(secret: [u8; PUBLIC_KEY_BYTES]) -> Identity {
        let public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(secret));
        Identity {
            secret,
            public: public.to_bytes(),
        }
    }

    /// Loads the identity of the profile in `home`, creating and saving one on first use.
    ///
    /// # Errors
    /// When the file cannot be read or written, or is corrupt (the message names the file).
    pub fn load_or_create(home: &Path) -> anyhow::Result<Identity> {
        let path = Self::path(home);
        if let Some(identity) = Self::load_file(&path)? {
            return Ok(identity);
        }
        let identity = Self::generate()?;
        identity.save_file(&path)?;
        Ok(identity)
    }

    /// The key pair saved at `path`; `None` when there is no such file.
    fn load_file(path: &Path) -> anyhow::Result<Option<Identity>> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes).map(Some).with_context(|| {
                format!("the identity file {} is corrupt; restore it from a backup, or delete it to create a new identity (your contacts will see a key change)", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read the identity file {}", path.display())),
        }
    }

    /// Saves the key pair at `path`, atomically and readable only by the user.
    fn save_file(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(&Stored {
            secret_key: key_hex(&self.secret),
        })?;
        write_private_file(path, &json)
            .with_context(|| format!("cannot save the identity to {}", path.display()))
    }

    fn parse(bytes: &[u8]) -> anyhow::Result<Identity> {
        let stored: Stored = serde_json::from_slice(bytes)?;
        let secret = validate::public_key(&stored.secret_key)
            .map_err(|_| anyhow::anyhow!("the secret key is not 64 hex digits"))?;
        Ok(Self::from_secret(secret))
    }

    /// Path of the side file of an unfinished key rotation in the profile directory `home`.
    pub fn pending_path(home: &Path) -> PathBuf {
        home.join(PENDING_IDENTITY_FILE)
    }

    /// The new key of an unfinished rotation, if the side file exists.
    ///
    /// # Errors
    /// When the side file cannot be read or is corrupt.
    pub fn load_pending(home: &Path) -> anyhow::Result<Option<Identity>> {
        Self::load_file(&Self::pending_path(home))
    }

    /// Saves this key pair to the side file (mode 0600), leaving `identity.json` as it is.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_pending(&self, home: &Path) -> anyhow::Result<()> {
        self.save_file(&Self::pending_path(home))
    }

    /// Makes the key in the side file the identity: one atomic rename over `identity.json`.
    ///
    /// # Errors
    /// When there is no side file or the rename fails.
    pub fn commit_pending(home: &Path) -> anyhow::Result<()> {
        let (from, to) = (Self::pending_path(home), Self::path(home));
        std::fs::rename(&from, &to)
            .with_context(|| format!("cannot rename {} to {}", from.display(), to.display()))?;
        // Makes the rename durable; a failure here only risks the old key after a power cut,
        // which the next `rotate-key` repairs.
        if let Ok(dir) = std::fs::File::open(home) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Deletes the side file of an unfinished rotation; no side file is fine.
    ///
    /// # Errors
    /// When it exists but cannot be deleted.
    pub fn discard_pending(home: &Path) -> anyhow::Result<()> {
        let path = Self::pending_path(home);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot delete {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Path of the identity file in the profile directory `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(IDENTITY_FILE)
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The public key as 64 hex digits, as the directory stores it.
    pub fn public_hex(&self) -> String {
        key_hex(&self.public)
    }

    /// The private key, for the Noise handshake only.
    pub fn secret(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        &self.secret
    }
}

/// A key's fingerprint: 30 digits in six groups, e.g. `12345 67890 …`, derived from the
/// SHA-256 of a label and the key. Equal keys give equal fingerprints.
pub fn fingerprint(key: &PublicKey) -> String {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_LABEL)
        .chain_update(key)
        .finalize();
    let groups: Vec<String> = digest
        .chunks(5)
        .take(FINGERPRINT_GROUPS)
        .map(|chunk| {
            let n = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!(
                "{:0width$}",
                n % 10u64.pow(DIGITS_PER_GROUP as u32),
                width = DIGITS_PER_GROUP
            )
        })
        .collect();
    groups.join(" ")
}

/// The safety number of a conversation: both keys' fingerprints, the smaller first, so both
/// people see the same 60 digits (the idea of Signal's safety numbers).
pub fn safety_number(a: &PublicKey, b: &PublicKey) -> String {
    let (fa, fb) = (fingerprint(a), fingerprint(b));
    let (first, second) = if fa <= fb { (fa, fb) } else { (fb, fa) };
    format!("{first}\n{second}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let key = [7u8; 32];
        let fp = fingerprint(&key);
        assert_eq!(fp, fingerprint(&key));
        assert_eq!(fp.len(), 6 * 5 + 5);
        assert!(
            fp.split(' ')
                .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
        );
        assert_ne!(fp, fingerprint(&[8u8; 32]));
    }

    #[test]
    fn safety_numbers_are_the_same_from_both_sides() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(safety_number(&a, &b), safety_number(&b, &a));
        assert_ne!(safety_number(&a, &b), safety_number(&a, &[3u8; 32]));
    }

    #[test]
    fn identity_is_created_once_kept_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_create(dir.path()).unwrap();
        let again = Identity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.public(), again.public());
        assert_eq!(first.secret(), again.secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Identity::path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{first:?}").contains(&key_hex(first.secret())));
    }

    #[test]
    fn the_public_half_matches_what_snow_generates() {
        let pair = snow::Builder::new(Pattern::XX.params())
            .generate_keypair()
            .unwrap();
        let identity = Identity::from_secret(pair.private.as_slice().try_into().unwrap());
        assert_eq!(identity.public().as_slice(), pair.public.as_slice());
    }

    #[test]
    fn a_pending_key_is_ignored_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let old = Identity::load_or_create(home).unwrap();
        assert!(Identity::load_pending(home).unwrap().is_none());
        let new = Identity::generate().unwrap();
        new.save_pending(home).unwrap();
        assert_eq!(
            Identity::load_or_create(home).unwrap().public(),
            old.public()
        );
        let pending = Identity::load_pending(home).unwrap().unwrap();
        assert_eq!(pending.public(), new.public());
        Identity::commit_pending(home).unwrap();
        assert_eq!(
            Identity::load_or_create(home).unwrap().public(),
            new.public()
        );
        assert!(Identity::load_pending(home).unwrap().is_none());
        assert!(
            Identity::commit_pending(home).is_err(),
            "nothing left to commit"
        );
        Identity::generate().unwrap().save_pending(home).unwrap();
        Identity::discard_pending(home).unwrap();
        Identity::discard_pending(home).unwrap();
        assert_eq!(
            Identity::load_or_create(home).unwrap().public(),
            new.public()
        );
    }

    #[test]
    fn a_corrupt_identity_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Identity::path(dir.path()), b"{not json").unwrap();
        let err = Identity::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("corrupt") && err.contains(IDENTITY_FILE),
            "{err}"
        );
    }
}
