//! Colours and styles shared by every pane, so the screen stays consistent: a cyan accent for
//! focus and our own name, blue for the peer, dark gray for secondary text, and green, yellow
//! and red only for states (online or delivered, in progress, failed). These are the dark
//! theme's; [`apply`] turns a drawn screen into the light theme or into no colour at all.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::config::{Theme, WindowSettings};

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

/// 256-colour palette index 130 (#af5f00, a dark orange): [`BUSY`] on a light background,
/// where yellow is hard to read.
const DARK_ORANGE: Color = Color::Indexed(130);

/// The colour a dark-theme colour above becomes in `theme`.
fn recolour(theme: Theme, colour: Color) -> Color {
    match (theme, colour) {
        (Theme::Dark, c) => c,
        (Theme::Light, Color::Cyan) => Color::Blue,
        (Theme::Light, Color::LightBlue) => Color::Magenta,
        (Theme::Light, Color::Yellow) => DARK_ORANGE,
        (Theme::Light, c) => c,
    }
}

/// Recolours a drawn screen for the user's settings, so every pane follows them without
/// knowing: the styles above are the dark theme's; the light theme swaps the colours that are
/// hard to read on a light background (cyan, light blue, yellow); with `NO_COLOR` every colour
/// is reset while bold, italic and reverse stay (<https://no-color.org>).
pub fn apply(settings: &WindowSettings, buffer: &mut Buffer) {
    if settings.colour && settings.theme == Theme::Dark {
        return;
    }
    for cell in &mut buffer.content {
        if settings.colour {
            cell.fg = recolour(settings.theme, cell.fg);
            cell.bg = recolour(settings.theme, cell.bg);
        } else {
            cell.fg = Color::Reset;
            cell.bg = Color::Reset;
        }
    }
}
