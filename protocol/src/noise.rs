//! The encrypted session: a Noise handshake, then every frame encrypted and authenticated.
//!
//! Right after TCP connect the dialler sends one cleartext [`Preamble`] frame naming the
//! protocol version and the handshake pattern, then the Noise handshake runs as ordinary
//! length-delimited frames (Noise Protocol Framework, revision 34):
//!
//! - [`NOISE_IK`] when the dialler knows the acceptor's static key (from the directory or a
//!   pin): one round trip, and the acceptor's identity is proven before anything else.
//! - [`NOISE_XX`] when it does not (`connect --ip` to a stranger): both static keys are
//!   exchanged and proven in three messages.
//!
//! Both sides feed the preamble's bytes into the Noise prologue, so a preamble altered in
//! transit (a version downgrade, another pattern) makes the handshake fail. Afterwards
//! [`SecureCodec`] carries `PeerMessage`s as ChaCha20-Poly1305 ciphertexts; a frame that was
//! tampered with, replayed, reordered or cut short fails to decrypt and ends the session.

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use crate::frame::{self, FrameError};

use crate::peer::PeerMessage;

/// Handshake pattern when the dialler knows the acceptor's static key.
pub const NOISE_IK: &str = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
/// Handshake pattern when the dialler does not know the acceptor's static key.
pub const NOISE_XX: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";

/// Longest Noise message, in bytes (Noise specification, section 3).
pub const NOISE_MAX_MESSAGE_BYTES: usize = 65535;
/// Bytes of authentication tag that encryption adds to each message (ChaCha20-Poly1305).
pub const NOISE_TAG_BYTES: usize = 16;
/// Largest plaintext of one encrypted frame, so that its ciphertext stays within both the
/// Noise message limit and [`crate::MAX_FRAME_BYTES`].
pub const MAX_PLAINTEXT_BYTES: usize = NOISE_MAX_MESSAGE_BYTES - NOISE_TAG_BYTES;

/// Fixed prefix of the Noise prologue; the preamble's bytes follow it.
const PROLOGUE_PREFIX: &[u8] = b"p2p-chat noise prologue v1\n";

/// Which Noise pattern a session uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pattern {
    /// [`NOISE_IK`].
    IK,
    /// [`NOISE_XX`].
    XX,
}

impl Pattern {
    /// The Noise protocol name of the pattern.
    pub fn noise_name(self) -> &'static str {
        match self {
            Self::IK => NOISE_IK,
            Self::XX => NOISE_XX,
        }
    }

    /// Noise parameters for the pattern.
    pub fn params(self) -> snow::params::NoiseParams {
        // Both names are constants that snow's default resolver supports; parsing cannot fail.
        self.noise_name()
            .parse()
            .expect("valid Noise protocol name")
    }
}

/// The one cleartext frame a dialler sends before the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preamble {
    /// [`crate::PROTOCOL_VERSION`] of the dialler.
    pub protocol_version: u16,
    /// The handshake pattern that follows.
    pub pattern: Pattern,
}

impl Preamble {
    /// The preamble's bytes on the wire (postcard).
    pub fn to_bytes(self) -> Vec<u8> {
        // Serializing two small fields into a Vec cannot fail.
        postcard::to_stdvec(&self).unwrap_or_default()
    }

    /// Parses a preamble frame.
    ///
    /// # Errors
    /// [`FrameError::Malformed`] or [`FrameError::TrailingBytes`] for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrameError> {
        let (preamble, rest) = postcard::take_from_bytes::<Preamble>(bytes)?;
        if !rest.is_empty() {
            return Err(FrameError::TrailingBytes { extra: rest.len() });
        }
        Ok(preamble)
    }

    /// The Noise prologue both sides must use: a fixed label and the preamble's bytes.
    pub fn prologue(bytes: &[u8]) -> Vec<u8> {
        [PROLOGUE_PREFIX, bytes].concat()
    }
}

/// What a side understands beyond the session format, carried as the payload of its
/// encrypted handshake message (the dialler's last: message 1 of `IK`, 3 of `XX`; the
/// acceptor's: message 2 of either). Releases before features send empty payloads and ignore
/// payloads they receive, so a peer without features is read as
/// [`Features::legacy`]. Fields are only appended; a receiver ignores bytes after the
/// fields it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// How many [`PeerMessage`] variants the side understands: it can decode those whose
    /// [`PeerMessage::index`] is below this, and must be sent no others.
    pub known_messages: u16,
}

impl Features {
    /// This build's features.
    pub fn ours() -> Self {
        Self {
            known_messages: crate::peer::KNOWN_MESSAGES,
        }
    }

    /// What a peer that announced nothing understands.
    pub fn legacy() -> Self {
        Self {
            known_messages: crate::peer::LEGACY_KNOWN_MESSAGES,
        }
    }

