//! The session handshake: preamble, Noise (IK or XX), then `Hello` → `Welcome`/`Refuse`
//! inside the encrypted channel. See `docs/protocol.md` and `docs/security.md`.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use p2p_chat_protocol::frame::{decode_payload, encode_payload};
use p2p_chat_protocol::noise::{Features, Pattern, Preamble, RawCodec, SecureCodec, raw_codec};
use p2p_chat_protocol::{FrameError, PROTOCOL_VERSION, PeerMessage, RefuseReason, validate};
use tokio_util::codec::Framed;

use super::{LocalPeer, PeerKey, PeerStream};

/// A connection before the Noise handshake: raw length-delimited frames.
pub type RawFramed = Framed<PeerStream, RawCodec>;
/// A connection after the Noise handshake: encrypted `PeerMessage`s.
pub type SecureFramed = Framed<PeerStream, SecureCodec>;

/// Why a handshake did not produce a session.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The other side refused, with its reason.
    #[error("{reason}")]
    Refused {
        /// Machine-readable cause.
        reason: RefuseReason,
        /// The peer's explanation.
        message: String,
    },
    /// The connection closed before the handshake finished.
    #[error("the connection closed during the handshake")]
    Closed,
    /// The Noise handshake failed: wrong key, altered preamble, or not our protocol.
    #[error("the secure handshake failed ({0})")]
    Noise(String),
    /// A frame was not what the protocol expects at this point.
    #[error("{0}")]
    Protocol(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

fn noise(e: snow::Error) -> HandshakeError {
    HandshakeError::Noise(e.to_string())
}

/// Scratch space for one Noise message.
fn scratch() -> Vec<u8> {
    vec![0; p2p_chat_protocol::noise::NOISE_MAX_MESSAGE_BYTES]
}

async fn next_raw(raw: &mut RawFramed) -> Result<Bytes, HandshakeError> {
    match raw.next().await {
        Some(Ok(frame)) => Ok(frame.freeze()),
        Some(Err(e)) => Err(e.into()),
        None => Err(HandshakeError::Closed),
    }
}

/// Runs the Noise messages until the handshake is finished and returns the encrypted channel,
/// the peer's proven static key and the [`Features`] it announced. Ours go into message
/// `features_at` (0-based), the first one we write that is encrypted; the peer's come in the
/// payload of its messages (empty from releases before features). A cleartext `Refuse` in
/// place of a Noise message (sent before the acceptor starts its side) is reported as
/// [`HandshakeError::Refused`].
async fn noise_exchange(
    mut raw: RawFramed,
    mut state: snow::HandshakeState,
    features_at: usize,
) -> Result<(SecureFramed, PeerKey, Features), HandshakeError> {
    let mut buf = scratch();
    let ours = Features::ours().to_bytes();
    let mut theirs = Features::legacy();
    let mut message = 0;
    while !state.is_handshake_finished() {
        if state.is_my_turn() {
            let payload: &[u8] = if message == features_at { &ours } else { &[] };
            let len = state.write_message(payload, &mut buf).map_err(noise)?;
            raw.send(Bytes::copy_from_slice(&buf[..len])).await?;
        } else {
            let frame = next_raw(&mut raw).await?;
            match state.read_message(&frame, &mut buf) {
                Ok(0) => {}
                Ok(len) => {
                    theirs = Features::from_payload(&buf[..len])
                        .map_err(|e| HandshakeError::Protocol(format!("bad features: {e}")))?;
                }
                Err(e) => {
                    return Err(match decode_payload(&frame) {
                        Ok(PeerMessage::Refuse { reason, message }) => {
                            HandshakeError::Refused { reason, message }
                        }
                        _ => noise(e),
                    });
                }
            }
        }
        message += 1;
    }
    let key = state
        .get_remote_static()
        .and_then(|k| PeerKey::try_from(k).ok())
        .ok_or_else(|| HandshakeError::Noise("the peer proved no static key".into()))?;
    let transport = state.into_transport_mode().map_err(noise)?;
    Ok((raw.map_codec(|_| SecureCodec::new(transport)), key, theirs))
}

/// What the dialling side learned from a successful handshake.
pub struct Initiated {
    /// The encrypted channel.
    pub framed: SecureFramed,
    /// The acceptor's proven static key.
    pub key: PeerKey,
    /// The (validated) name from its `Welcome`.
    pub username: String,
    /// What it understands.
    pub features: Features,
}

/// The dialling side: preamble, Noise (IK when `expected` is known, else XX), `Hello`.
///
/// # Errors
/// [`HandshakeError`] naming what failed.
pub async fn initiate(
    stream: PeerStream,
    me: &LocalPeer,
    expected: Option<&PeerKey>,
) -> Result<Initiated, HandshakeError> {
    let mut raw = Framed::new(stream, raw_codec());
    let pattern = if expected.is_some() {
        Pattern::IK
    } else {
        Pattern::XX
    };
    let preamble = Preamble {
        protocol_version: PROTOCOL_VERSION,
        pattern,
    }
    .to_bytes();
    raw.send(Bytes::from(preamble.clone())).await?;
    let prologue = Preamble::prologue(&preamble);
    let mut builder = snow::Builder::new(pattern.params())
        .local_private_key(me.identity.secret())
        .and_then(|b| b.prologue(&prologue))
        .map_err(noise)?;
    if let Some(key) = expected {
        builder = builder.remote_public_key(key).map_err(noise)?;
    }
    let state = builder.build_initiator().map_err(noise)?;
    // Our features go in our last message, which is encrypted: the first of IK, the third
    // of XX (whose first travels before any key is agreed).
    let features_at = match pattern {
        Pattern::IK => 0,
        Pattern::XX => 2,
    };
    let (mut framed, key, features) = noise_exchange(raw, state, features_at).await?;
    framed
        .send(PeerMessage::hello(&me.username, me.listen_port))
        .await?;
    match framed.next().await.transpose()? {
        Some(PeerMessage::Welcome { username, .. }) => match validate::username(&username) {
            Ok(username) => Ok(Initiated {
                framed,
                key,
                username,
                features,
            }),
            Err(e) => Err(HandshakeError::Protocol(format!(
                "the peer's name is invalid: {e}"
            ))),
        },
        Some(PeerMessage::Refuse { reason, message }) => {
            Err(HandshakeError::Refused { reason, message })
        }
        Some(other) => Err(HandshakeError::Protocol(format!(
            "expected a welcome, got a {}",
            other.kind()
        ))),
        None => Err(HandshakeError::Closed),
    }
}

/// What the accepting side learned from a successful handshake.
pub struct Accepted {
    /// The encrypted channel.
    pub framed: SecureFramed,
    /// The dialler's proven static key.
    pub key: PeerKey,
    /// The dialler's (validated, case-folded) username.
    pub username: String,
    /// The port the dialler says it listens on.
    pub listen_port: Option<u16>,
    /// What the dialler understands.
    pub features: Features,
}

/// The accepting side: reads the preamble, refuses in cleartext when the version differs or
/// there is no room (`busy`), runs Noise as responder, then answers the `Hello`.
///
/// # Errors
/// [`HandshakeError`] naming what failed; refusals have already been sent to the peer.
pub async fn respond(
    stream: PeerStream,
    me: &LocalPeer,
    busy: bool,
) -> Result<Accepted, HandshakeError> {
    let mut raw = Framed::new(stream, raw_codec());
    let first = match next_raw(&mut raw).await {
        Ok(frame) => frame,
        Err(HandshakeError::Frame(e)) => {
            refuse_clear(&mut raw, RefuseReason::BadHello, e.to_string()).await;
            return Err(e.into());
        }
        Err(e) => return Err(e),
    };
    let preamble = match Preamble::from_bytes(&first) {
        Ok(preamble) => preamble,
        Err(e) => {
            refuse_clear(&mut raw, RefuseReason::BadHello, e.to_string()).await;
            return Err(e.into());
        }
    };
    if preamble.protocol_version != PROTOCOL_VERSION {
        let message = format!(
            "this peer speaks protocol version {PROTOCOL_VERSION}, you sent {}; both sides need a compatible p2p-chat release",
            preamble.protocol_version
        );
        let reason = RefuseReason::VersionMismatch {
            supported: PROTOCOL_VERSION,
        };
        refuse_clear(&mut raw, reason.clone(), message.clone()).await;
        return Err(HandshakeError::Refused { reason, message });
    }
    if busy {
        let message = "too many sessions, try again later".to_owned();
        refuse_clear(&mut raw, RefuseReason::Busy, message.clone()).await;
        return Err(HandshakeError::Refused {
            reason: RefuseReason::Busy,
            message,
        });
    }
    let prologue = Preamble::prologue(&first);
    let state = snow::Builder::new(preamble.pattern.params())
        .local_private_key(me.identity.secret())
        .and_then(|b| b.prologue(&prologue))
        .and_then(|b| b.build_responder())
        .map_err(noise)?;
    // Our only message (the second of either pattern) is encrypted.
    let (mut framed, key, features) = noise_exchange(raw, state, 1).await?;
    let hello = framed
        .next()
        .await
        .transpose()?
        .ok_or(HandshakeError::Closed)?;
    let PeerMessage::Hello {
        protocol_version,
        username,
        listen_port,
        ..
    } = hello
    else {
        let message = format!("expected a hello, got a {}", hello.kind());
        return Err(refuse(&mut framed, RefuseReason::BadHello, message).await);
    };
    if protocol_version != preamble.protocol_version {
        let message = "the hello's version differs from the preamble's".to_owned();
        return Err(refuse(&mut framed, RefuseReason::BadHello, message).await);
    }
    let username = match validate::username(&username) {
        Ok(name) => name,
        Err(e) => return Err(refuse(&mut framed, RefuseReason::BadHello, e.message).await),
    };
    let welcome = PeerMessage::Welcome {
        protocol_version: PROTOCOL_VERSION,
        username: me.username.clone(),
    };
    framed.send(welcome).await?;
    Ok(Accepted {
        framed,
        key,
        username,
        listen_port,
        features,
    })
}

/// Sends a refusal before the encrypted channel exists (nothing secret is in it).
async fn refuse_clear(raw: &mut RawFramed, reason: RefuseReason, message: String) {
    let msg = PeerMessage::Refuse {
        reason,
        message: super::session::clip(message),
    };
    if let Ok(payload) = encode_payload(&msg) {
        let _ = raw.send(Bytes::from(payload)).await;
    }
}

/// Sends an encrypted refusal and returns it as the error.
async fn refuse(
    framed: &mut SecureFramed,
    reason: RefuseReason,
    message: String,
) -> HandshakeError {
    let msg = PeerMessage::Refuse {
        reason: reason.clone(),
        message: super::session::clip(message.clone()),
    };
    let _ = framed.send(msg).await;
    HandshakeError::Refused { reason, message }
}
