//! The right pane: the current conversation, or a welcome text when no chat is open.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph, Wrap};

use super::message::{Columns, local_time};
use super::theme;
use crate::app::{App, Chat, ChatLine, DirectoryState, Link, Security};
use crate::net::SessionPath;

/// The link state as the chat title and the status bar show it.
pub fn link_state(link: &Link) -> Span<'static> {
    match link {
        Link::Idle => Span::styled("not connected", theme::DIM),
        Link::Dialing => Span::styled("connecting…", theme::BUSY),
        Link::Connected { path, rtt_ms, .. } => {
            let how = match path {
                SessionPath::Direct => "connected",
                SessionPath::Punched => "connected, punched",
                SessionPath::Relayed { .. } => "connected, relayed",
            };
            let text = match rtt_ms {
                Some(ms) => format!("{how}, {ms} ms"),
                None => how.to_owned(),
            };
            Span::styled(text, theme::GOOD)
        }
        Link::Reconnecting { attempt } => {
            Span::styled(format!("reconnecting (attempt {attempt})"), theme::BUSY)
        }
        Link::Failed { .. } => Span::styled("failed", theme::ERROR),
    }
}

/// A chat's state as the chat title and the status bar show it: its link, or for a group
/// chat how many members the group has (a group chat has no link of its own).
pub fn chat_state(app: &App, chat: &Chat) -> Span<'static> {
    let Some(id) = chat.group else {
        return link_state(&chat.link);
    };
    match app.groups.iter().find(|g| g.id == id) {
        Some(group) => Span::styled(format!("group of {}", group.members.len()), theme::DIM),
        None => Span::styled("you are no longer a member", theme::DIM),
    }
}

/// What we know of the peer's key, as the chat title and the status bar show it; nothing
/// before a session has proven a key.
pub fn security_state(security: &Security) -> Option<Span<'static>> {
    let (text, style) = match security {
        Security::Unknown => return None,
        Security::New => ("first contact", theme::BUSY),
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
        chat_state(app, chat),
    ]);
    let mut title = title;
    if let Some(security) = security_state(&chat.security) {
        title.push_span(Span::styled(" · ", theme::DIM));
        title.push_span(security);
    }
    if chat.is_typing(app.now_ms) {
        title.push_span(Span::styled(" · ", theme::DIM));
        title.push_span(Span::styled(
            format!("{} is typing…", chat.name),
            theme::INFO,
        ));
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
    let width = usize::from(inner.width);
    let top = scroll_top(app, chat, &columns, height, width);
    chat.scroll_top.set(top);
    let scroll = chat.scroll.min(top);
    let mut rows: Vec<Line<'static>> = Vec::new();
    if scroll == top && top > 0 {
        for index in 0..chat.lines.len() {
            rows.extend(line_rows(app, chat, &columns, index, width));
            if rows.len() >= height {
                break;
            }
        }
        rows.truncate(height);
    } else {
        for index in (0..chat.lines.len() - scroll).rev() {
            let mut block = line_rows(app, chat, &columns, index, width);
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

/// The screen rows of chat line `index`, top to bottom: a date separator when it starts a new
/// local day (or is the first loaded line), the "new messages" rule above the first unread
/// one, then the line itself.
fn line_rows(
    app: &App,
    chat: &Chat,
    columns: &Columns,
    index: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let line = &chat.lines[index];
    let mut rows = Vec::new();
    let day = |l: &ChatLine| local_time(app, l.at_ms).map(|t| t.date_naive());
    let today = day(line);
    if let Some(date) = today
        && (index == 0 || day(&chat.lines[index - 1]) != today)
    {
        rows.push(rule(
            &date.format("%a %-d %b %Y").to_string(),
            width,
            theme::DIM,
        ));
    }
    if chat.first_unread.is_some() && line.id() == chat.first_unread {
        rows.push(rule("new messages", width, theme::ACCENT));
    }
    rows.extend(columns.rows(app, chat, line));
    rows
}

/// The largest scroll that still fills a view `height` rows high: the lines after the first
/// ones that fill the view from the top. 0 when all lines fit.
fn scroll_top(app: &App, chat: &Chat, columns: &Columns, height: usize, width: usize) -> usize {
    let mut rows = 0;
    for index in 0..chat.lines.len() {
        rows += line_rows(app, chat, columns, index, width).len();
        if rows >= height {
            return chat.lines.len() - index - 1;
        }
    }
    0
}

/// A rule across the pane, `width` columns, with ` label ` in the middle: above the first
/// message of a day, and above the first message that arrived while the chat was not shown.
fn rule(label: &str, width: usize, style: Style) -> Line<'static> {
    let label = format!(" {label} ");
    let dashes = width.saturating_sub(super::text::width(&label));
    let left = dashes / 2;
    let text = format!("{}{label}{}", "─".repeat(left), "─".repeat(dashes - left));
    Line::styled(super::text::truncate(&text, width), style)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::SessionId;

    #[test]
    fn the_path_and_round_trip_are_shown_once_known() {
        let link = |path, rtt_ms| Link::Connected {
            session: SessionId(1),
            outgoing: true,
            path,
            remote: "127.0.0.1:4000".parse().unwrap(),
            rtt_ms,
        };
        let shown = |path, rtt| link_state(&link(path, rtt)).content.into_owned();
        assert_eq!(shown(SessionPath::Direct, None), "connected");
        assert_eq!(shown(SessionPath::Direct, Some(12)), "connected, 12 ms");
        assert_eq!(
            shown(SessionPath::Relayed { max_bytes: None }, None),
            "connected, relayed"
        );
        assert_eq!(
            shown(SessionPath::Punched, Some(0)),
            "connected, punched, 0 ms"
        );
    }
}
