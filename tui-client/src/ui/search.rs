//! The `/search` hits above the chat: date, chat and first line of each message, the one
//! shown in the chat below highlighted, and the keys that move between them in the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};
use unicode_segmentation::UnicodeSegmentation;

use super::message::local_time;
use super::text::{pad_right, sanitize, truncate, width};
use super::theme;
use crate::app::App;
use crate::app::search::Search;

/// Most rows the list takes: the rest of the pane shows the hit in context.
pub const MAX_LIST_ROWS: u16 = 8;

/// Rows the list needs for `search` (borders included), at most [`MAX_LIST_ROWS`] + 2.
pub fn height(search: &Search) -> u16 {
    u16::try_from(search.hits.len())
        .unwrap_or(u16::MAX)
        .min(MAX_LIST_ROWS)
        + 2
}

/// Draws the hits of `search` into `area`, scrolled to keep the selected one in view.
pub fn render(app: &App, search: &Search, frame: &mut Frame, area: Rect) {
    let title = format!(
        " {:?} · {}/{} · n/N next/previous · Enter stays · Esc ends ",
        search.query,
        search.selected + 1,
        search.hits.len()
    );
    let block = Block::bordered()
        .padding(Padding::horizontal(1))
        .border_style(theme::ACCENT)
        .title(Line::styled(
            truncate(&title, usize::from(area.width.saturating_sub(2))),
            theme::ACCENT_BOLD,
        ));
    let inner = block.inner(area);
    let visible = usize::from(inner.height).max(1);
    let first = search.selected.saturating_sub(visible - 1);
    let name_width = search
        .hits
        .iter()
        .map(|h| width(&app.conversation_name(&h.peer)))
        .max()
        .unwrap_or(0)
        .min(12);
    let lines: Vec<Line> = search
        .hits
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, hit)| {
            let when = local_time(app, hit.sent_at_ms).map_or_else(
                || "?".to_owned(),
                |t| t.format("%a %d %b %Y %H:%M").to_string(),
            );
            // Our own messages name us, a group member's post its sender; a peer's need no
            // name beside its chat's.
            let sender = match (&hit.sender, hit.outgoing) {
                (_, true) => format!("{}: ", app.me.name),
                (Some(member), false) => format!("{member}: "),
                (None, false) => String::new(),
            };
            let line = sanitize(matching_line(&hit.text, &search.query));
            let mut spans = vec![
                Span::styled(format!("{when}  "), theme::DIM),
                Span::styled(
                    format!(
                        "{}  ",
                        pad_right(&app.conversation_name(&hit.peer), name_width)
                    ),
                    theme::PEER_NAME,
                ),
                Span::raw(format!("{sender}{line}")),
            ];
            if i == search.selected {
                for span in &mut spans {
                    span.style = span.style.add_modifier(Modifier::REVERSED);
                }
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The line of `text` that holds a word of `query` (as the search matched it: from a word's
/// start, any case), else its first line.
fn matching_line<'a>(text: &'a str, query: &str) -> &'a str {
    let words: Vec<String> = query.unicode_words().map(str::to_lowercase).collect();
    text.lines()
        .find(|line| {
            let line = line.to_lowercase();
            let starts: Vec<&str> = line.unicode_words().collect();
            words
                .iter()
                .any(|w| starts.iter().any(|s| s.starts_with(w.as_str())))
        })
        .or_else(|| text.lines().next())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_with_the_match_is_listed() {
        assert_eq!(
            matching_line("one\ntwo pineapples\nthree", "PINE"),
            "two pineapples"
        );
        assert_eq!(matching_line("one\ntwo", "zebra"), "one");
        assert_eq!(matching_line("", "x"), "");
    }
}
