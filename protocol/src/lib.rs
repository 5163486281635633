//! Wire types shared by the p2p-chat client and directory.
//!
//! - [`frame`]: the peer codec — a 4-byte big-endian length prefix ([`frame::MAX_FRAME_BYTES`]
//!   at most) around a postcard-encoded [`peer::PeerMessage`]. It is the only place where peer
//!   frames are turned into bytes and back.
//! - [`noise`]: the Noise handshake's preamble and [`noise::SecureCodec`], which encrypts
//!   every frame of a session after the handshake.
//! - [`sealed`]: mail sealed to a recipient's identity key for the directory's mailbox.
//! - [`peer`]: the peer-to-peer messages: handshake, chat, receipts, keepalive, goodbye.
//! - [`transfer`]: limits and rules of file transfers inside a session.
//! - [`group`]: groups as logs of changes, and the rules every member applies to them.
//! - [`api`]: request and response bodies of the directory's HTTP API.
//! - [`validate`]: the rules for usernames, passwords, hosts and ports, applied by both sides.
//!
//! The crate holds no I/O policy: it neither opens sockets nor spawns tasks.

pub mod api;
pub mod frame;
pub mod group;
pub mod noise;
pub mod peer;
pub mod sealed;
pub mod transfer;
pub mod validate;

pub use frame::{FrameError, MAX_FRAME_BYTES, PeerCodec};
pub use peer::{MessageId, PROTOCOL_VERSION, PeerMessage, RefuseReason};
