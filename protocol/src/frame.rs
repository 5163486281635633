//! The peer codec: length-delimited frames carrying postcard-encoded [`PeerMessage`]s.
//!
//! Layout of one frame on the TCP stream:
//!
//! ```text
//! +----------------------+---------------------------------------+
//! | length: u32, big end | payload: postcard(PeerMessage), length |
//! +----------------------+---------------------------------------+
//! ```
//!
//! The length counts payload bytes only. A length above [`MAX_FRAME_BYTES`] is rejected as soon
//! as the 4-byte prefix has arrived, before any buffer for the payload is reserved.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec, LengthDelimitedCodecError};

use crate::peer::PeerMessage;

/// Largest payload a frame may carry: 64 KiB (65,536 bytes).
///
/// Large enough for any chat message (text is capped at [`crate::peer::MAX_TEXT_BYTES`]) plus
/// the envelope and, later, encryption overhead; small enough to bound memory per peer.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Size of the length prefix in bytes (a big-endian `u32`).
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announced more than [`MAX_FRAME_BYTES`]; nothing was allocated.
    #[error("frame of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Announced (or, when encoding, actual) payload length in bytes.
        len: usize,
        /// The limit, [`MAX_FRAME_BYTES`].
        max: usize,
    },
    /// The payload is not a valid postcard encoding of a [`PeerMessage`]. Displays what was
    /// wrong in words (see [`malformed_reason`]), never the decoder's own jargon.
    #[error(
        "malformed frame: {} — is the other side a p2p-chat peer of a compatible version?",
        malformed_reason(.0)
    )]
    Malformed(#[from] postcard::Error),
    /// The payload decoded to a message but bytes were left over.
    #[error("malformed frame: {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// Number of bytes after the message.
        extra: usize,
    },
    /// A ciphertext failed authentication: it was tampered with, replayed, reordered or
    /// encrypted with other keys. Nothing of it is used.
    #[error("a frame failed authentication (tampered, replayed, reordered or forged)")]
    Unauthentic,
    /// The connection ended in the middle of a frame.
    #[error("the connection ended in the middle of a frame ({len} bytes left over)")]
    Truncated {
        /// Bytes of the incomplete frame that did arrive.
        len: usize,
    },
    /// Encryption failed (for example the nonce space is exhausted).
    #[error("encryption failed: {0}")]
    Crypto(String),
    /// The underlying transport failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes one message into a frame payload (without the length prefix).
///
/// # Errors
/// [`FrameError::TooLarge`] when the payload would exceed [`MAX_FRAME_BYTES`];
/// [`FrameError::Malformed`] if postcard cannot serialize the value.
pub fn encode_payload(msg: &PeerMessage) -> Result<Vec<u8>, FrameError> {
    let payload = postcard::to_stdvec(msg)?;
    if payload.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge {
            len: payload.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    Ok(payload)
}

/// What a postcard decoding error means for a frame from a peer, in words a user can act on.
pub fn malformed_reason(err: &postcard::Error) -> &'static str {
    use postcard::Error as E;
    match err {
        E::DeserializeUnexpectedEnd => "it ends before the message does",
        E::DeserializeBadEnum | E::SerdeDeCustom => {
            "it holds something this version does not understand (an unknown kind of message, \
             or an invalid field)"
        }
        E::DeserializeBadVarint => "a number in it is badly encoded",
        E::DeserializeBadBool
        | E::DeserializeBadChar
        | E::DeserializeBadUtf8
        | E::DeserializeBadOption => "a field in it holds an invalid value",
        _ => "it is not a p2p-chat message",
    }
}

/// Decodes one frame payload (without the length prefix) into a message.
///
/// # Errors
/// [`FrameError::Malformed`] for bytes that are not a message, [`FrameError::TrailingBytes`]
/// when a message is followed by extra bytes. Never panics, whatever the input.
pub fn decode_payload(payload: &[u8]) -> Result<PeerMessage, FrameError> {
    let (msg, rest) = postcard::take_from_bytes::<PeerMessage>(payload)?;
    if !rest.is_empty() {
        return Err(FrameError::TrailingBytes { extra: rest.len() });
    }
    Ok(msg)
}

/// A [`tokio_util::codec`] codec for [`PeerMessage`] frames; use it with `Framed`.
#[derive(Debug)]
pub struct PeerCodec {
    inner: LengthDelimitedCodec,
}

impl PeerCodec {
    /// A codec with a 4-byte big-endian length prefix and a [`MAX_FRAME_BYTES`] limit.
    pub fn new() -> Self {
        Self {
            inner: length_codec(),
        }
    }
}

impl Default for PeerCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for PeerCodec {
    type Item = PeerMessage;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<PeerMessage>, FrameError> {
        match decode_raw(&mut self.inner, src)? {
            Some(payload) => decode_payload(&payload).map(Some),
            None => Ok(None),
        }
    }
}

/// The length-delimited codec every frame uses: a 4-byte big-endian length prefix and at most
/// [`MAX_FRAME_BYTES`] of payload.
pub fn length_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(LENGTH_PREFIX_BYTES)
        .big_endian()
        .max_frame_length(MAX_FRAME_BYTES)
        .new_codec()
}

/// Takes one length-delimited frame off `src`, naming the announced length when it is over
/// [`MAX_FRAME_BYTES`].
///
/// # Errors
/// [`FrameError::TooLarge`] for an oversize length prefix, [`FrameError::Io`] otherwise.
pub fn decode_raw(
    codec: &mut LengthDelimitedCodec,
    src: &mut BytesMut,
) -> Result<Option<BytesMut>, FrameError> {
    match codec.decode(src) {
        Ok(frame) => Ok(frame),
        // The codec rejects an oversize prefix without consuming it, so the announced length
        // can still be read for a precise error.
        Err(e) if is_length_error(&e) && src.len() >= LENGTH_PREFIX_BYTES => {
            let len = (&src[..LENGTH_PREFIX_BYTES]).get_u32() as usize;
            Err(FrameError::TooLarge {
                len,
                max: MAX_FRAME_BYTES,
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn is_length_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<LengthDelimitedCodecError>())
}

impl Encoder<PeerMessage> for PeerCodec {
    type Error = FrameError;

    fn encode(&mut self, msg: PeerMessage, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(&msg, dst)
    }
}

impl Encoder<&PeerMessage> for PeerCodec {
    type Error = FrameError;

    fn encode(&mut self, msg: &PeerMessage, dst: &mut BytesMut) -> Result<(), FrameError> {
        let payload = encode_payload(msg)?;
        self.inner.encode(Bytes::from(payload), dst)?;
        Ok(())
    }
}
