//! Wall-clock helpers.

/// The current time in unix milliseconds.
pub fn now_ms() -> u64 {
    p2p_chat_protocol::peer::now_unix_ms()
}

/// The local time zone's current offset from UTC, in seconds.
pub fn local_utc_offset_secs() -> i32 {
    chrono::Local::now().offset().local_minus_utc()
}
