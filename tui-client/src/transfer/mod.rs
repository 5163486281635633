//! File transfers: offers, the bytes on their way, resumption, and where received files land.
//!
//! One engine ([`Transfers`]) serves `send-file`, `listen --accept-files` and the chat window
//! alike. Its owner tells it about sessions ([`Transfers::session_opened`],
//! [`Transfers::session_closed`]) and hands it each [`crate::net::files::FileEvent`];
//! the engine answers the peer, runs each transfer in tasks of its own and reports how they
//! go as [`Report`]s. Every transfer is in the local store from the offer on, so it resumes
//! after a broken session or a restart of either side: the sender offers again, the
//! receiver accepts at the bytes it has (see [`p2p_chat_protocol::transfer`]).
//!
//! - [`names`]: sanitising peers' file names, partial and unique names.
//! - [`policy`]: which offers are taken without asking (one pure function).
//! - [`disk`]: hashing, the sender's reader and the receiver's writer (blocking).

pub mod disk;
mod engine;
pub mod names;
pub mod policy;
mod tasks;

use std::sync::atomic::{AtomicU64, Ordering};

pub use engine::{
    MAX_OPEN_FILES_PER_PEER, MAX_OPEN_INCOMING_FILES, Prepared, TransferError, Transfers, prepare,
};
use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::peer::now_unix_ms;

use crate::store::Transfer;

/// With no byte moving for this long, a running transfer is cancelled as stalled: 60 s.
pub const STALL_TIMEOUT_MS: u64 = 60_000;

/// How far a running transfer got: bytes hashed, sent or written, and when that last changed.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    moved_at_ms: AtomicU64,
}

impl Progress {
    /// A counter at 0, moved now.
    pub fn new() -> Self {
        let progress = Self::default();
        progress.moved_at_ms.store(now_unix_ms(), Ordering::Relaxed);
        progress
    }

    /// Sets the bytes done.
    pub fn set(&self, done: u64) {
        if self.done.swap(done, Ordering::Relaxed) != done {
            self.moved_at_ms.store(now_unix_ms(), Ordering::Relaxed);
        }
    }

    /// Bytes done.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// When the count last changed, unix ms.
    pub fn moved_at_ms(&self) -> u64 {
        self.moved_at_ms.load(Ordering::Relaxed)
    }
}

/// What happened to a transfer, for the owner to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// A peer offers a file and no rule took or refused it: the user decides
    /// ([`Transfers::accept`], [`Transfers::decline`]).
    Offered(Transfer),
    /// Bytes started moving (again), from `from` bytes on.
    Started {
        /// The transfer.
        transfer: Transfer,
        /// Where it (re)started, in bytes.
        from: u64,
    },
    /// The session broke; the transfer goes on with the next one.
    Paused {
        /// The transfer's id.
        id: MessageId,
    },
    /// The receiver has the whole file and its hash matched; for a received file, `path` is
    /// where it was saved.
    Finished {
        /// The transfer (its `path` is the saved file on the receiving side).
        transfer: Transfer,
    },
    /// Declined, cancelled or failed.
    Ended {
        /// The transfer.
        transfer: Transfer,
        /// Why, in words.
        reason: String,
    },
}

impl Report {
    /// The id of the transfer reported on.
    pub fn id(&self) -> MessageId {
        match self {
            Self::Offered(transfer)
            | Self::Started { transfer, .. }
            | Self::Finished { transfer }
            | Self::Ended { transfer, .. } => transfer.id,
            Self::Paused { id } => *id,
        }
    }
}

/// A size in words: `512 B`, `1.5 KiB`, `3.2 MiB`, `1.0 GiB` (binary units, IEC 80000-13).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The first 16 hex digits of a SHA-256, grouped by four: what users compare.
pub fn short_sha256(sha256: &p2p_chat_protocol::transfer::Sha256) -> String {
    sha256[..8]
        .chunks(2)
        .map(|pair| pair.iter().map(|b| format!("{b:02x}")).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
        assert_eq!(short_sha256(&[0xab; 32]), "abab abab abab abab");
    }
}
