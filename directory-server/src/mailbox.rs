//! The offline mailbox's limits ([`MailboxLimits`]) and the task that purges expired
//! messages ([`purge_periodically`]). The routes are in `routes/mailbox.rs`, the statements in
//! the store.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use p2p_chat_protocol::api::{MAX_BODY_BYTES, MAX_SEALED_BYTES};

use crate::state::SECS_PER_DAY;
use crate::store::{MailboxQuota, Store};
use crate::throttle::LoginBackoff;

/// Default number of messages one recipient's mailbox holds: 1000, far more than a contact
/// list sends during a holiday, few enough that a mailbox is quick to page through.
pub const DEFAULT_MAILBOX_MAX_MESSAGES: u32 = 1000;

/// Default sealed bytes one recipient's mailbox holds: 16 MiB, 256 messages of the largest
/// size, so that 1000 users with full mailboxes take at most 16 GiB.
pub const DEFAULT_MAILBOX_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Default sealed bytes the whole mailbox holds, all recipients together: 1 GiB. Accounts are
/// free to make, so the per-recipient limit alone does not bound the disk the mailbox takes.
pub const DEFAULT_MAILBOX_MAX_TOTAL_BYTES: u64 = 1024 * 1024 * 1024;

/// Default lifetime of a deposited message: 14 days.
pub const DEFAULT_MAILBOX_TTL_DAYS: u64 = 14;

/// Longest time between two purges of expired messages: 10 minutes. Expired messages are
/// never returned meanwhile; the purge only frees the space.
pub const MAX_PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Shortest time between two purges: 10 ms, so that a test's tiny lifetime does not turn the
/// purge into a busy loop.
pub const MIN_PURGE_INTERVAL: Duration = Duration::from_millis(10);

/// Room for the JSON around the base64 of a sealed message in a deposit body: 1 KiB.
const DEPOSIT_JSON_OVERHEAD: usize = 1024;

/// What the directory keeps for one recipient, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailboxLimits {
    /// Most messages waiting for one recipient.
    pub max_messages: u32,
    /// Most sealed bytes waiting for one recipient, all messages together.
    pub max_bytes: u64,
    /// Most sealed bytes waiting for all recipients together.
    pub max_total_bytes: u64,
    /// Largest sealed message, in bytes before base64; at most [`MAX_SEALED_BYTES`].
    pub max_message_bytes: usize,
    /// How long a message is kept when its recipient does not delete it.
    pub ttl: Duration,
}

impl Default for MailboxLimits {
    /// 1000 messages, 16 MiB, 1 GiB for everyone, 64 KiB per message, 14 days.
    fn default() -> Self {
        Self {
            max_messages: DEFAULT_MAILBOX_MAX_MESSAGES,
            max_bytes: DEFAULT_MAILBOX_MAX_BYTES,
            max_total_bytes: DEFAULT_MAILBOX_MAX_TOTAL_BYTES,
            max_message_bytes: MAX_SEALED_BYTES,
            ttl: Duration::from_secs(DEFAULT_MAILBOX_TTL_DAYS * SECS_PER_DAY),
        }
    }
}

impl MailboxLimits {
    /// These limits with every value in range: at least one message, byte and millisecond,
    /// and messages of at most [`MAX_SEALED_BYTES`].
    pub fn clamped(self) -> Self {
        Self {
            max_messages: self.max_messages.max(1),
            max_bytes: self.max_bytes.max(1),
            max_total_bytes: self.max_total_bytes.max(1),
            max_message_bytes: self.max_message_bytes.clamp(1, MAX_SEALED_BYTES),
            ttl: self.ttl.max(Duration::from_millis(1)),
        }
    }

    /// The byte and message limits, as the store enforces them.
    pub fn quota(&self) -> MailboxQuota {
        MailboxQuota {
            max_messages: self.max_messages,
            max_bytes: self.max_bytes,
            max_total_bytes: self.max_total_bytes,
        }
    }

    /// Length of the base64 text of the largest sealed message.
    pub fn max_sealed_text(&self) -> usize {
        self.max_message_bytes.div_ceil(3) * 4
    }

    /// Largest body `POST /mailbox/{recipient}` accepts: the base64 of the largest message
    /// plus room for the JSON around it, and never less than the other routes' limit.
    pub fn deposit_body_limit(&self) -> usize {
        (self.max_sealed_text() + DEPOSIT_JSON_OVERHEAD).max(MAX_BODY_BYTES)
    }

    /// How often expired messages are purged: every [`MAX_PURGE_INTERVAL`], or every `ttl`
    /// when that is shorter (but not more often than [`MIN_PURGE_INTERVAL`]).
    pub fn purge_interval(&self) -> Duration {
        self.ttl.clamp(MIN_PURGE_INTERVAL, MAX_PURGE_INTERVAL)
    }
}

/// Deletes expired messages, and counts of wrong passwords that `backoff` has forgotten, now
/// and then every `every`, for ever; failures are logged and retried at the next turn.
/// Spawned by [`crate::run`] and [`crate::run_tls`].
pub async fn purge_periodically(store: Arc<dyn Store>, every: Duration, backoff: LoginBackoff) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = Utc::now();
        match store.purge_expired_mail(now).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired mailbox messages deleted"),
            Err(err) => tracing::warn!(%err, "cannot purge expired mailbox messages"),
        }
        if let Err(err) = store
            .purge_password_failures(backoff.forget_before(now))
            .await
        {
            tracing::warn!(%err, "cannot purge forgotten password failures");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deposit_body_fits_the_largest_message() {
        let limits = MailboxLimits::default();
        assert_eq!(limits.max_sealed_text(), 87_384);
        assert_eq!(limits.deposit_body_limit(), 87_384 + 1024);
        let small = MailboxLimits {
            max_message_bytes: 10,
            ..limits
        };
        assert_eq!(small.max_sealed_text(), 16);
        assert_eq!(small.deposit_body_limit(), MAX_BODY_BYTES);
    }

    #[test]
    fn clamping_keeps_values_usable() {
        let limits = MailboxLimits {
            max_messages: 0,
            max_bytes: 0,
            max_total_bytes: 0,
            max_message_bytes: usize::MAX,
            ttl: Duration::ZERO,
        }
        .clamped();
        assert_eq!(limits.max_messages, 1);
        assert_eq!(limits.max_bytes, 1);
        assert_eq!(limits.max_message_bytes, MAX_SEALED_BYTES);
        assert_eq!(limits.ttl, Duration::from_millis(1));
        assert_eq!(limits.purge_interval(), MIN_PURGE_INTERVAL);
        assert_eq!(
            MailboxLimits::default().purge_interval(),
            MAX_PURGE_INTERVAL
        );
    }
}
