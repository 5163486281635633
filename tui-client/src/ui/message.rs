//! How one chat line becomes screen rows: `HH:MM`, the sender right-aligned in a column, the
//! text wrapped with continuation rows indented under it, and a delivery mark after our own
//! messages.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::text::{pad_left, sanitize, width, wrap};
use super::theme;
use crate::app::{App, Chat, ChatLine, Delivery, LineKind};

/// Widest sender name shown; longer names are cut with `…`.
const NAME_MAX_WIDTH: usize = 12;
/// Narrowest text column worth keeping the timestamp column for.
const TEXT_MIN_WIDTH: usize = 12;
/// Keeps the delivery mark on the row of the last word (`wrap` breaks only at spaces).
const NO_BREAK: char = '\u{a0}';

/// How a pane width is split between timestamp, sender and text.
pub struct Columns {
    /// Width of the time column with its space; 0 hides it.
    time: usize,
    /// Width of the sender column; 0 hides it.
    name: usize,
    /// Width of the text column.
    text: usize,
}

impl Columns {
    /// The columns for `chat` in a pane `pane` columns wide; narrow panes drop the time, then
    /// the sender.
    pub fn fit(app: &App, chat: &Chat, pane: usize) -> Self {
        let name = width(&app.me.name)
            .max(width(&chat.name))
            .clamp(2, NAME_MAX_WIDTH);
        let time = time_width(app) + 1;
        if pane >= time + name + 1 + TEXT_MIN_WIDTH {
            Self {
                time,
                name,
                text: pane - time - name - 1,
            }
        } else if pane >= name + 1 + TEXT_MIN_WIDTH / 2 {
            Self {
                time: 0,
                name,
                text: pane - name - 1,
            }
        } else {
            Self {
                time: 0,
                name: 0,
                text: pane.max(1),
            }
        }
    }

    /// Columns before the text.
    fn gutter(&self) -> usize {
        let name = if self.name > 0 { self.name + 1 } else { 0 };
        self.time + name
    }

    /// The screen rows of one chat line, top to bottom.
    pub fn rows(&self, app: &App, chat: &Chat, line: &ChatLine) -> Vec<Line<'static>> {
        let (sender, sender_style, text_style) = match &line.kind {
            LineKind::Own { .. } => (app.me.name.as_str(), theme::OWN_NAME, Style::new()),
            LineKind::Peer { .. } => (
                line.sender.as_deref().unwrap_or(&chat.name),
                theme::PEER_NAME,
                Style::new(),
            ),
            LineKind::Info | LineKind::Transfer { .. } => ("--", theme::DIM, theme::INFO),
            LineKind::Error => (
                "!!",
                theme::ERROR.add_modifier(Modifier::BOLD),
                theme::ERROR,
            ),
        };
        let mark = match line.kind {
            LineKind::Own { id, .. } if chat.read.contains(&id) => Some(owned(READ_MARK)),
            LineKind::Own { id, .. } if chat.group_receipts.contains_key(&id) => {
                chat.group_receipts.get(&id).map(|r| group_mark(r))
            }
            LineKind::Own { delivery, .. } => Some(owned(delivery_mark(delivery))),
            _ => None,
        };
        let mark = mark.as_ref().map(|(text, style)| (text.as_str(), *style));
        // The search hit stands out until the user moves on.
        let text_style = if line.id().is_some() && line.id() == chat.highlight {
            text_style.add_modifier(Modifier::REVERSED)
        } else {
            text_style
        };
        let mut body = sanitize(&line.text).trim_end().to_owned();
        if let Some((mark, _)) = mark {
            // Joined to the last word by a no-break space, so it never wraps onto a row alone.
            body = format!("{body}{NO_BREAK}{mark}");
        }
        let mut rows = wrap(&body, self.text);
        if let (Some((mark, _)), Some(last)) = (mark, rows.last_mut())
            && let Some(rest) = last.strip_suffix(mark)
        {
            *last = rest.replace(NO_BREAK, " ");
        }
        // A reply's quote line is drawn as secondary text.
        let quote_rows = if crate::app::reply::is_reply_text(&line.text) {
            let quote = sanitize(line.text.lines().next().unwrap_or(""));
            wrap(&quote, self.text).len()
        } else {
            0
        };
        let last = rows.len().saturating_sub(1);
        let indent = " ".repeat(self.gutter());
        let mut lines = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let mut spans = Vec::with_capacity(5);
            if i > 0 {
                spans.push(Span::raw(indent.clone()));
            } else {
                if self.time > 0 {
                    let time = super::text::truncate(&clock(app, line.at_ms), self.time - 1);
                    spans.push(Span::styled(
                        format!("{} ", pad_left(&time, self.time - 1)),
                        theme::DIM,
                    ));
                }
                if self.name > 0 {
                    spans.push(Span::styled(pad_left(sender, self.name), sender_style));
                    spans.push(Span::raw(" "));
                }
            }
            let style = if i < quote_rows {
                theme::INFO
            } else {
                text_style
            };
            spans.push(Span::styled(row, style));
            if let Some((mark, style)) = mark.filter(|_| i == last) {
                spans.push(Span::styled(mark.to_owned(), style));
            }
            lines.push(Line::from(spans));
        }
        lines
    }
}

