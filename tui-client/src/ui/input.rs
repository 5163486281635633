//! The input box: a prompt, the text being typed laid out over as many rows as it needs (up to
//! [`MAX_TEXT_ROWS`], then scrolled to keep the cursor in view) and the terminal cursor.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};
use unicode_segmentation::UnicodeSegmentation;

use super::text::width;
use super::theme;
use crate::app::{App, Focus};

/// The prompt before the text.
const PROMPT: &str = "> ";
/// Most rows of text the box grows to; a longer message scrolls inside it.
pub const MAX_TEXT_ROWS: usize = 6;
/// Borders above and below the text.
const BORDER_ROWS: u16 = 2;
/// Columns taken by the side borders and padding.
const SIDE_COLUMNS: u16 = 4;

/// The text laid out in rows of at most `width` columns, hard-wrapped by grapheme cluster and
/// split at `\n`, with the cursor's (row, column). The cursor is a char index into `text`
/// (tui-input's); at the end of a full row it moves to a row of its own.
pub fn layout(text: &str, cursor: usize, width: usize) -> (Vec<String>, (usize, usize)) {
    let width = width.max(1);
    let mut rows = vec![String::new()];
    let mut used = 0;
    let mut at = None;
    let mut chars = 0;
    for g in text.graphemes(true) {
        let newline = g == "\n" || g == "\r\n";
        let w = super::text::width(g);
        if !newline && used + w > width && used > 0 {
            rows.push(String::new());
            used = 0;
        }
        if at.is_none() && chars >= cursor {
            at = Some((rows.len() - 1, used));
        }
        chars += g.chars().count();
        if newline {
            rows.push(String::new());
            used = 0;
        } else if let Some(last) = rows.last_mut() {
            last.push_str(g);
            used += w;
        }
    }
    let at = at.unwrap_or_else(|| {
        if used >= width {
            rows.push(String::new());
            (rows.len() - 1, 0)
        } else {
            (rows.len() - 1, used)
        }
    });
    (rows, at)
}

/// Rows of the input box for `app` on a screen `screen_width` columns wide: its borders and
/// one to [`MAX_TEXT_ROWS`] rows of text.
pub fn height(app: &App, screen_width: u16) -> u16 {
    let text_width =
        usize::from(screen_width.saturating_sub(SIDE_COLUMNS)).saturating_sub(width(PROMPT));
    let (rows, _) = layout(app.input.value(), app.input.input.cursor(), text_width);
    let text_rows = u16::try_from(rows.len().min(MAX_TEXT_ROWS)).unwrap_or(1);
    text_rows + BORDER_ROWS
}

/// Draws the input box into `area` and places the cursor when the input has the focus.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Input && !app.show_help && !app.filtering;
    let hint = match (app.current_chat(), &app.replying) {
        (Some(chat), Some(reply)) if reply.chat == chat.id => {
            format!(" reply {} · Esc cancels ", reply.quote)
        }
        (Some(chat), _) => format!(" message {} ", chat.name),
        (None, _) => " type /help ".to_owned(),
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
    let (rows, (row, column)) = layout(app.input.value(), app.input.input.cursor(), text_width);
    let visible = usize::from(inner.height).max(1);
    // The cursor's row stays in view.
    let first = row.saturating_sub(visible - 1);
    let indent = " ".repeat(usize::from(prompt_width));
    let lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, text)| {
            let lead = if i == 0 {
                Span::styled(PROMPT, prompt_style)
            } else {
                Span::raw(indent.clone())
            };
            Line::from(vec![lead, Span::styled(text, text_style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
    if focused && text_width > 0 && inner.height > 0 {
        let column = column.min(text_width - 1);
        let x = inner.x + prompt_width + u16::try_from(column).unwrap_or(0);
        let y = inner.y + u16::try_from(row - first).unwrap_or(0);
        frame.set_cursor_position(Position::new(x, y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_at_newlines_and_at_the_width() {
        let (rows, at) = layout("one\ntwo three", 0, 5);
        assert_eq!(rows, ["one", "two t", "hree"]);
        assert_eq!(at, (0, 0));
        assert_eq!(layout("one\ntwo", 4, 5).1, (1, 0), "after the newline");
        assert_eq!(layout("one\ntwo", 3, 5).1, (0, 3), "before it");
        assert_eq!(layout("one\ntwo", 7, 5).1, (1, 3), "at the end");
        assert_eq!(
            layout("abcde", 5, 5),
            (vec!["abcde".into(), String::new()], (1, 0))
        );
        assert_eq!(layout("abcdef", 5, 5).1, (1, 0), "on the wrapped character");
        assert_eq!(layout("", 0, 5), (vec![String::new()], (0, 0)));
        assert_eq!(
            layout("a\n\n", 3, 5),
            (vec!["a".into(), String::new(), String::new()], (2, 0))
        );
    }

    #[test]
    fn clusters_stay_whole_and_the_cursor_counts_chars() {
        let family = "\u{1f469}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        let text = format!("ab{family}c");
        let (rows, at) = layout(&text, 2 + family.chars().count(), 3);
        assert_eq!(rows, ["ab".to_owned(), format!("{family}c")]);
        assert_eq!(at, (1, 2));
        assert_eq!(
            layout(&text, 2, 3).1,
            (1, 0),
            "the cursor before the family"
        );
    }
}
