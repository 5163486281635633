//! What `listen` prints: each new message and what groups bring, as lines or JSON, made
//! safe for a terminal.

use std::io::Write;

use anyhow::Context;

use crate::groups::GroupNews;
use crate::store::Incoming;

/// Prints each message (stored for the first time) as a line: `NAME: TEXT`, or JSON.
pub(super) fn print_new(
    messages: impl Iterator<Item = Incoming>,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for Incoming {
        peer,
        id,
        sent_at_ms,
        text,
        reply_to,
    } in messages
    {
        let line = if json {
            let mut line = serde_json::json!({ "from": peer, "id": id.to_string(), "sent_at_ms": sent_at_ms, "text": text });
            if let Some(original) = reply_to {
                line["reply_to"] = original.to_string().into();
            }
            line.to_string()
        } else {
            format!("{peer}: {}", printable(&text))
        };
        writeln!(out, "{line}").context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")
}

/// Prints group posts (`[team] alice: hi`) and changes (`[team] alice added dave`); with
/// `json`, one object each: `{"group", "group_name", "from", "id", "sent_at_ms", "text"}` for
/// a post, `{"group", "group_name", "event"}` for a change.
pub(super) fn print_group_news(
    news: impl Iterator<Item = GroupNews>,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for item in news {
        let line = match (item, json) {
            (
                GroupNews::Post {
                    group,
                    name,
                    sender,
                    id,
                    sent_at_ms,
                    text,
                    ..
                },
                true,
            ) => serde_json::json!({
                "group": group.to_string(),
                "group_name": name,
                "from": sender,
                "id": id.to_string(),
                "sent_at_ms": sent_at_ms,
                "text": text,
            })
            .to_string(),
            (
                GroupNews::Post {
                    name, sender, text, ..
                },
                false,
            ) => format!("[{}] {sender}: {}", printable(&name), printable(&text)),
            (
                GroupNews::Changed {
                    group, name, words, ..
                },
                true,
            ) => serde_json::json!({
                "group": group.to_string(),
                "group_name": name,
                "event": words,
            })
            .to_string(),
            (GroupNews::Changed { name, words, .. }, false) => {
                format!("[{}] {}", printable(&name), printable(&words))
            }
        };
        writeln!(out, "{line}").context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")
}

/// A peer's text made safe for a terminal: control characters (escape sequences that could
/// move the cursor or rewrite the screen) become spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        assert_eq!(printable("hi\x1b[2J\x07there\n"), "hi [2J there ");
        assert_eq!(printable("plain ✓"), "plain ✓");
    }
}
