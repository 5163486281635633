//! File transfer inside a peer session: the limits and the reasons a transfer ends.
//!
//! A transfer is six [`crate::PeerMessage`]s (indices 11 to 16), sent only to peers whose
//! [`crate::noise::Features`] count them:
//!
//! ```text
//! sender                                   receiver
//!   FileOffer { id, name, size, sha256 } ──►   (stored; the user or a rule decides)
//!        ◄── FileAccept { id, offset, prefix_sha256, credit_until }
//!   FileChunk { id, offset, data } ───────►   (written, hashed)
//!        ◄── FileCredit { id, until }            (as the receiver writes)
//!   …                                          (all bytes there, SHA-256 checked)
//!        ◄── FileDone { id }
//! either side, at any point: FileCancel { id, reason }
//! ```
//!
//! Chunks never go beyond the receiver's credit, so each side buffers at most
//! [`FILE_WINDOW_BYTES`] of a transfer. After a broken session either side may start again:
//! the sender offers again, the receiver accepts at the bytes it has, and the sender checks
//! their hash (`prefix_sha256`) before it continues; on a mismatch it starts at 0.
//! `docs/protocol.md` ("File transfer") has the rules.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Most data bytes in one `FileChunk`: 63 KiB (64,512 bytes), so that a chunk with its
/// envelope (at most 64 bytes) fits one encrypted frame
/// ([`crate::noise::MAX_PLAINTEXT_BYTES`], 65,519 bytes).
pub const MAX_CHUNK_BYTES: usize = 63 * 1024;

/// Most bytes a receiver lets a sender have in flight: 2 MiB (32 full chunks). Large enough
/// to keep a path of 160 Mbit/s × 100 ms busy, small enough that a chat message queued behind
/// a transfer waits for at most this much data.
pub const FILE_WINDOW_BYTES: u64 = 2 * 1024 * 1024;

/// Largest file an offer may announce: 1 TiB (2^40 bytes). Larger offers are refused as
/// invalid: no disk a chat client saves to expects more from one message.
pub const MAX_FILE_BYTES: u64 = 1 << 40;

/// Longest file name an offer may carry, in bytes of UTF-8: 255, the limit of common file
/// systems (ext4, APFS, NTFS in UTF-16 units).
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// A SHA-256 digest (FIPS 180-4), 32 bytes.
pub type Sha256 = [u8; 32];

/// Why a transfer ended before the receiver had the whole file.
///
/// Encoded by index; variants are only appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// The receiver's user (or its rules) turned the offer down.
    Declined,
    /// A user stopped it.
    Cancelled,
    /// The sender can no longer read the file, or it changed since the offer.
    Unavailable,
    /// The received bytes do not hash to the offer's SHA-256.
    HashMismatch,
    /// The offer or a chunk broke the rules (name, size, offset or credit); the text says how.
    Invalid {
        /// What was wrong, at most [`crate::peer::MAX_REASON_BYTES`].
        detail: String,
    },
    /// The receiver cannot store it: disk full, not writable.
    CannotStore {
        /// What failed, at most [`crate::peer::MAX_REASON_BYTES`].
        detail: String,
    },
    /// Nothing moved for too long.
    Stalled,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Declined => f.write_str("declined"),
            Self::Cancelled => f.write_str("cancelled"),
            Self::Unavailable => {
                f.write_str("the sender's file is gone, unreadable or changed since the offer")
            }
            Self::HashMismatch => f.write_str("the received file does not match its SHA-256"),
            Self::Invalid { detail } => write!(f, "invalid transfer: {detail}"),
            Self::CannotStore { detail } => write!(f, "the receiver cannot store it: {detail}"),
            Self::Stalled => f.write_str("nothing moved for too long"),
        }
    }
}

/// What is wrong with an offer's fields, if anything: a name that is empty, longer than
/// [`MAX_FILE_NAME_BYTES`] or holds a NUL; a size over [`MAX_FILE_BYTES`]. The receiver still
/// sanitises the name before it names a file after it.
pub fn offer_problem(name: &str, size: u64) -> Option<String> {
    if name.is_empty() {
        Some("the file name is empty".into())
    } else if name.len() > MAX_FILE_NAME_BYTES {
        Some(format!(
            "the file name is {} bytes; the limit is {MAX_FILE_NAME_BYTES}",
            name.len()
        ))
    } else if name.contains('\0') {
        Some("the file name holds a NUL character".into())
    } else if size > MAX_FILE_BYTES {
        Some(format!(
            "the file is {size} bytes; the limit is {MAX_FILE_BYTES}"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_checked_for_name_and_size() {
        assert_eq!(offer_problem("a.txt", 0), None);
        assert_eq!(offer_problem(&"n".repeat(255), MAX_FILE_BYTES), None);
        assert!(offer_problem("", 1).unwrap().contains("empty"));
        assert!(offer_problem(&"n".repeat(256), 1).unwrap().contains("256"));
        assert!(offer_problem("a\0b", 1).unwrap().contains("NUL"));
        assert!(
            offer_problem("a", MAX_FILE_BYTES + 1)
                .unwrap()
                .contains("limit")
        );
    }

    #[test]
    fn a_full_chunk_fits_one_encrypted_frame() {
        let chunk = crate::PeerMessage::FileChunk {
            id: crate::MessageId(uuid::Uuid::max()),
            offset: u64::MAX,
            data: bytes::Bytes::from(vec![0xff; MAX_CHUNK_BYTES]),
        };
        let payload = crate::frame::encode_payload(&chunk).unwrap();
        assert!(payload.len() <= crate::noise::MAX_PLAINTEXT_BYTES);
        assert!(payload.len() - MAX_CHUNK_BYTES <= 64);
    }
}
