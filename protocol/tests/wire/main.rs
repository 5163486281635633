//! Wire-format tests: golden bytes, round trips and hostile input.

use bytes::BytesMut;
use p2p_chat_protocol::frame::{decode_payload, encode_payload};
use p2p_chat_protocol::group::{Change, GroupId, GroupOp, Seen};
use p2p_chat_protocol::transfer::CancelReason;
use p2p_chat_protocol::{
    FrameError, MAX_FRAME_BYTES, MessageId, PeerCodec, PeerMessage, RefuseReason,
};
use tokio_util::codec::{Decoder, Encoder};

fn id() -> MessageId {
    MessageId(uuid::Uuid::from_u128(
        0x0192_3456_789a_7bcd_8ef0_1122_3344_5566,
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One sample of every variant with the bytes it must encode to. A failure here means the wire
/// format changed: bump `PROTOCOL_VERSION` and update `docs/protocol.md` before touching these.
fn golden() -> Vec<(PeerMessage, &'static str)> {
    vec![
        (
            PeerMessage::Hello {
                protocol_version: 1,
                username: "alice".into(),
                client: "p2p-chat/0.1.0".into(),
                listen_port: Some(55555),
            },
            "000105616c6963650e7032702d636861742f302e312e300183b203",
        ),
        (
            PeerMessage::Hello {
                protocol_version: 300,
                username: "bob".into(),
                client: String::new(),
                listen_port: None,
            },
            "00ac0203626f620000",
        ),
        (
            PeerMessage::Welcome {
                protocol_version: 1,
                username: "bob".into(),
            },
            "010103626f62",
        ),
        (
            PeerMessage::Refuse {
                reason: RefuseReason::VersionMismatch { supported: 1 },
                message: "old".into(),
            },
            "020001036f6c64",
        ),
        (
            PeerMessage::Refuse {
                reason: RefuseReason::Busy,
                message: String::new(),
            },
            "020100",
        ),
        (
            PeerMessage::Refuse {
                reason: RefuseReason::BadHello,
                message: String::new(),
            },
            "020200",
        ),
        (
            PeerMessage::Refuse {
                reason: RefuseReason::Duplicate,
                message: String::new(),
            },
            "020300",
        ),
        (
            PeerMessage::Chat {
                id: id(),
                sent_at_ms: 1_700_000_000_000,
                text: "hi ✓".into(),
            },
            "031001923456789a7bcd8ef011223344556680d095ffbc3106686920e29c93",
        ),
        (
            PeerMessage::Receipt { id: id() },
            "041001923456789a7bcd8ef0112233445566",
        ),
        (PeerMessage::Ping { nonce: 7 }, "0507"),
        (
            PeerMessage::Pong { nonce: u64::MAX },
            "06ffffffffffffffffff01",
        ),
        (
            PeerMessage::Goodbye {
                reason: "bye".into(),
            },
            "0703627965",
        ),
        (
            PeerMessage::Read { id: id() },
            "081001923456789a7bcd8ef0112233445566",
        ),
        (PeerMessage::Typing {}, "09"),
        (
            PeerMessage::Reply {
                id: id(),
                sent_at_ms: 1_700_000_000_000,
                text: "> bob: lunch?\nyes".into(),
                reply_to: MessageId(uuid::Uuid::from_u128(1)),
            },
            "0a1001923456789a7bcd8ef011223344556680d095ffbc31113e20626f623a206c756e63683f0a7965731000000000000000000000000000000001",
        ),
        (
            PeerMessage::FileOffer {
                id: id(),
                sent_at_ms: 1_700_000_000_000,
                name: "a.txt".into(),
                size: 300,
                sha256: [0xab; 32],
            },
            "0b1001923456789a7bcd8ef011223344556680d095ffbc3105612e747874ac02abababababababababababababababababababababababababababababababab",
        ),
        (
            PeerMessage::FileAccept {
                id: id(),
                offset: 128,
                prefix_sha256: [1; 32],
                credit_until: 2_097_280,
            },
            "0c1001923456789a7bcd8ef01122334455668001010101010101010101010101010101010101010101010101010101010101010180818001",
        ),
        (
            PeerMessage::FileCredit {
                id: id(),
                until: 4_194_304,
            },
            "0d1001923456789a7bcd8ef011223344556680808002",
        ),
        (
            PeerMessage::FileChunk {
                id: id(),
                offset: 65_536,
                data: bytes::Bytes::from_static(b"hi!"),
            },
            "0e1001923456789a7bcd8ef011223344556680800403686921",
        ),
        (
            PeerMessage::FileDone { id: id() },
            "0f1001923456789a7bcd8ef0112233445566",
        ),
        (
            PeerMessage::FileCancel {
                id: id(),
                reason: CancelReason::Invalid { detail: "x".into() },
            },
            "101001923456789a7bcd8ef0112233445566040178",
        ),
        (
            PeerMessage::GroupChange {
                group: group_id(),
                id: id(),
                change: leave(),
            },
            "111001923456789a7bcd8ef0aabbccddeeff1001923456789a7bcd8ef011223344556602616c0101000503",
        ),
        (
            PeerMessage::GroupInvite {
                group: group_id(),
                id: id(),
                changes: vec![leave()],
            },
            "121001923456789a7bcd8ef0aabbccddeeff1001923456789a7bcd8ef01122334455660102616c0101000503",
        ),
        (
            PeerMessage::GroupPost {
                group: group_id(),
                id: id(),
                sent_at_ms: 5,
                text: "hi".into(),
                reply_to: Some(id()),
                seen: Seen(vec![("al".into(), 1)]),
            },
            "131001923456789a7bcd8ef0aabbccddeeff1001923456789a7bcd8ef011223344556605026869011001923456789a7bcd8ef01122334455660102616c01",
        ),
    ]
}

fn group_id() -> GroupId {
    GroupId(uuid::Uuid::from_u128(
        0x0192_3456_789a_7bcd_8ef0_aabb_ccdd_eeff,
    ))
}

/// A small change: "al" leaves (its change 1).
fn leave() -> Change {
    Change {
        author: "al".into(),
        seq: 1,
        lamport: 1,
        seen: Seen::default(),
        at_ms: 5,
        op: GroupOp::Leave,
    }
}

#[test]
fn every_message_has_golden_bytes() {
    for (msg, expected) in golden() {
        let bytes = encode_payload(&msg).unwrap();
        assert_eq!(hex(&bytes), expected, "encoding of {msg:?} changed");
        assert_eq!(decode_payload(&bytes).unwrap(), msg);
    }
    // Every variant appears at least once above.
    let kinds: std::collections::BTreeSet<_> = golden().iter().map(|(m, _)| m.kind()).collect();
    assert_eq!(
        kinds.len(),
        usize::from(p2p_chat_protocol::peer::GROUP_MESSAGES)
    );
    // The index is the wire tag.
    for (msg, expected) in golden() {
        assert_eq!(format!("{:02x}", msg.index()), expected[..2], "{msg:?}");
    }
}

#[test]
fn features_have_golden_bytes_and_read_every_release() {
    use p2p_chat_protocol::noise::Features;
    assert_eq!(hex(&Features::ours().to_bytes()), "14");
    assert_eq!(Features::from_payload(&[0x14]).unwrap(), Features::ours());
    // The release before groups (up to FileCancel) is sent no group frame.
    let files_only = Features::from_payload(&[0x11]).unwrap();
    assert!(files_only.understands(&PeerMessage::FileDone { id: id() }));
    assert!(!files_only.understands(&PeerMessage::GroupChange {
        group: group_id(),
        id: id(),
        change: leave(),
    }));
    // A release before features sends an empty payload: it knows Hello to Read.
    let legacy = Features::from_payload(&[]).unwrap();
    assert_eq!(legacy, Features::legacy());
    assert!(legacy.understands(&PeerMessage::Read { id: id() }));
    assert!(!legacy.understands(&PeerMessage::Typing {}));
    assert!(Features::ours().understands(&PeerMessage::Typing {}));
    // A newer peer's added fields are skipped; garbage is refused.
    assert_eq!(
        Features::from_payload(&[0x0c, 0x01, 0x02])
            .unwrap()
            .known_messages,
        12
    );
    assert!(Features::from_payload(&[0xff]).is_err());
    assert!(Features::from_payload(&[0xff, 0xff, 0xff, 0xff]).is_err());
}

#[test]
fn codec_prefixes_a_big_endian_length() {
    let mut buf = BytesMut::new();
    PeerCodec::new()
        .encode(PeerMessage::Ping { nonce: 7 }, &mut buf)
        .unwrap();
    assert_eq!(hex(&buf), "000000020507");
    let decoded = PeerCodec::new().decode(&mut buf).unwrap();
    assert_eq!(decoded, Some(PeerMessage::Ping { nonce: 7 }));
    assert!(buf.is_empty());
}

#[test]
fn codec_waits_for_a_whole_frame() {
    let mut full = BytesMut::new();
    PeerCodec::new()
        .encode(PeerMessage::chat("hello"), &mut full)
        .unwrap();
    let mut codec = PeerCodec::new();
    let mut partial = BytesMut::new();
    for (i, byte) in full.iter().enumerate() {
        partial.extend_from_slice(&[*byte]);
        let out = codec.decode(&mut partial).unwrap();
        assert_eq!(out.is_some(), i == full.len() - 1, "at byte {i}");
    }
}

#[test]
fn oversize_length_prefix_is_rejected_before_the_payload_arrives() {
    let mut buf = BytesMut::from(&((MAX_FRAME_BYTES as u32) + 1).to_be_bytes()[..]);
    match PeerCodec::new().decode(&mut buf) {
        Err(FrameError::TooLarge { len, max }) => {
            assert_eq!(len, MAX_FRAME_BYTES + 1);
            assert_eq!(max, MAX_FRAME_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The largest length that is allowed is merely incomplete, not an error.
    let mut buf = BytesMut::from(&(MAX_FRAME_BYTES as u32).to_be_bytes()[..]);
    assert!(PeerCodec::new().decode(&mut buf).unwrap().is_none());
    let mut buf = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
    assert!(matches!(
        PeerCodec::new().decode(&mut buf),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn oversize_message_is_refused_when_encoding() {
    let msg = PeerMessage::chat("x".repeat(MAX_FRAME_BYTES));
    let mut buf = BytesMut::new();
    assert!(matches!(
        PeerCodec::new().encode(msg, &mut buf),
        Err(FrameError::TooLarge { .. })
    ));
    assert!(buf.is_empty());
}

#[test]
fn garbage_and_trailing_bytes_are_errors() {
    assert!(matches!(decode_payload(&[]), Err(FrameError::Malformed(_))));
    assert!(matches!(
        decode_payload(&[0xff, 0xff]),
        Err(FrameError::Malformed(_))
    ));
    assert!(matches!(
        decode_payload(&[0x63]),
        Err(FrameError::Malformed(_))
    ));
    // A Ping followed by one stray byte.
    assert!(matches!(
        decode_payload(&[0x05, 0x07, 0x00]),
        Err(FrameError::TrailingBytes { extra: 1 })
    ));
    // Invalid UTF-8 in a string.
    assert!(matches!(
        decode_payload(&[0x07, 0x01, 0xff]),
        Err(FrameError::Malformed(_))
    ));
}

#[test]
fn malformed_frames_are_explained_in_words_not_decoder_jargon() {
    for (bytes, says) in [
        (&[][..], "ends before the message does"),
        (&[0x63][..], "unknown kind of message"),
        (&[0x07, 0x01, 0xff][..], "invalid value"),
    ] {
        let text = decode_payload(bytes).unwrap_err().to_string();
        assert!(text.contains(says), "{bytes:?}: {text}");
        assert!(text.contains("p2p-chat peer"), "{text}");
        assert!(!text.to_lowercase().contains("serde"), "{text}");
    }
}

mod arbitrary;
