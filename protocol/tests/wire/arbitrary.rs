//! Property tests of the codec: any sequence of messages round-trips, and arbitrary bytes
//! never panic a decoder.

use bytes::BytesMut;
use p2p_chat_protocol::frame::decode_payload;
use p2p_chat_protocol::group::{Change, GroupId, GroupOp, Member, Seen};
use p2p_chat_protocol::transfer::CancelReason;
use p2p_chat_protocol::{MessageId, PeerCodec, PeerMessage, RefuseReason};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn arb_id() -> impl Strategy<Value = MessageId> {
    any::<u128>().prop_map(|n| MessageId(uuid::Uuid::from_u128(n)))
}

fn arb_reason() -> impl Strategy<Value = RefuseReason> {
    prop_oneof![
        any::<u16>().prop_map(|supported| RefuseReason::VersionMismatch { supported }),
        Just(RefuseReason::Busy),
        Just(RefuseReason::BadHello),
        Just(RefuseReason::Duplicate),
    ]
}

fn arb_change() -> impl Strategy<Value = Change> {
    let text = ".{0,40}";
    let op = prop_oneof![
        (text, prop::collection::vec((text, any::<[u8; 32]>()), 0..3)).prop_map(
            |(name, members)| GroupOp::Create {
                name,
                members: members
                    .into_iter()
                    .map(|(username, key)| Member { username, key })
                    .collect(),
            }
        ),
        (text, any::<[u8; 32]>()).prop_map(|(username, key)| GroupOp::Add {
            member: Member { username, key }
        }),
        text.prop_map(|username| GroupOp::Remove { username }),
        Just(GroupOp::Leave),
        text.prop_map(|name| GroupOp::Rename { name }),
        text.prop_map(|username| GroupOp::MakeAdmin { username }),
    ];
    (text, any::<u32>(), any::<u64>(), any::<u64>(), op).prop_map(
        |(author, seq, lamport, at_ms, op)| Change {
            author,
            seq,
            lamport,
            seen: Seen::default(),
            at_ms,
            op,
        },
    )
}

fn arb_message() -> impl Strategy<Value = PeerMessage> {
    let text = ".{0,200}";
    prop_oneof![
        (any::<u16>(), text, text, any::<Option<u16>>()).prop_map(|(v, u, c, p)| {
            PeerMessage::Hello {
                protocol_version: v,
                username: u,
                client: c,
                listen_port: p,
            }
        }),
        (any::<u16>(), text).prop_map(|(v, u)| PeerMessage::Welcome {
            protocol_version: v,
            username: u
        }),
        (arb_reason(), text).prop_map(|(reason, message)| PeerMessage::Refuse { reason, message }),
        (arb_id(), any::<u64>(), text).prop_map(|(id, sent_at_ms, text)| PeerMessage::Chat {
            id,
            sent_at_ms,
            text
        }),
        arb_id().prop_map(|id| PeerMessage::Receipt { id }),
        any::<u64>().prop_map(|nonce| PeerMessage::Ping { nonce }),
        any::<u64>().prop_map(|nonce| PeerMessage::Pong { nonce }),
        text.prop_map(|reason| PeerMessage::Goodbye { reason }),
        arb_id().prop_map(|id| PeerMessage::Read { id }),
        Just(PeerMessage::Typing {}),
        (
            arb_id(),
            any::<u64>(),
            text,
            any::<u64>(),
            any::<[u8; 32]>()
        )
            .prop_map(
                |(id, sent_at_ms, name, size, sha256)| PeerMessage::FileOffer {
                    id,
                    sent_at_ms,
                    name,
                    size,
                    sha256
                }
            ),
        (arb_id(), any::<u64>(), any::<[u8; 32]>(), any::<u64>()).prop_map(
            |(id, offset, prefix_sha256, credit_until)| PeerMessage::FileAccept {
                id,
                offset,
                prefix_sha256,
                credit_until
            }
        ),
        (arb_id(), any::<u64>()).prop_map(|(id, until)| PeerMessage::FileCredit { id, until }),
        (
            arb_id(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(id, offset, data)| PeerMessage::FileChunk {
                id,
                offset,
                data: data.into()
            }),
        arb_id().prop_map(|id| PeerMessage::FileDone { id }),
        (arb_id(), text).prop_map(|(id, detail)| PeerMessage::FileCancel {
            id,
            reason: CancelReason::CannotStore { detail }
        }),
        (any::<u128>(), arb_id(), arb_change()).prop_map(|(g, id, change)| {
            PeerMessage::GroupChange {
                group: GroupId(uuid::Uuid::from_u128(g)),
                id,
                change,
            }
        }),
        (
            any::<u128>(),
            arb_id(),
            prop::collection::vec(arb_change(), 0..4)
        )
            .prop_map(|(g, id, changes)| PeerMessage::GroupInvite {
                group: GroupId(uuid::Uuid::from_u128(g)),
                id,
                changes,
            }),
        (
            any::<u128>(),
            arb_id(),
            any::<u64>(),
            text,
            prop::option::of(arb_id()),
            prop::collection::vec((text, any::<u32>()), 0..4)
        )
            .prop_map(|(g, id, sent_at_ms, text, reply_to, seen)| {
                PeerMessage::GroupPost {
                    group: GroupId(uuid::Uuid::from_u128(g)),
                    id,
                    sent_at_ms,
                    text,
                    reply_to,
                    seen: Seen(seen),
                }
            }),
    ]
}

proptest! {
    #[test]
    fn every_message_round_trips_through_the_codec(msgs in prop::collection::vec(arb_message(), 1..8)) {
        let mut codec = PeerCodec::new();
        let mut buf = BytesMut::new();
        for msg in &msgs {
            codec.encode(msg, &mut buf).unwrap();
        }
        let mut decoded = Vec::new();
        while let Some(msg) = codec.decode(&mut buf).unwrap() {
            decoded.push(msg);
        }
        prop_assert_eq!(decoded, msgs);
    }

    #[test]
    fn arbitrary_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_payload(&bytes);
    }

    #[test]
    fn arbitrary_streams_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut codec = PeerCodec::new();
        let mut buf = BytesMut::from(&bytes[..]);
        // Decode until the codec needs more input or reports an error.
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }

    #[test]
    fn small_frames_of_random_bytes_never_panic(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut buf = BytesMut::from(&(payload.len() as u32).to_be_bytes()[..]);
        buf.extend_from_slice(&payload);
        let _ = PeerCodec::new().decode(&mut buf);
    }
}
