//! What the [`Store`](super::Store) takes and returns for the offline mailbox.

use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::{MailId, MailboxItem, encode_sealed};

/// A sealed message to keep for a recipient. There is no sender: the directory does not
/// record who deposited a message.
#[derive(Clone, Debug)]
pub struct NewMail {
    /// Its id, fresh for each deposit.
    pub id: MailId,
    /// Case-folded username of the recipient.
    pub recipient: String,
    /// The sealed bytes, stored exactly as given; not empty.
    pub sealed: Vec<u8>,
    /// When it was deposited.
    pub deposited_at: DateTime<Utc>,
    /// When it stops being returned and may be purged.
    pub expires_at: DateTime<Utc>,
}

/// How much one recipient's mailbox may hold (unexpired messages count), and the whole
/// mailbox of the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxQuota {
    /// Most messages at once.
    pub max_messages: u32,
    /// Most sealed bytes at once, all messages together.
    pub max_bytes: u64,
    /// Most sealed bytes of all recipients together (stored ones count until purged).
    pub max_total_bytes: u64,
}

impl MailboxQuota {
    /// Whether a sealed message of `size` bytes fits beside what is held: `count` unexpired
    /// messages of `bytes` bytes in the recipient's mailbox, and `total` bytes in the whole
    /// mailbox. The recipient is known; the first limit it breaks is the answer. Both backends
    /// decide with this one rule.
    pub fn judge(&self, count: i64, bytes: i64, total: i64, size: i64) -> DepositOutcome {
        let after = |held: i64| u64::try_from(held.saturating_add(size)).unwrap_or(u64::MAX);
        if count >= i64::from(self.max_messages) {
            DepositOutcome::TooManyMessages
        } else if after(bytes) > self.max_bytes {
            DepositOutcome::TooManyBytes
        } else if after(total) > self.max_total_bytes {
            DepositOutcome::StorageFull
        } else {
            DepositOutcome::Stored
        }
    }
}

/// What became of a deposit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepositOutcome {
    /// The message is stored.
    Stored,
    /// No client has the recipient's name (perhaps it unregistered meanwhile).
    UnknownRecipient,
    /// The mailbox holds [`MailboxQuota::max_messages`] messages already.
    TooManyMessages,
    /// The message would take the mailbox over [`MailboxQuota::max_bytes`].
    TooManyBytes,
    /// The message would take the directory's whole mailbox over
    /// [`MailboxQuota::max_total_bytes`].
    StorageFull,
}

/// A stored message as its recipient fetches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailRow {
    /// Its id.
    pub id: MailId,
    /// The sealed bytes as deposited.
    pub sealed: Vec<u8>,
    /// When it was deposited.
    pub deposited_at: DateTime<Utc>,
}

impl MailRow {
    /// The item of a `GET /mailbox` answer, with the bytes in base64.
    pub fn to_item(&self) -> MailboxItem {
        MailboxItem {
            id: self.id,
            sealed: encode_sealed(&self.sealed),
            deposited_at: self.deposited_at,
        }
    }
}
