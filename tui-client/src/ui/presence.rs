//! A contact's presence in words, "online" or "last seen 5 min ago", from the app's clock, in
//! forms from long to short so the contact list can pick the widest that fits.

use ratatui::style::Style;

use super::theme;
use crate::app::{Entry, Presence};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// How to describe `entry`'s presence at `now_ms`, longest form first, with its style; no
/// forms for a peer that is not in the directory.
pub fn forms(entry: &Entry, now_ms: u64) -> (Vec<String>, Style) {
    match (entry.presence, entry.last_seen_ms) {
        (Presence::Online, _) => (vec!["online".to_owned()], theme::GOOD),
        (Presence::Offline, Some(seen)) => (ago(now_ms.saturating_sub(seen)), theme::DIM),
        (Presence::Offline, None) => (vec!["offline".to_owned()], theme::DIM),
        (Presence::Unknown | Presence::Group, _) => (Vec::new(), theme::DIM),
    }
}

/// "last seen 5 min ago", "5 min ago", "5m" for an absence of `ms` milliseconds.
fn ago(ms: u64) -> Vec<String> {
    if ms < MINUTE_MS {
        return ["last seen just now", "just now", "now"]
            .map(str::to_owned)
            .into();
    }
    let (n, unit, tiny) = if ms < HOUR_MS {
        (ms / MINUTE_MS, "min", "m")
    } else if ms < DAY_MS {
        (ms / HOUR_MS, "h", "h")
    } else if ms < 2 * DAY_MS {
        (1, "day", "d")
    } else {
        (ms / DAY_MS, "days", "d")
    };
    vec![
        format!("last seen {n} {unit} ago"),
        format!("{n} {unit} ago"),
        format!("{n}{tiny}"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline(last_seen_ms: Option<u64>) -> Entry {
        Entry {
            name: "carol".to_owned(),
            presence: Presence::Offline,
            unread: 0,
            chat: None,
            last_seen_ms,
        }
    }

    #[test]
    fn absence_reads_in_the_largest_whole_unit() {
        let now = 10 * DAY_MS;
        let longest = |seen| forms(&offline(seen), now).0.first().cloned();
        assert_eq!(
            longest(Some(now - 30_000)).as_deref(),
            Some("last seen just now")
        );
        assert_eq!(
            longest(Some(now - 5 * MINUTE_MS - 59_000)).as_deref(),
            Some("last seen 5 min ago")
        );
        assert_eq!(
            longest(Some(now - 3 * HOUR_MS)).as_deref(),
            Some("last seen 3 h ago")
        );
        assert_eq!(
            longest(Some(now - DAY_MS)).as_deref(),
            Some("last seen 1 day ago")
        );
        assert_eq!(
            longest(Some(now - 9 * DAY_MS)).as_deref(),
            Some("last seen 9 days ago")
        );
        // A clock behind the directory's counts as just now, never as a negative time.
        assert_eq!(
            longest(Some(now + HOUR_MS)).as_deref(),
            Some("last seen just now")
        );
        assert_eq!(longest(None).as_deref(), Some("offline"));
    }

    #[test]
    fn every_form_is_shorter_than_the_one_before() {
        let (forms, _) = forms(&offline(Some(0)), 3 * HOUR_MS);
        assert_eq!(forms, ["last seen 3 h ago", "3 h ago", "3h"]);
        let online = Entry {
            presence: Presence::Online,
            ..offline(None)
        };
        assert_eq!(super::forms(&online, 0).0, ["online"]);
        let stranger = Entry {
            presence: Presence::Unknown,
            ..offline(None)
        };
        assert!(super::forms(&stranger, 0).0.is_empty());
    }
}
