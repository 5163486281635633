//! Wall-clock helpers.

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
