//! Facts about interaction and robustness: where the terminal cursor goes, sideways scrolling
//! of long input, the help's completeness, and survival on tiny terminals.

use crossterm::event::KeyCode;
use ratatui::layout::Position;

use super::fixtures::{
    chatting, draw, failing, filter, find, fresh, press, text, type_text, with_contacts,
};
use crate::app::command::USAGE;
use crate::app::keys::BINDINGS;

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
    let mut app = chatting();
    press(&mut app, KeyCode::F(1));
    for (width, height) in [(80, 24), (120, 40)] {
        let screen = text(&draw(&app, width, height));
        for binding in BINDINGS.iter().filter(|b| !b.label.is_empty()) {
            assert!(
                screen.contains(binding.label),
                "{width}x{height}: {} missing\n{screen}",
                binding.label
            );
        }
        for (usage, _) in USAGE {
            assert!(
                screen.contains(usage),
                "{width}x{height}: {usage} missing\n{screen}"
            );
        }
        assert!(screen.contains("any key closes this help"));
        let mut popup = screen.lines().skip_while(|l| !l.contains("┌ Help"));
        let cut = popup.any(|l| l.contains('…'));
        assert!(!cut, "{width}x{height}: nothing cut\n{screen}");
    }
    let wide = text(&draw(&app, 120, 40));
    for binding in BINDINGS {
        assert!(wide.contains(binding.help), "{} missing", binding.help);
    }
    for (_, help) in USAGE {
        assert!(wide.contains(help), "{help} missing");
    }
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
