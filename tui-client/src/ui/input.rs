//! The input line: a prompt, the text being typed (scrolled sideways to keep the cursor in
//! view) and the terminal cursor.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::text::width;
use super::theme;
use crate::app::{App, Focus};

/// The prompt before the text.
const PROMPT: &str = "> ";

/// Draws the input box into `area` and places the cursor when the input has the focus.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Input && !app.show_help && !app.filtering;
    let hint = match app.current_chat() {
        Some(chat) => format!(" message {} ", chat.name),
        None => " type /help ".to_owned(),
    };
    let (title_style, prompt_style, text_style) = if focused {
        (theme::ACCENT, theme::ACCENT_BOLD, Style::new())
    } else {
        (theme::DIM, theme::DIM, theme::DIM)
    };
    let block = Block::bordered()
        .border_style(theme::border(focused))
        .title(Line::styled(hint, title_style))
        .padding(Padding::horizontal(1));
    let inner = block.inner(area);
    let prompt_width = u16::try_from(width(PROMPT)).unwrap_or(0).min(inner.width);
    let text_width = usize::from(inner.width - prompt_width);
    let input = &app.input.input;
    // One column stays free for the cursor after the last character.
    let scroll = input.visual_scroll(text_width.saturating_sub(1));
    let line = Line::from(vec![
        Span::styled(PROMPT, prompt_style),
        Span::styled(skip_columns(input.value(), scroll), text_style),
    ]);
    frame.render_widget(Paragraph::new(line).block(block), area);
    if focused && text_width > 0 && inner.height > 0 {
        let column = input
            .visual_cursor()
            .saturating_sub(scroll)
            .min(text_width - 1);
        let x = inner.x + prompt_width + u16::try_from(column).unwrap_or(0);
        frame.set_cursor_position(Position::new(x, inner.y));
    }
}

/// `s` without its first `columns` display columns.
fn skip_columns(s: &str, columns: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        if used >= columns {
            return &s[i..];
        }
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    ""
}
