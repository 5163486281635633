//! The encrypted codec: handshakes in memory, then tampered, replayed, reordered and truncated
//! ciphertexts.

use bytes::BytesMut;
use p2p_chat_protocol::noise::{Pattern, Preamble, SecureCodec};
use p2p_chat_protocol::{FrameError, PROTOCOL_VERSION, PeerMessage};
use tokio_util::codec::{Decoder, Encoder};

struct Keys {
    private: Vec<u8>,
    public: Vec<u8>,
}

fn keypair() -> Keys {
    let kp = snow::Builder::new(Pattern::XX.params())
        .generate_keypair()
        .unwrap();
    Keys {
        private: kp.private,
        public: kp.public,
    }
}

/// Runs a whole handshake in memory; returns (initiator, responder) codecs.
fn handshake(
    pattern: Pattern,
    prologues: (&[u8], &[u8]),
) -> Result<(SecureCodec, SecureCodec), snow::Error> {
    let (alice, bob) = (keypair(), keypair());
    let mut init = snow::Builder::new(pattern.params())
        .local_private_key(&alice.private)?
        .prologue(prologues.0)?;
    if pattern == Pattern::IK {
        init = init.remote_public_key(&bob.public)?;
    }
    let mut init = init.build_initiator()?;
    let mut resp = snow::Builder::new(pattern.params())
        .local_private_key(&bob.private)?
        .prologue(prologues.1)?
        .build_responder()?;
    let mut buf = vec![0u8; 65535];
    let mut out = vec![0u8; 65535];
    while !(init.is_handshake_finished() && resp.is_handshake_finished()) {
        let (from, to) = if init.is_my_turn() {
            (&mut init, &mut resp)
        } else {
            (&mut resp, &mut init)
        };
        let n = from.write_message(&[], &mut buf)?;
        to.read_message(&buf[..n], &mut out)?;
    }
    assert_eq!(resp.get_remote_static(), Some(&alice.public[..]));
    assert_eq!(init.get_remote_static(), Some(&bob.public[..]));
    Ok((
        SecureCodec::new(init.into_transport_mode()?),
        SecureCodec::new(resp.into_transport_mode()?),
    ))
}

fn pair(pattern: Pattern) -> (SecureCodec, SecureCodec) {
    let preamble = Preamble {
        protocol_version: PROTOCOL_VERSION,
        pattern,
    }
    .to_bytes();
    let prologue = Preamble::prologue(&preamble);
    handshake(pattern, (&prologue, &prologue)).unwrap()
}

fn seal(codec: &mut SecureCodec, msg: &PeerMessage) -> BytesMut {
    let mut buf = BytesMut::new();
    codec.encode(msg, &mut buf).unwrap();
    buf
}

#[test]
fn both_patterns_carry_messages_both_ways_without_plaintext_on_the_wire() {
    for pattern in [Pattern::IK, Pattern::XX] {
        let (mut alice, mut bob) = pair(pattern);
        let secret = "the cake is in the oven";
        let mut wire = seal(&mut alice, &PeerMessage::chat(secret));
        assert!(!wire.windows(secret.len()).any(|w| w == secret.as_bytes()));
        assert!(
            matches!(bob.decode(&mut wire).unwrap(), Some(PeerMessage::Chat { text, .. }) if text == secret)
        );
        let mut wire = seal(&mut bob, &PeerMessage::Ping { nonce: 9 });
        assert_eq!(
            alice.decode(&mut wire).unwrap(),
            Some(PeerMessage::Ping { nonce: 9 })
        );
    }
}

#[test]
fn a_flipped_bit_anywhere_in_the_ciphertext_is_rejected() {
    let len = seal(&mut pair(Pattern::XX).0, &PeerMessage::chat("pay bob 10")).len();
    // Bytes 0-3 are the length prefix; every byte after it is ciphertext or tag.
    for i in 4..len {
        let (mut alice, mut bob) = pair(Pattern::XX);
        let mut wire = seal(&mut alice, &PeerMessage::chat("pay bob 10"));
        wire[i] ^= 0x01;
        assert!(
            matches!(bob.decode(&mut wire), Err(FrameError::Unauthentic)),
            "byte {i}"
        );
    }
}

#[test]
fn replayed_and_reordered_frames_are_rejected() {
    let (mut alice, mut bob) = pair(Pattern::IK);
    let _first = seal(&mut alice, &PeerMessage::chat("one"));
    let mut second = seal(&mut alice, &PeerMessage::chat("two"));
    assert!(
        matches!(bob.decode(&mut second), Err(FrameError::Unauthentic)),
        "reorder accepted"
    );

    let (mut alice, mut bob) = pair(Pattern::IK);
    let first = seal(&mut alice, &PeerMessage::chat("one"));
    assert!(bob.decode(&mut first.clone()).unwrap().is_some());
    assert!(
        matches!(bob.decode(&mut first.clone()), Err(FrameError::Unauthentic)),
        "replay accepted"
    );
}

#[test]
fn a_truncated_frame_at_the_end_of_the_stream_is_an_error() {
    let (mut alice, mut bob) = pair(Pattern::XX);
    let wire = seal(&mut alice, &PeerMessage::chat("cut me"));
    let mut cut = BytesMut::from(&wire[..wire.len() - 3]);
    assert!(
        bob.decode(&mut cut).unwrap().is_none(),
        "waits for the rest"
    );
    assert!(matches!(
        bob.decode_eof(&mut cut),
        Err(FrameError::Truncated { .. })
    ));
}

#[test]
fn a_different_prologue_fails_the_handshake() {
    let ours = Preamble {
        protocol_version: PROTOCOL_VERSION,
        pattern: Pattern::IK,
    }
    .to_bytes();
    let downgraded = Preamble {
        protocol_version: PROTOCOL_VERSION - 1,
        pattern: Pattern::IK,
    }
    .to_bytes();
    for pattern in [Pattern::IK, Pattern::XX] {
        let result = handshake(
            pattern,
            (&Preamble::prologue(&ours), &Preamble::prologue(&downgraded)),
        );
        assert!(
            result.is_err(),
            "{pattern:?} handshake succeeded with different prologues"
        );
    }
}

#[test]
fn preambles_round_trip_and_reject_garbage() {
    for pattern in [Pattern::IK, Pattern::XX] {
        let preamble = Preamble {
            protocol_version: 7,
            pattern,
        };
        assert_eq!(
            Preamble::from_bytes(&preamble.to_bytes()).unwrap(),
            preamble
        );
    }
    assert_eq!(
        Preamble {
            protocol_version: 1,
            pattern: Pattern::IK
        }
        .to_bytes(),
        [0x01, 0x00]
    );
    assert_eq!(
        Preamble {
            protocol_version: 1,
            pattern: Pattern::XX
        }
        .to_bytes(),
        [0x01, 0x01]
    );
    assert!(Preamble::from_bytes(&[]).is_err());
    assert!(Preamble::from_bytes(&[0x01, 0x02]).is_err());
    assert!(Preamble::from_bytes(&[0x01, 0x00, 0x00]).is_err());
}
