//! Text output of `contacts` and `lookup`.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use p2p_chat_protocol::api::ClientRecord;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// How long ago `then` was, in the largest whole unit: "just now", "5 minutes ago",
/// "1 hour ago", "3 days ago".
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let (n, unit) = match secs {
        i64::MIN..MINUTE => return "just now".to_owned(),
        MINUTE..HOUR => (secs / MINUTE, "minute"),
        HOUR..DAY => (secs / HOUR, "hour"),
        _ => (secs / DAY, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {unit}{plural} ago")
}

/// "online", or "last seen 5 minutes ago".
pub fn status(record: &ClientRecord, now: DateTime<Utc>) -> String {
    if record.online {
        "online".to_owned()
    } else {
        format!("last seen {}", ago(record.last_seen, now))
    }
}

/// The `contacts` table: USERNAME, ADDRESS, STATUS, one line per record, columns aligned.
pub fn table(records: &[ClientRecord], now: DateTime<Utc>) -> String {
    let rows: Vec<[String; 3]> = records
        .iter()
        .map(|r| [r.username.clone(), r.reached_at(), status(r, now)])
        .collect();
    let header = ["USERNAME", "ADDRESS", "STATUS"].map(str::to_owned);
    let width = |col: usize| {
        let cells = rows.iter().chain([&header]);
        cells.map(|row| row[col].chars().count()).max().unwrap_or(0)
    };
    let (user_w, addr_w) = (width(0), width(1));
    let mut out = String::new();
    for [user, addr, status] in [&header].into_iter().chain(&rows) {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{user:<user_w$}  {addr:<addr_w$}  {status}");
    }
    out
}

/// The `lookup` text: one `field: value` line per field.
pub fn record(record: &ClientRecord, now: DateTime<Utc>) -> String {
    let registered = record.registered_at.format("%Y-%m-%d %H:%M UTC");
    format!(
        "username:   {}\naddress:    {}\nstatus:     {}\nregistered: {registered}\n",
        record.username,
        record.reached_at(),
        status(record, now),
    )
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn rec(name: &str, host: &str, online: bool, seen: DateTime<Utc>) -> ClientRecord {
        ClientRecord {
            username: name.into(),
            host: host.into(),
            port: 4000,
            public_key: "ab".repeat(32),
            observed_host: None,
            candidates: Vec::new(),
            registered_at: seen,
            last_seen: seen,
            online,
            relay_only: false,
        }
    }

    #[test]
    fn relative_times_use_the_largest_unit() {
        let now: DateTime<Utc> = "2030-06-01T12:00:00Z".parse().unwrap();
        let ago_secs = |s: i64| ago(now - Duration::seconds(s), now);
        assert_eq!(ago_secs(-30), "just now");
        assert_eq!(ago_secs(59), "just now");
        assert_eq!(ago_secs(60), "1 minute ago");
        assert_eq!(ago_secs(45 * 60), "45 minutes ago");
        assert_eq!(ago_secs(3600), "1 hour ago");
        assert_eq!(ago_secs(23 * 3600 + 3599), "23 hours ago");
        assert_eq!(ago_secs(3 * 86400), "3 days ago");
    }

    #[test]
    fn table_aligns_columns() {
        let now: DateTime<Utc> = "2030-06-01T12:00:00Z".parse().unwrap();
        let records = [
            rec("alice", "10.0.0.7", true, now),
            rec(
                "bobby-the-builder",
                "::1",
                false,
                now - Duration::minutes(5),
            ),
        ];
        let expected = "\
USERNAME           ADDRESS        STATUS
alice              10.0.0.7:4000  online
bobby-the-builder  [::1]:4000     last seen 5 minutes ago
";
        assert_eq!(table(&records, now), expected);
        assert_eq!(table(&[], now).lines().count(), 1);
    }

    #[test]
    fn a_relay_only_peer_shows_no_address() {
        let now: DateTime<Utc> = "2030-06-01T12:00:00Z".parse().unwrap();
        let hidden = ClientRecord {
            host: String::new(),
            port: 0,
            relay_only: true,
            ..rec("carol", "", true, now)
        };
        assert!(record(&hidden, now).contains("address:    relay only\n"));
        let table = table(&[hidden], now);
        let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["carol", "relay", "only", "online"]);
    }

    #[test]
    fn record_lists_every_field() {
        let now: DateTime<Utc> = "2030-06-01T12:00:00Z".parse().unwrap();
        let text = record(&rec("alice", "chat.example.org", false, now), now);
        assert_eq!(
            text,
            "username:   alice\naddress:    chat.example.org:4000\n\
             status:     last seen just now\nregistered: 2030-06-01 12:00 UTC\n"
        );
    }
}
