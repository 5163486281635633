//! Wall-clock helpers, and the one backoff rule the client's retries follow.

use std::time::Duration;

/// The current time in unix milliseconds.
pub fn now_ms() -> u64 {
    p2p_chat_protocol::peer::now_unix_ms()
}

/// The local time zone's offset from UTC at unix-ms time `at_ms`, in seconds: each time gets
/// the offset of its own date (summer or winter time), not today's. UTC when `at_ms` is out
/// of range.
pub fn local_utc_offset_secs(at_ms: i64) -> i32 {
    use chrono::{DateTime, Local, Offset, TimeZone};
    DateTime::from_timestamp_millis(at_ms).map_or(0, |utc| {
        Local
            .offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc()
    })
}

/// Wait before try `attempt` (1-based) of something that backs off: `first`, doubling with
/// each try, at most `max` (exponential backoff).
pub fn backoff(first: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    first.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_longest() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(30));
        let waits: Vec<u64> = (0..8).map(|n| backoff(first, max, n).as_secs()).collect();
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(first, max, u32::MAX), max);
    }
}