/// A unix-ms time in the app's local offset for that time; `None` if out of range.
pub fn local_time(app: &App, at_ms: u64) -> Option<DateTime<FixedOffset>> {
    let ms = i64::try_from(at_ms).ok()?;
    let offset = FixedOffset::east_opt((app.utc_offset)(ms)).unwrap_or(Utc.fix());
    Some(DateTime::from_timestamp_millis(ms)?.with_timezone(&offset))
}

/// A unix-ms time in local time in the configured `timestamp_format`; `--:--` if out of range.
fn clock(app: &App, at_ms: u64) -> String {
    local_time(app, at_ms).map_or_else(
        || "--:--".to_owned(),
        |t| t.format(&app.settings.timestamp_format).to_string(),
    )
}

/// Width of the time column: the configured format applied to a late time of a long month
/// (formats such as `%B` vary; longer times are cut).
fn time_width(app: &App) -> usize {
    chrono::NaiveDate::from_ymd_opt(2026, 9, 30)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map_or(5, |t| {
            width(&t.format(&app.settings.timestamp_format).to_string())
        })
}

/// The marks of [`delivery_mark`] and [`READ_MARK`] in order, for the help overlay's legend.
pub const DELIVERY_MARKS: &str = "◷ ○ ✓ ✓✓ ✗";
/// What the marks of [`DELIVERY_MARKS`] mean, in the same order.
pub const DELIVERY_LEGEND: &str = "queued, sent, delivered, read, failed";

/// The mark after one of our messages that the peer has read (its read receipt), and its
/// style; it replaces the delivery mark.
pub const READ_MARK: (&str, Style) = ("✓✓", theme::GOOD);

/// The mark after our post in a group chat: its glyph as for one peer, judged by every
/// member it went to (✓ once all have it, ◷ while none was sent it), and how many of them
/// have it, "✓ 3/3" or "○ 1/3"; `/info` names them.
pub fn group_mark(receipts: &[(String, Delivery)]) -> (String, Style) {
    // A group of one: stored is all there is to it.
    if receipts.is_empty() {
        let (glyph, style) = delivery_mark(Delivery::Delivered);
        return (glyph.to_owned(), style);
    }
    let have = receipts
        .iter()
        .filter(|(_, d)| *d == Delivery::Delivered)
        .count();
    let (glyph, style) = if have == receipts.len() {
        delivery_mark(Delivery::Delivered)
    } else if receipts.iter().all(|(_, d)| *d == Delivery::Queued) {
        delivery_mark(Delivery::Queued)
    } else {
        delivery_mark(Delivery::Sent)
    };
    (format!("{glyph} {have}/{}", receipts.len()), style)
}

fn owned((text, style): (&str, Style)) -> (String, Style) {
    (text.to_owned(), style)
}

/// The glyph after one of our messages, and its style; the help overlay explains them.
pub fn delivery_mark(delivery: Delivery) -> (&'static str, Style) {
    match delivery {
        Delivery::Queued => ("◷", theme::BUSY),
        Delivery::Sent => ("○", theme::DIM),
        Delivery::Delivered => ("✓", theme::GOOD),
        Delivery::Failed => ("✗", theme::ERROR),
    }
}

#[cfg(test)]
mod legend_tests {
    use super::*;

    #[test]
    fn a_group_post_counts_the_members_who_have_it() {
        let of = |states: &[Delivery]| {
            let receipts: Vec<(String, Delivery)> =
                states.iter().map(|d| ("m".to_owned(), *d)).collect();
            group_mark(&receipts).0
        };
        use Delivery::{Delivered, Queued, Sent};
        assert_eq!(of(&[Delivered, Delivered, Delivered]), "✓ 3/3");
        assert_eq!(of(&[Delivered, Sent, Queued]), "○ 1/3");
        assert_eq!(of(&[Queued, Queued]), "◷ 0/2");
        assert_eq!(of(&[]), "✓", "a group of one");
    }

    #[test]
    fn the_legend_lists_every_mark_in_order() {
        let mark = |d| delivery_mark(d).0;
        let marks = [
            mark(Delivery::Queued),
            mark(Delivery::Sent),
            mark(Delivery::Delivered),
            READ_MARK.0,
            mark(Delivery::Failed),
        ];
        assert_eq!(marks.join(" "), DELIVERY_MARKS);
        assert_eq!(DELIVERY_LEGEND.split(", ").count(), marks.len());
    }
}
