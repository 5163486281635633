//! The status bar: who and where we are, directory health, the current link and the latest
//! notice. Parts are dropped, least useful first, when the terminal is narrow.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::chat::{chat_state, security_state};
use super::text::{truncate, width, wrap};
use super::theme;
use crate::app::{App, DirectoryState, Level};
use crate::directory::Trouble;

/// Between two parts of the bar.
const SEPARATOR: &str = " │ ";
/// A notice (with its separator) is cut rather than dropped while this many columns are free.
const NOTICE_MIN_WIDTH: usize = 12;

/// A notice may push out parts with a lower `keep` than this; it is cut to fit otherwise.
const NOTICE_KEEP: u8 = 3;
/// `keep` of the part that is never dropped (our name).
const ALWAYS: u8 = u8::MAX;

/// One part of the bar; parts with a lower `keep` are dropped first.
struct Part {
    spans: Vec<Span<'static>>,
    keep: u8,
}

impl Part {
    fn width(&self) -> usize {
        self.spans.iter().map(|s| width(&s.content)).sum()
    }
}

/// Most rows a notice too long for the bar takes above it; the rest is cut with "…".
const MAX_NOTICE_ROWS: usize = 4;

/// The latest notice, on one line, with its style.
fn notice(app: &App) -> Option<(String, Style)> {
    app.notice.as_ref().map(|(level, text)| {
        let style = match level {
            Level::Error => theme::ERROR,
            Level::Info => Style::default(),
        };
        (text.replace(['\n', '\r', '\t'], " "), style)
    })
}

/// Columns the bar's parts take: a leading space, the parts and their separators.
fn used(parts: &[Part]) -> usize {
    1 + parts.iter().map(Part::width).sum::<usize>()
        + width(SEPARATOR) * parts.len().saturating_sub(1)
}

/// The notice's rows when it does not fit in a bar `total` columns wide, even after the parts
/// it may push out are gone: it is then wrapped onto rows of its own above the bar (at most
/// [`MAX_NOTICE_ROWS`]) instead of being cut. Empty when it fits, or there is none.
pub fn overflow(app: &App, total: usize) -> Vec<Line<'static>> {
    let Some((text, style)) = notice(app) else {
        return Vec::new();
    };
    let mut parts = parts(app);
    let notice_width = width(SEPARATOR) + width(&text);
    drop_until(&mut parts, NOTICE_KEEP, |parts| {
        used(parts) + notice_width <= total
    });
    if used(&parts) + notice_width <= total {
        return Vec::new();
    }
    let mut rows = wrap(&text, total.saturating_sub(2).max(1));
    if rows.len() > MAX_NOTICE_ROWS {
        rows.truncate(MAX_NOTICE_ROWS);
        if let Some(last) = rows.last_mut() {
            *last = truncate(&format!("{last} …"), total.saturating_sub(2).max(1));
        }
    }
    rows.into_iter()
        .map(|row| Line::styled(format!(" {row}"), style))
        .collect()
}

/// Draws the status bar into `area` (one row). A notice that [`overflow`]s is left to the
/// rows above it.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let total = usize::from(area.width);
    let mut parts = parts(app);
    let notice = notice(app).filter(|_| overflow(app, total).is_empty());
    let notice_width = notice
        .as_ref()
        .map_or(0, |(text, _)| width(SEPARATOR) + width(text));
    drop_until(&mut parts, NOTICE_KEEP, |parts| {
        used(parts) + notice_width <= total
    });
    drop_until(&mut parts, ALWAYS, |parts| {
        used(parts) + notice_width.min(NOTICE_MIN_WIDTH) <= total
    });
    let mut spans = vec![Span::raw(" ")];
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEPARATOR, theme::DIM));
        }
        spans.extend(part.spans);
    }
    let room = total.saturating_sub(spans.iter().map(|s| width(&s.content)).sum::<usize>());
    if let Some((text, style)) = notice
        && room > width(SEPARATOR)
    {
        spans.push(Span::styled(SEPARATOR, theme::DIM));
        spans.push(Span::styled(
            truncate(&text, room - width(SEPARATOR) - 1),
            style,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Drops parts with `keep` below `below`, lowest first, until `fits`.
fn drop_until(parts: &mut Vec<Part>, below: u8, fits: impl Fn(&[Part]) -> bool) {
    while !fits(parts) {
        let lowest = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.keep < below)
            .min_by_key(|(_, p)| p.keep);
        let Some((i, _)) = lowest else { return };
        parts.remove(i);
    }
}

fn parts(app: &App) -> Vec<Part> {
    let directory = match &app.directory {
        DirectoryState::Disabled => Span::styled("no directory", theme::DIM),
        DirectoryState::Connecting => Span::styled("directory: connecting", theme::BUSY),
        DirectoryState::Online => Span::styled("directory: online", theme::GOOD),
        DirectoryState::Failed(Trouble::Unreachable, _) => {
            Span::styled("directory: unreachable", theme::ERROR)
        }
        // Too many requests from our address (several profiles on one machine share it):
        // the next heartbeat tries again.
        DirectoryState::Failed(Trouble::Busy, _) => {
            Span::styled("directory: busy, retrying", theme::BUSY)
        }
        DirectoryState::Failed(Trouble::Refused, _) => {
            Span::styled("directory: refused", theme::ERROR)
        }
    };
    let mut parts = vec![
        Part {
            spans: vec![Span::styled(truncate(&app.me.name, 16), theme::ACCENT_BOLD)],
            keep: ALWAYS,
        },
        Part {
            spans: vec![Span::styled(
                format!("listening on {}", app.me.listen),
                theme::DIM,
            )],
            keep: 1,
        },
        Part {
            spans: vec![directory],
            keep: 3,
        },
    ];
    if let Some(chat) = app.current_chat() {
        let mut spans = vec![
            Span::raw(format!("{}: ", truncate(&chat.name, 16))),
            chat_state(app, chat),
        ];
        if let Some(security) = security_state(&chat.security) {
            spans.push(Span::raw(", "));
            spans.push(security);
        }
        parts.push(Part { spans, keep: 2 });
    }
    // Moving file transfers: the newest shown, with how many more.
    let moving: Vec<_> = app.moving_files().collect();
    if let Some(newest) = moving.last() {
        let mut text = truncate(&newest.progress_text(), 48);
        if moving.len() > 1 {
            text.push_str(&format!(" (+{})", moving.len() - 1));
        }
        parts.push(Part {
            spans: vec![Span::styled(text, theme::BUSY)],
            keep: 4,
        });
    }
    parts
}
