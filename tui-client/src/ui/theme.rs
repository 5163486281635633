//! Colours and styles shared by every pane, so the screen stays consistent: a cyan accent for
//! focus and our own name, blue for the peer, dark gray for secondary text, and green, yellow
//! and red only for states (online or delivered, in progress, failed).

use ratatui::style::{Color, Modifier, Style};

/// Titles, focused borders, our own name, key labels in the help.
pub const ACCENT: Style = Style::new().fg(Color::Cyan);
/// [`ACCENT`] in bold: section headers, the current-chat marker, unread badges.
pub const ACCENT_BOLD: Style = ACCENT.add_modifier(Modifier::BOLD);
/// Secondary text: timestamps, hints, unfocused borders, offline contacts.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// Program notices inside a chat.
pub const INFO: Style = DIM.add_modifier(Modifier::ITALIC);
/// Plain bold, for names and key labels.
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
/// Our own name in a chat.
pub const OWN_NAME: Style = ACCENT_BOLD;
/// The peer's name in a chat.
pub const PEER_NAME: Style = Style::new()
    .fg(Color::LightBlue)
    .add_modifier(Modifier::BOLD);
/// Healthy states: online, connected, delivered.
pub const GOOD: Style = Style::new().fg(Color::Green);
/// States in progress: connecting, reconnecting.
pub const BUSY: Style = Style::new().fg(Color::Yellow);
/// Failures and errors.
pub const ERROR: Style = Style::new().fg(Color::Red);
/// Failures that need the user's decision (a changed key).
pub const ERROR_BOLD: Style = ERROR.add_modifier(Modifier::BOLD);
/// Address-only peers (not in the directory).
pub const UNKNOWN: Style = Style::new().fg(Color::LightBlue);

/// Border style of a pane: accented when it has the focus.
pub fn border(focused: bool) -> Style {
    if focused { ACCENT } else { DIM }
}
