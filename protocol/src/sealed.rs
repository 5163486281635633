//! Sealed mail for the directory's offline mailbox: a message encrypted to the recipient's
//! identity key with the one-way Noise pattern X (`-> e, es, s, ss`), so only the recipient
//! can open it and it proves the sender's identity key. The directory stores the bytes and
//! learns nothing but their size.

use serde::{Deserialize, Serialize};

use crate::frame::FrameError;
use crate::noise::NOISE_MAX_MESSAGE_BYTES;
use crate::peer::PeerMessage;

/// The one-way pattern used for sealing.
pub const NOISE_X: &str = "Noise_X_25519_ChaChaPoly_BLAKE2s";

/// Prologue of every seal; a different label makes a seal from another context fail.
const PROLOGUE: &[u8] = b"p2p-chat sealed mail v1\n";

/// What a sealed mail carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// The sender's username (its identity key is proven by the seal).
    pub sender: String,
    /// A `Chat` or a `Receipt`.
    pub message: PeerMessage,
}

fn params() -> snow::params::NoiseParams {
    // A constant that snow's default resolver supports; parsing cannot fail.
    #[allow(clippy::expect_used)]
    NOISE_X.parse().expect("valid Noise protocol name")
}

fn crypto(e: snow::Error) -> FrameError {
    FrameError::Crypto(e.to_string())
}

/// Seals `mail` from the holder of `sender_secret` to the holder of the private half of
/// `recipient`.
///
/// # Errors
/// [`FrameError::TooLarge`] when the mail does not fit one Noise message (65,535 bytes);
/// [`FrameError::Crypto`] when encryption fails.
pub fn seal(
    sender_secret: &[u8; 32],
    recipient: &[u8; 32],
    mail: &Mail,
) -> Result<Vec<u8>, FrameError> {
    let plaintext = postcard::to_stdvec(mail)?;
    let mut state = snow::Builder::new(params())
        .local_private_key(sender_secret)
        .and_then(|b| b.remote_public_key(recipient))
        .and_then(|b| b.prologue(PROLOGUE))
        .and_then(|b| b.build_initiator())
        .map_err(crypto)?;
    let mut out = vec![0; NOISE_MAX_MESSAGE_BYTES];
    let len = state
        .write_message(&plaintext, &mut out)
        .map_err(|e| match e {
            snow::Error::Input => FrameError::TooLarge {
                len: plaintext.len(),
                max: NOISE_MAX_MESSAGE_BYTES,
            },
            other => crypto(other),
        })?;
    out.truncate(len);
    Ok(out)
}

/// Opens a sealed mail with `recipient_secret`; returns the sender's proven identity key and
/// the mail.
///
/// # Errors
/// [`FrameError::Unauthentic`] when the bytes were not sealed to this key or were altered;
/// [`FrameError::Malformed`] when they decrypt to something that is not a [`Mail`].
pub fn open(recipient_secret: &[u8; 32], sealed: &[u8]) -> Result<([u8; 32], Mail), FrameError> {
    let mut state = snow::Builder::new(params())
        .local_private_key(recipient_secret)
        .and_then(|b| b.prologue(PROLOGUE))
        .and_then(|b| b.build_responder())
        .map_err(crypto)?;
    let mut plaintext = vec![0; NOISE_MAX_MESSAGE_BYTES];
    let len = state
        .read_message(sealed, &mut plaintext)
        .map_err(|_| FrameError::Unauthentic)?;
    let sender = state
        .get_remote_static()
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .ok_or(FrameError::Unauthentic)?;
    let (mail, rest) = postcard::take_from_bytes::<Mail>(&plaintext[..len])?;
    if !rest.is_empty() {
        return Err(FrameError::TrailingBytes { extra: rest.len() });
    }
    Ok((sender, mail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keypair() -> ([u8; 32], [u8; 32]) {
        let kp = snow::Builder::new(params()).generate_keypair().unwrap();
        (
            kp.private.try_into().unwrap(),
            kp.public.try_into().unwrap(),
        )
    }

    fn mail(text: &str) -> Mail {
        Mail {
            sender: "alice".into(),
            message: PeerMessage::chat(text),
        }
    }

    #[test]
    fn only_the_recipient_opens_and_learns_the_sender() {
        let (alice_secret, alice_public) = keypair();
        let (bob_secret, bob_public) = keypair();
        let (carol_secret, _) = keypair();
        let original = mail("meet at noon");
        let sealed = seal(&alice_secret, &bob_public, &original).unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"meet at noon"));
        assert!(!sealed.windows(5).any(|w| w == b"alice"));
        let (sender, opened) = open(&bob_secret, &sealed).unwrap();
        assert_eq!(sender, alice_public);
        assert_eq!(opened, original);
        assert!(matches!(
            open(&carol_secret, &sealed),
            Err(FrameError::Unauthentic)
        ));
    }

    #[test]
    fn altered_or_truncated_seals_are_rejected() {
        let (alice_secret, _) = keypair();
        let (bob_secret, bob_public) = keypair();
        let sealed = seal(&alice_secret, &bob_public, &mail("x")).unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x04;
            assert!(open(&bob_secret, &bad).is_err(), "byte {i}");
        }
        assert!(open(&bob_secret, &sealed[..sealed.len() - 1]).is_err());
        assert!(open(&bob_secret, &[]).is_err());
    }

    #[test]
    fn oversize_mail_is_refused() {
        let (alice_secret, _) = keypair();
        let (_, bob_public) = keypair();
        let big = mail(&"x".repeat(NOISE_MAX_MESSAGE_BYTES));
        assert!(matches!(
            seal(&alice_secret, &bob_public, &big),
            Err(FrameError::TooLarge { .. })
        ));
    }
}
