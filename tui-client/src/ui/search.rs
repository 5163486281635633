//! The `/search` hits above the chat: date, chat and first line of each message, the one
//! shown in the chat below highlighted, and the keys that move between them in the title.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

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
        .map(|h| width(&h.peer))
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
            let sender = if hit.outgoing {
                app.me.name.as_str()
            } else {
                hit.peer.as_str()
            };
            let first_line = sanitize(hit.text.lines().next().unwrap_or(""));
            let mut spans = vec![
                Span::styled(format!("{when}  "), theme::DIM),
                Span::styled(
                    format!("{}  ", pad_right(&hit.peer, name_width)),
                    theme::PEER_NAME,
                ),
                Span::raw(format!("{sender}: {first_line}")),
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
