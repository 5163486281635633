//! The blocking warning shown when a peer's key changed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

use super::theme;
use crate::app::{App, Security};
use crate::identity::fingerprint;

/// Widest the warning gets, in columns.
const MAX_WIDTH: u16 = 72;

/// Draws the warning for `app.key_warning`, if its chat's key is still refused.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(chat) = app.key_warning.and_then(|id| app.chat(id)) else {
        return;
    };
    let Security::Changed { pinned, offered } = chat.security else {
        return;
    };
    let name = chat.name.as_str();
    let lines = vec![
        Line::styled(
            format!("{name}'s key has changed — the connection was refused."),
            theme::ERROR_BOLD,
        ),
        Line::raw(""),
        Line::from(vec![
            Span::raw("known key:   "),
            Span::styled(fingerprint(&pinned), theme::BOLD),
        ]),
        Line::from(vec![
            Span::raw("offered now: "),
            Span::styled(fingerprint(&offered), theme::BOLD),
        ]),
        Line::raw(""),
        Line::raw(format!(
            "{name} may have reinstalled p2p-chat or rotated the key — or someone else is pretending to be {name}. Ask {name} through another channel (in person, by phone) which fingerprint is theirs."
        )),
        Line::raw(""),
        Line::from(vec![
            Span::raw("To trust the new key, type "),
            Span::styled("/accept", theme::ACCENT_BOLD),
            Span::raw(" in this chat. Until then nothing is sent to it."),
        ]),
        Line::styled(
            "Esc hides this warning; the chat stays blocked.",
            theme::DIM,
        ),
    ];
    let width = area.width.min(MAX_WIDTH);
    let height = area.height.min(15);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    let block = Block::bordered()
        .border_style(theme::ERROR)
        .title(Span::styled(" Key changed ", theme::ERROR_BOLD))
        .padding(Padding::horizontal(1));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        popup,
    );
}
