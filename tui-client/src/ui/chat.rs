//! The right pane: the current conversation, or a welcome text when no chat is open.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Wrap};

use super::message::Columns;
use super::theme;
use crate::app::{App, Chat, ChatLine, DirectoryState, Link, Security};

/// The link state as the chat title and the status bar show it.
pub fn link_state(link: &Link) -> Span<'static> {
    match link {
        Link::Idle => Span::styled("not connected", theme::DIM),
        Link::Dialing => Span::styled("connecting…", theme::BUSY),
        Link::Connected { .. } => Span::styled("connected", theme::GOOD),
        Link::Reconnecting { attempt } => {
            Span::styled(format!("reconnecting (attempt {attempt})"), theme::BUSY)
        }
        Link::Failed { .. } => Span::styled("failed", theme::ERROR),
    }
}

/// What we know of the peer's key, as the chat title and the status bar show it; nothing
/// before a session has proven a key.
pub fn security_state(security: &Security) -> Option<Span<'static>> {
    let (text, style) = match security {
        Security::Unknown => return None,
        Security::New => ("new key", theme::BUSY),
        Security::Pinned => ("pinned, unverified", theme::DIM),
        Security::Verified => ("verified", theme::GOOD),
        Security::Unapproved { .. } => ("unknown key — /accept?", theme::ERROR),
        Security::Changed { .. } => ("KEY CHANGED", theme::ERROR_BOLD),
    };
    Some(Span::styled(text, style))
}

/// Draws the chat pane into `area`.
pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    match app.current_chat() {
        Some(chat) => render_chat(app, chat, frame, area),
        None => render_welcome(app, frame, area),
    }
}

fn render_chat(app: &App, chat: &Chat, frame: &mut Frame, area: Rect) {
    let title = Line::from(vec![
        Span::raw(" "),
        Span::styled(chat.name.clone(), theme::BOLD),
        Span::styled(" — ", theme::DIM),
        link_state(&chat.link),
    ]);
    let mut title = title;
    if let Some(security) = security_state(&chat.security) {
        title.push_span(Span::styled(" · ", theme::DIM));
        title.push_span(security);
    }
    title.push_span(Span::raw(" "));
    let mut block = Block::bordered()
        .border_style(theme::DIM)
        .title(title)
        .padding(Padding::horizontal(1));
    let inner = block.inner(area);
    let height = usize::from(inner.height);
    let columns = Columns::fit(app, chat, usize::from(inner.width));
    // `scroll` counts messages hidden below the view. It stops where the first loaded
    // message is at the top of a full view (the render measures that for the app's PgUp);
    // there the view is drawn from the top, so the first message is never cut.
    let top = scroll_top(app, chat, &columns, height);
    chat.scroll_top.set(top);
    let scroll = chat.scroll.min(top);
    let mut rows: Vec<Line<'static>> = Vec::new();
    if scroll == top && top > 0 {
        for line in &chat.lines {
            rows.extend(line_rows(app, chat, &columns, line, usize::from(inner.width)));
            if rows.len() >= height {
                break;
            }
        }
        rows.truncate(height);
    } else {
        for line in chat.lines[..chat.lines.len() - scroll].iter().rev() {
            let mut block = line_rows(app, chat, &columns, line, usize::from(inner.width));
            block.reverse();
            rows.extend(block);
            if rows.len() >= height {
                break;
            }
        }
        rows.truncate(height);
        rows.reverse();
    }
    if scroll > 0 {
        let more = format!(" ↓ {scroll} newer — PgDn ");
        block = block.title_bottom(Line::styled(more, theme::ACCENT).right_aligned());
    }
    let mut visible = rows;
    if chat.lines.is_empty() {
        visible.push(Line::styled(
            "no messages yet — type below and press Enter",
            theme::DIM,
        ));
    }
    frame.render_widget(Paragraph::new(visible).block(block), area);
}

/// The screen rows of one chat line, top to bottom, with the "new messages" rule above the
/// first unread one.
fn line_rows(
    app: &App,
    chat: &Chat,
    columns: &Columns,
    line: &ChatLine,
    width: usize,
) -> Vec<Line<'static>> {
    let mut rows = Vec::new();
    if chat.first_unread.is_some() && line.id() == chat.first_unread {
        rows.push(unread_rule(width));
    }
    rows.extend(columns.rows(app, chat, line));
    rows
}

/// The largest scroll that still fills a view `height` rows high: the lines after the first
/// ones that fill the view from the top. 0 when all lines fit.
fn scroll_top(app: &App, chat: &Chat, columns: &Columns, height: usize) -> usize {
    let mut rows = 0;
    for (taken, line) in chat.lines.iter().enumerate() {
        // Without the unread rule's row: at worst the limit is one message lower, and the
        // view is still full.
        rows += columns.rows(app, chat, line).len();
        if rows >= height {
            return chat.lines.len() - taken - 1;
        }
    }
    0
}

/// The separator above the first message that arrived while the chat was not shown: a rule
/// across the pane, `width` columns, with "new messages" in the middle.
fn unread_rule(width: usize) -> Line<'static> {
    let label = " new messages ";
    let dashes = width.saturating_sub(super::text::width(label));
    let left = dashes / 2;
    let text = format!("{}{label}{}", "─".repeat(left), "─".repeat(dashes - left));
    Line::styled(super::text::truncate(&text, width), theme::ACCENT)
}

fn render_welcome(app: &App, frame: &mut Frame, area: Rect) {
    let title = Line::from(vec![
        Span::raw(" "),
        Span::styled("p2p-chat", theme::BOLD),
        Span::raw(" "),
    ]);
    let block = Block::bordered().border_style(theme::DIM).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let key = |s: &'static str| Span::styled(s, theme::ACCENT_BOLD);
    let dim = |s: &'static str| Span::styled(s, theme::DIM);
    let mut lines = vec![
        Line::styled(format!("Welcome, {}.", app.me.name), theme::BOLD),
        Line::default(),
    ];
    if app.directory != DirectoryState::Disabled {
        lines.push(Line::from(vec![
            dim("Pick a contact on the left and press "),
            key("Enter"),
        ]));
        lines.push(Line::from(vec![dim("or type "), key("/connect NAME")]));
        lines.push(Line::from(vec![dim("or "), key("/connect --ip HOST:PORT")]));
    } else {
        lines.push(Line::from(vec![
            dim("Type "),
            key("/connect --ip HOST:PORT"),
        ]));
        lines.push(Line::from(dim("to chat with a peer at an address,")));
        lines.push(Line::styled(
            format!("or wait for one to connect to {}.", app.me.listen),
            theme::DIM,
        ));
    }
    lines.push(Line::default());
    lines.push(Line::from(vec![
        key("F1"),
        dim(" lists every key and command"),
    ]));
    // Centred when it fits; on narrow panes the wrapped text runs on downwards.
    let top = inner
        .height
        .saturating_sub(u16::try_from(lines.len()).unwrap_or(u16::MAX))
        / 2;
    let below = Rect {
        y: inner.y + top,
        height: inner.height - top,
        ..inner
    };
    let text = Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(text, below);
}
