//! The left pane: directory contacts and address-only peers, with presence and unread counts.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::text::{pad_right, truncate, width};
use super::{presence, theme};
use crate::app::{App, DirectoryState, Entry, Focus, Presence};

/// Draws the contact list into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Contacts && !app.show_help;
    let mut title = vec![Span::styled(" Contacts ", theme::BOLD)];
    if let Some(filter) = &app.filter {
        title.push(Span::styled(format!("/{filter} "), theme::ACCENT));
    }
    let mut block = Block::bordered()
        .border_style(theme::border(focused || app.filtering))
        .title(Line::from(title));
    if app.filtering {
        block = block.title_bottom(Line::styled(" Enter keep · Esc clear ", theme::DIM));
    }
    let inner = block.inner(area);
    let entries = app.entries();
    if entries.is_empty() {
        let text =
            Paragraph::new(Line::styled(empty_hint(app), theme::DIM)).wrap(Wrap { trim: true });
        frame.render_widget(text.block(block), area);
    } else {
        let height = usize::from(inner.height).max(1);
        // Keep the row the user is looking at in view: the cursor, or else the current chat.
        let anchor = match app.focus {
            Focus::Contacts => app.cursor,
            Focus::Input => entries
                .iter()
                .position(|e| e.chat.is_some() && e.chat == app.current)
                .unwrap_or(app.cursor),
        };
        let offset = anchor.saturating_sub(height - 1);
        let rows: Vec<Line> = entries
            .iter()
            .enumerate()
            .skip(offset)
            .take(height)
            .map(|(i, entry)| {
                row(
                    app,
                    entry,
                    focused && i == app.cursor,
                    usize::from(inner.width),
                )
            })
            .collect();
        frame.render_widget(Paragraph::new(rows).block(block), area);
    }
    if app.filtering && !app.show_help && area.height > 0 {
        // The keys go to the filter, so the terminal cursor goes there too.
        let typed = width(" Contacts /") + app.filter.as_deref().map_or(0, width);
        let x = usize::from(area.x) + 1 + typed;
        let right = area.right().saturating_sub(2);
        let x = u16::try_from(x).unwrap_or(u16::MAX).min(right);
        frame.set_cursor_position(Position::new(x, area.y));
    }
}

fn empty_hint(app: &App) -> String {
    match (&app.filter, &app.directory) {
        (Some(filter), _) if !filter.is_empty() => format!("nobody matches /{filter}"),
        (_, DirectoryState::Disabled) => "no directory — /connect --ip HOST:PORT".to_owned(),
        (_, DirectoryState::Connecting) => "loading contacts…".to_owned(),
        _ => "no contacts yet — /connect --ip HOST:PORT".to_owned(),
    }
}

/// The glyphs before contact names, for the help's legend: [`presence_glyph`] of online,
/// offline and unknown, in that order.
pub const PRESENCE_MARKS: &str = "● ○ ◆ ≡";
/// What the glyphs of [`PRESENCE_MARKS`] mean, in the same order.
pub const PRESENCE_LEGEND: &str = "online, offline, by address, group";

/// The glyph before a contact's name, and its style.
pub fn presence_glyph(presence: Presence) -> (&'static str, ratatui::style::Style) {
    match presence {
        Presence::Online => ("●", theme::GOOD),
        Presence::Offline => ("○", theme::DIM),
        Presence::Unknown => ("◆", theme::UNKNOWN),
        Presence::Group => ("≡", theme::ACCENT),
    }
}

/// One contact row, `width` columns wide: marker, presence glyph, name, presence in words
/// (when it fits), unread badge.
fn row(app: &App, entry: &Entry, highlighted: bool, width_cols: usize) -> Line<'static> {
    let current = entry.chat.is_some() && entry.chat == app.current;
    let (glyph, glyph_style) = presence_glyph(entry.presence);
    let marker = if current {
        Span::styled("▶", theme::ACCENT_BOLD)
    } else {
        Span::raw(" ")
    };
    let badge = if entry.unread > 0 {
        format!(" ({})", entry.unread)
    } else {
        String::new()
    };
    let room = width_cols.saturating_sub(4 + width(&badge));
    // The longest presence text that leaves the whole name in view, right-aligned.
    let (forms, detail_style) = presence::forms(entry, app.now_ms);
    let detail = forms
        .into_iter()
        .find(|f| width(&entry.name) + 1 + width(f) <= room)
        .map(|f| format!(" {f}"))
        .unwrap_or_default();
    let name_width = room.saturating_sub(width(&detail));
    let mut name_style = match entry.presence {
        Presence::Offline if entry.unread == 0 => theme::DIM,
        _ => Default::default(),
    };
    // A muted chat counts its unread messages quietly.
    let muted = app.settings.mute.contains(&entry.name);
    if current || (entry.unread > 0 && !muted) {
        name_style = name_style.add_modifier(Modifier::BOLD);
    }
    let badge_style = if muted {
        theme::DIM
    } else {
        theme::ACCENT_BOLD
    };
    let spans = vec![
        marker,
        Span::raw(" "),
        Span::styled(glyph, glyph_style),
        Span::raw(" "),
        Span::styled(
            pad_right(&truncate(&entry.name, name_width), name_width),
            name_style,
        ),
        Span::styled(detail, detail_style),
        Span::styled(badge, badge_style),
    ];
    let line = Line::from(spans);
    if highlighted {
        line.patch_style(Modifier::REVERSED)
    } else {
        line
    }
}

#[cfg(test)]
mod legend_tests {
    use super::*;

    #[test]
    fn the_legend_lists_every_glyph_in_order() {
        let glyphs = [
            Presence::Online,
            Presence::Offline,
            Presence::Unknown,
            Presence::Group,
        ]
        .map(|p| presence_glyph(p).0);
        assert_eq!(glyphs.join(" "), PRESENCE_MARKS);
        assert_eq!(PRESENCE_LEGEND.split(", ").count(), glyphs.len());
    }
}
