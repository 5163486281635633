//! Slows down password guessing against one account.
//!
//! After [`LoginBackoff::free_failures`] wrong passwords for a username, every further
//! password check for it (login, unregister, password change) first waits a delay that doubles
//! with each failure, up to [`LoginBackoff::max_delay`]. The check itself still runs: the right
//! password always works, only later, and resets the count. There is no lockout, so an
//! attacker cannot keep the owner out — at worst they make the owner wait `max_delay`.
//! Failures are forgotten [`LoginBackoff::forget_after`] after the last one.
//!
//! The counts live in the database
//! ([`Store::count_password_check`](crate::Store::count_password_check)), so every directory
//! process sharing it slows a guesser down alike: N processes give no more tries than one. A
//! check is counted before it runs, so concurrent guesses each wait longer than the last.
//! Why not governor's keyed limiter (which `crate::limits` uses per address):
//! docs/decisions/0006-login-backoff-in-the-database.md.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Wrong passwords allowed before the delay starts: 5, room for typos.
pub const DEFAULT_FREE_FAILURES: u32 = 5;
/// First delay: 250 ms.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest delay: 4 s, short enough for the owner, long enough to make guessing slow.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(4);
/// Failures are forgotten 15 minutes after the last one.
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// How failed password checks slow down the next ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginBackoff {
    /// Wrong passwords without any delay.
    pub free_failures: u32,
    /// Delay after the first failure beyond the free ones; doubles with each further one.
    pub base_delay: Duration,
    /// Cap of the delay.
    pub max_delay: Duration,
    /// Failures older than this (counted from the last one) are forgotten.
    pub forget_after: Duration,
}

impl Default for LoginBackoff {
    fn default() -> Self {
        Self {
            free_failures: DEFAULT_FREE_FAILURES,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            forget_after: DEFAULT_FORGET_AFTER,
        }
    }
}

impl LoginBackoff {
    /// The delay before the next check after `failures` wrong passwords.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(self.free_failures).filter(|&n| n > 0) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(beyond - 1).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The time at or before which a last failure is forgotten, seen at `now`.
    pub fn forget_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        chrono::Duration::from_std(self.forget_after)
            .ok()
            .and_then(|age| now.checked_sub_signed(age))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_cap() {
        let backoff = LoginBackoff::default();
        let ms = |n| backoff.delay_after(n).as_millis();
        assert_eq!((ms(0), ms(5)), (0, 0));
        assert_eq!((ms(6), ms(7), ms(8), ms(9)), (250, 500, 1000, 2000));
        assert_eq!((ms(10), ms(11), ms(u32::MAX)), (4000, 4000, 4000));
    }

    #[test]
    fn failures_are_forgotten_after_the_window() {
        let backoff = LoginBackoff::default();
        let now = Utc::now();
        assert_eq!(
            backoff.forget_before(now),
            now - chrono::Duration::minutes(15)
        );
        let forever = LoginBackoff {
            forget_after: Duration::MAX,
            ..backoff
        };
        assert_eq!(forever.forget_before(now), DateTime::<Utc>::MIN_UTC);
    }
}