    /// The payload bytes (postcard).
    pub fn to_bytes(self) -> Vec<u8> {
        // Serializing one small field into a Vec cannot fail.
        postcard::to_stdvec(&self).unwrap_or_default()
    }

    /// Reads a handshake payload: empty is [`Features::legacy`]; bytes after the known fields
    /// are ignored (a newer peer's additions).
    ///
    /// # Errors
    /// [`FrameError::Malformed`] when the fields cannot be read.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, FrameError> {
        if bytes.is_empty() {
            return Ok(Self::legacy());
        }
        let (features, _newer) = postcard::take_from_bytes::<Features>(bytes)?;
        Ok(features)
    }

    /// Whether a peer with these features can decode `message`.
    pub fn understands(self, message: &PeerMessage) -> bool {
        message.index() < self.known_messages
    }
}

/// A codec for raw frames (preamble, handshake messages, cleartext refusals): the same
/// 4-byte big-endian prefix and [`crate::MAX_FRAME_BYTES`] limit as every other frame, payload
/// untouched.
#[derive(Debug)]
pub struct RawCodec(LengthDelimitedCodec);

/// A [`RawCodec`].
pub fn raw_codec() -> RawCodec {
    RawCodec(frame::length_codec())
}

impl Decoder for RawCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        frame::decode_raw(&mut self.0, src)
    }
}

impl Encoder<Bytes> for RawCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode(payload, dst)?;
        Ok(())
    }
}

/// A codec for [`PeerMessage`]s encrypted with a finished Noise handshake's transport keys.
pub struct SecureCodec {
    raw: LengthDelimitedCodec,
    transport: snow::TransportState,
    scratch: Vec<u8>,
    /// The plaintext of the frame being encoded, kept between frames (no allocation each).
    plain: Vec<u8>,
}

impl std::fmt::Debug for SecureCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureCodec").finish_non_exhaustive()
    }
}

impl SecureCodec {
    /// A codec that encrypts with `transport` (the result of `into_transport_mode`).
    pub fn new(transport: snow::TransportState) -> Self {
        Self {
            raw: frame::length_codec(),
            transport,
            scratch: vec![0; NOISE_MAX_MESSAGE_BYTES],
            plain: Vec::with_capacity(NOISE_MAX_MESSAGE_BYTES),
        }
    }

    /// The peer's static public key proven during the handshake.
    pub fn remote_static(&self) -> Option<&[u8]> {
        self.transport.get_remote_static()
    }
}

impl Decoder for SecureCodec {
    type Item = PeerMessage;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<PeerMessage>, FrameError> {
        let Some(ciphertext) = frame::decode_raw(&mut self.raw, src)? else {
            return Ok(None);
        };
        let len = self
            .transport
            .read_message(&ciphertext, &mut self.scratch)
            .map_err(|_| FrameError::Unauthentic)?;
        frame::decode_payload(&self.scratch[..len]).map(Some)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<PeerMessage>, FrameError> {
        match self.decode(src)? {
            Some(msg) => Ok(Some(msg)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated { len: src.len() }),
        }
    }
}

impl Encoder<&PeerMessage> for SecureCodec {
    type Error = FrameError;

    /// Serialises `msg` into a buffer kept between frames and encrypts it straight into
    /// `dst` behind its length prefix: one copy of the plaintext, none of the ciphertext.
    fn encode(&mut self, msg: &PeerMessage, dst: &mut BytesMut) -> Result<(), FrameError> {
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        let plain = postcard::to_extend(msg, plain)?;
        let result = self.seal(&plain, dst);
        self.plain = plain;
        result
    }
}

impl SecureCodec {
    /// Encrypts `plain` into `dst` as one frame: a big-endian length, then the ciphertext.
    fn seal(&mut self, plain: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if plain.len() > MAX_PLAINTEXT_BYTES {
            return Err(FrameError::TooLarge {
                len: plain.len(),
                max: MAX_PLAINTEXT_BYTES,
            });
        }
        let start = dst.len();
        let body = start + frame::LENGTH_PREFIX_BYTES;
        dst.resize(body + plain.len() + NOISE_TAG_BYTES, 0);
        let written = self.transport.write_message(plain, &mut dst[body..]);
        let len = match written {
            Ok(len) => len,
            Err(e) => {
                dst.truncate(start);
                return Err(FrameError::Crypto(e.to_string()));
            }
        };
        dst.truncate(body + len);
        let prefix = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
        dst[start..body].copy_from_slice(&prefix);
        Ok(())
    }
}

impl Encoder<PeerMessage> for SecureCodec {
    type Error = FrameError;

    fn encode(&mut self, msg: PeerMessage, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(&msg, dst)
    }
}
