//! What draws the eye: the "new messages" rule, the read mark and presence in words.

use crossterm::event::KeyCode;
use ratatui::style::Color;

use super::fixtures::{NOW_MS, chatting, draw, find, text, with_contacts};
use crate::app::{Action, LineKind};
use crate::net::SessionId;

/// Alt+→ (`step` 1) or Alt+← to the next or previous chat.
fn next_chat(app: &mut crate::app::App, step: i8) {
    let code = if step > 0 {
        KeyCode::Right
    } else {
        KeyCode::Left
    };
    app.update(Action::Key(crossterm::event::KeyEvent::new(
        code,
        crossterm::event::KeyModifiers::ALT,
    )));
}

#[test]
fn snapshot_new_messages() {
    let mut app = chatting();
    // Alt+→ goes from bob to dave, whose two messages arrived while bob's chat was shown.
    next_chat(&mut app, 1);
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("new_messages", terminal.backend());
    let rule = find(&terminal, " new messages ").expect("the rule is drawn");
    let first = find(&terminal, "lunch?").expect("the first unread message is shown");
    assert_eq!(rule.y + 1, first.y, "the rule sits right above it");
    // Gone once the user has been away.
    next_chat(&mut app, 1);
    next_chat(&mut app, -1);
    assert!(!text(&draw(&app, 80, 24)).contains("new messages"));
}

#[test]
fn snapshot_read_receipt() {
    let mut app = chatting();
    let bob = app.current_chat().expect("bob's chat is shown");
    let first_own = bob.lines.iter().find_map(|l| match l.kind {
        LineKind::Own { id, .. } => Some(id),
        _ => None,
    });
    app.update(Action::Read {
        session: SessionId(1),
        id: first_own.expect("alice wrote to bob"),
    });
    let terminal = draw(&app, 80, 24);
    insta::assert_snapshot!("read_receipt", terminal.backend());
    let read = find(&terminal, "there? ✓✓").expect("the read mark follows the message");
    let buffer = terminal.backend().buffer();
    assert_eq!(buffer[(read.x + 7, read.y)].fg, Color::Green);
    assert!(
        text(&terminal).contains("notes now ○"),
        "a later message keeps its delivery mark"
    );
}

#[test]
fn presence_is_spelled_out_as_far_as_the_pane_allows() {
    let mut app = with_contacts();
    let screen = text(&draw(&app, 80, 24));
    for row in [
        "● bob           online",
        "○ carol      5 min ago",
        "○ mallory      offline",
    ] {
        assert!(screen.contains(row), "{row} missing\n{screen}");
    }
    // Alone on a narrow terminal the list is wider: the long form fits.
    let screen = text(&draw(&app, 50, 12));
    assert!(screen.contains("last seen 5 min ago"), "{screen}");
    // An hour later (any action reads the clock; here the time is set by hand).
    app.now_ms = NOW_MS + 60 * 60_000;
    assert!(text(&draw(&app, 80, 24)).contains("carol        1 h ago"));
}

#[test]
fn a_muted_chat_counts_unread_quietly_in_the_contact_list() {
    let mut app = chatting();
    let badge = |app: &crate::app::App| {
        let terminal = draw(app, 80, 24);
        let at = find(&terminal, "(2)").expect("dave's two unread messages");
        terminal.backend().buffer()[(at.x + 1, at.y)].fg
    };
    assert_eq!(badge(&app), Color::Cyan, "unmuted: the accent");
    app.settings.mute.insert("dave".into());
    assert_eq!(badge(&app), Color::DarkGray, "muted: dimmed, still counted");
}
