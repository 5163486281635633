//! Facts about interaction and robustness: where the terminal cursor goes, sideways scrolling
//! of long input, the help's completeness, and survival on tiny terminals.

use crossterm::event::KeyCode;
use ratatui::layout::Position;

use super::fixtures::{
    chatting, draw, failing, filter, find, fresh, press, text, type_text, with_contacts,
};
use crate::app::command::USAGE;
use crate::app::keys::{Keymap, Scope, parse_sequence};

#[test]
fn the_cursor_follows_the_focus() {
    let mut app = chatting();
    type_text(&mut app, "draft");
    let terminal = draw(&app, 80, 24);
    assert!(terminal.backend().cursor_visible());
    let prompt = find(&terminal, "> draft").expect("the typed text is shown");
    assert_eq!(
        terminal.backend().cursor_position(),
        Position::new(prompt.x + 7, prompt.y)
    );

    press(&mut app, KeyCode::Esc);
    assert!(
        !draw(&app, 80, 24).backend().cursor_visible(),
        "no cursor on the contact list"
    );

    filter(&mut app, "da");
    let terminal = draw(&app, 80, 24);
    let title = find(&terminal, "Contacts /da").expect("the filter is in the title");
    assert_eq!(
        terminal.backend().cursor_position(),
        Position::new(title.x + 12, 0)
    );

    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::F(1));
    assert!(
        !draw(&app, 80, 24).backend().cursor_visible(),
        "no cursor under the help"
    );
}

#[test]
fn long_input_scrolls_to_keep_the_cursor_in_view() {
    let mut app = chatting();
    let long = "x".repeat(150) + "END";
    type_text(&mut app, &long);
    let terminal = draw(&app, 80, 24);
    let end = find(&terminal, "END").expect("the end of the line is visible");
    assert_eq!(
        terminal.backend().cursor_position(),
        Position::new(end.x + 3, end.y)
    );
}

#[test]
fn help_lists_every_binding_and_command() {
    let rows: Vec<(String, &str)> = [Scope::Global, Scope::Contacts, Scope::Input]
        .into_iter()
        .flat_map(|scope| Keymap::default().help_rows(scope))
        .collect();
    assert!(rows.len() > 20, "{rows:?}");
    // A large terminal shows it all at once, nothing cut.
    let mut app = chatting();
    press(&mut app, KeyCode::F(1));
    let wide = text(&draw(&app, 120, 40));
    for (label, help) in &rows {
        assert!(wide.contains(label.as_str()), "{label} missing\n{wide}");
        assert!(wide.contains(help), "{help} missing\n{wide}");
    }
    for (usage, help) in USAGE {
        assert!(
            wide.contains(usage) && wide.contains(help),
            "{usage} missing\n{wide}"
        );
    }
    assert!(wide.contains("any key closes this help"));
    let mut popup = wide.lines().skip_while(|l| !l.contains("┌ Help"));
    assert!(!popup.any(|l| l.contains('…')), "nothing cut\n{wide}");
    // A small one scrolls: every row is seen on the way down, and other keys still close it.
    let mut seen = String::new();
    for _ in 0..40 {
        let screen = text(&draw(&app, 80, 24));
        assert!(screen.contains("↑↓ PgUp PgDn scroll"), "{screen}");
        seen.push_str(&screen);
        press(&mut app, KeyCode::Down);
    }
    assert!(app.show_help, "arrows scroll, they do not close");
    for (label, _) in &rows {
        assert!(seen.contains(label.as_str()), "80x24: {label} never shown");
    }
    for (usage, _) in USAGE {
        assert!(seen.contains(usage), "80x24: {usage} never shown");
    }
    assert!(
        text(&draw(&app, 80, 24)).contains("end ·"),
        "scrolled to the end"
    );
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.show_help);
}

#[test]
fn rebound_keys_show_in_the_help() {
    let mut app = chatting();
    let names = [("next-chat".to_owned(), vec![parse_sequence("F7").unwrap()])];
    app.settings.keys = Keymap::with(&names.into_iter().collect()).unwrap();
    press(&mut app, KeyCode::F(1));
    let wide = text(&draw(&app, 120, 40));
    assert!(wide.contains("Alt+←, Ctrl+P / F7"), "{wide}");
}

#[test]
fn tiny_and_odd_terminals_do_not_panic() {
    let mut help = chatting();
    press(&mut help, KeyCode::F(1));
    let mut filtering = chatting();
    press(&mut filtering, KeyCode::Esc);
    type_text(&mut filtering, "/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    let mut typing = chatting();
    type_text(&mut typing, "日本語のテキスト and more");
    let apps = [
        fresh(false),
        with_contacts(),
        chatting(),
        failing(),
        help,
        filtering,
        typing,
    ];
    let sizes = [
        (0, 0),
        (1, 1),
        (10, 3),
        (3, 10),
        (20, 5),
        (30, 8),
        (40, 4),
        (59, 12),
        (60, 6),
        (80, 2),
        (200, 1),
        (1, 200),
    ];
    for app in &apps {
        for (width, height) in sizes {
            draw(app, width, height);
        }
    }
}
