//! Drawing the screen from an [`App`]: pure functions of the state, no I/O.
//!
//! The contact list is on the left, the current chat on the right, the input line and the
//! status bar at the bottom; the help overlay is drawn over everything.

mod chat;
mod contacts;
mod help;
mod input;
mod message;
mod presence;
mod search;
mod status;
mod text;
mod theme;
mod warning;

/// The chat, below the `/search` hits while a search is shown.
fn chat_pane(app: &App, frame: &mut Frame, area: ratatui::layout::Rect) {
    let Some(search) = app.search.as_ref().filter(|s| !s.hits.is_empty()) else {
        return chat::render(app, frame, area);
    };
    let list = search::height(search).min(area.height / 2);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(list), Constraint::Fill(1)]).areas(area);
    search::render(app, search, frame, top);
    chat::render(app, frame, bottom);
}

#[cfg(test)]
mod tests;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Paragraph;

use crate::app::{App, Focus};

/// Width of the contact list, borders included: a marker, a presence glyph, a name of about
/// 16 columns and an unread badge.
const CONTACTS_WIDTH: u16 = 26;
/// Narrower than this, only one of the two panes is shown: the one with the focus.
const TWO_PANES_MIN_WIDTH: u16 = 60;
/// Shorter than this, the input box is left out so the chat keeps some rows.
const INPUT_MIN_SCREEN_HEIGHT: u16 = 5;

/// Draws the whole screen for `app`. Never panics, whatever the terminal size.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let input_height = if area.height >= INPUT_MIN_SCREEN_HEIGHT {
        input::height(app, area.width).min(area.height / 2)
    } else {
        0
    };
    let notice_rows = status::overflow(app, usize::from(area.width));
    // Never more rows than leave the chat one row and the status bar its own.
    let notice_height = u16::try_from(notice_rows.len())
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(input_height + 2));
    let [main, input_area, notice_area, status_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(input_height),
        Constraint::Length(notice_height),
        Constraint::Length(area.height.min(1)),
    ])
    .areas(area);
    if main.width >= TWO_PANES_MIN_WIDTH {
        let [contacts, chat] =
            Layout::horizontal([Constraint::Length(CONTACTS_WIDTH), Constraint::Fill(1)])
                .areas(main);
        contacts::render(app, frame, contacts);
        chat_pane(app, frame, chat);
    } else if app.focus == Focus::Contacts || app.filtering || app.current.is_none() {
        contacts::render(app, frame, main);
    } else {
        chat_pane(app, frame, main);
    }
    if !input_area.is_empty() {
        input::render(app, frame, input_area);
    }
    if !notice_area.is_empty() {
        frame.render_widget(Paragraph::new(notice_rows), notice_area);
    }
    if !status_area.is_empty() {
        status::render(app, frame, status_area);
    }
    warning::render(app, frame, area);
    if app.show_help {
        help::render(app, frame, area);
    }
    theme::apply(&app.settings, frame.buffer_mut());
}
