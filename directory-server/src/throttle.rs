//! Slows down password guessing against one account.
//!
//! After [`LoginBackoff::free_failures`] wrong passwords for a username, every further
//! password check for it (login, unregister, password change) first waits a delay that doubles
//! with each failure, up to [`LoginBackoff::max_delay`]. The check itself still runs: the right
//! password always works, only later, and resets the count. There is no lockout, so an
//! attacker cannot keep the owner out — at worst they make the owner wait `max_delay`.
//! Failures are forgotten [`LoginBackoff::forget_after`] after the last one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords allowed before the delay starts: 5, room for typos.
pub const DEFAULT_FREE_FAILURES: u32 = 5;
/// First delay: 250 ms.
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest delay: 4 s, short enough for the owner, long enough to make guessing slow.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(4);
/// Failures are forgotten 15 minutes after the last one.
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

/// Usernames tracked at most; beyond that, new names are not tracked until old entries are
/// forgotten (the per-address rate limit still applies to them).
const MAX_TRACKED: usize = 10_000;

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
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failure counts per username.
pub(crate) struct PasswordGuard {
    backoff: LoginBackoff,
    failures: Mutex<HashMap<String, Failures>>,
}

impl PasswordGuard {
    pub(crate) fn new(backoff: LoginBackoff) -> Self {
        Self {
            backoff,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn with_map<T>(&self, f: impl FnOnce(&mut HashMap<String, Failures>) -> T) -> T {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut map)
    }

    /// How long a password check for `username` must wait now.
    pub(crate) fn delay(&self, username: &str) -> Duration {
        let now = Instant::now();
        self.with_map(|map| match map.get(username) {
            Some(f) if now.duration_since(f.last) < self.backoff.forget_after => {
                self.backoff.delay_after(f.count)
            }
            _ => Duration::ZERO,
        })
    }

    /// Records a wrong password for `username`.
    pub(crate) fn failed(&self, username: &str) {
        let now = Instant::now();
        let forget_after = self.backoff.forget_after;
        self.with_map(|map| {
            if map.len() >= MAX_TRACKED && !map.contains_key(username) {
                map.retain(|_, f| now.duration_since(f.last) < forget_after);
                if map.len() >= MAX_TRACKED {
                    return;
                }
            }
            let entry = map.entry(username.to_owned()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= forget_after {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        });
    }

    /// Forgets the failures of `username` after a right password.
    pub(crate) fn succeeded(&self, username: &str) {
        self.with_map(|map| map.remove(username));
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
    fn success_resets_and_old_failures_are_forgotten() {
        let guard = PasswordGuard::new(LoginBackoff::default());
        for _ in 0..7 {
            guard.failed("eve");
        }
        assert_eq!(guard.delay("eve"), Duration::from_millis(500));
        assert_eq!(guard.delay("bob"), Duration::ZERO, "per username");
        guard.succeeded("eve");
        assert_eq!(guard.delay("eve"), Duration::ZERO);

        let forgetful = PasswordGuard::new(LoginBackoff {
            forget_after: Duration::ZERO,
            ..LoginBackoff::default()
        });
        for _ in 0..9 {
            forgetful.failed("eve");
        }
        assert_eq!(forgetful.delay("eve"), Duration::ZERO);
    }
}
