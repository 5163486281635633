//! Facts about what the screen shows, checked directly: badges, presence, wrapping,
//! timestamps, scrolling, colours of errors and empty-state hints.

use ratatui::style::{Color, Modifier};

use crossterm::event::KeyCode;

use super::fixtures::{chatting, draw, failing, find, fresh, long_message, press, receive, text};
use crate::app::Action;

#[test]
fn unread_badge_is_shown_in_bold() {
    let terminal = draw(&chatting(), 80, 24);
    let dave = find(&terminal, "dave").expect("dave is listed");
    let badge = find(&terminal, "(2)").expect("dave has two unread messages");
    assert_eq!(badge.y, dave.y, "the badge is on dave's row");
    let cell = &terminal.backend().buffer()[(badge.x, badge.y)];
    assert!(cell.modifier.contains(Modifier::BOLD));
    assert!(
        !text(&terminal).contains("(0)"),
        "no badge without unread messages"
    );
}

#[test]
fn presence_glyphs_follow_the_directory() {
    let screen = text(&draw(&chatting(), 80, 24));
    for row in ["▶ ● bob", "○ carol", "● dave", "○ mallory", "◆ zed"] {
        assert!(screen.contains(row), "{row} missing\n{screen}");
    }
}

#[test]
fn long_message_wraps_onto_several_rows_without_losing_text() {
    let terminal = draw(&chatting(), 80, 24);
    let screen = text(&terminal);
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains("w0")).collect();
    assert!(
        rows.len() >= 4,
        "200 characters in a ~50-column pane: {rows:?}"
    );
    let chat_text: String = rows
        .iter()
        .map(|row| {
            row.chars()
                .skip(26)
                .filter(|c| !c.is_whitespace() && *c != '│')
                .collect::<String>()
        })
        .collect();
    let message: String = long_message()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(chat_text.contains(&message), "{chat_text}");
    let indents: Vec<usize> = rows
        .iter()
        .skip(1)
        .map(|r| r.find("w0").unwrap_or(0))
        .collect();
    assert!(
        indents.windows(2).all(|w| w[0] == w[1]),
        "continuation rows line up: {rows:?}"
    );
}

#[test]
fn timestamps_use_the_local_offset() {
    let mut app = chatting();
    assert!(text(&draw(&app, 80, 24)).contains("22:13"));
    app.utc_offset = |_| 2 * 3600;
    let screen = text(&draw(&app, 80, 24));
    assert!(
        screen.contains("00:13") && !screen.contains("22:13"),
        "{screen}"
    );
}

#[test]
fn each_time_has_the_offset_of_its_own_date_and_each_day_a_separator() {
    let mut app = chatting();
    // A zone that moves from +1 h to +2 h at 2023-11-15 00:00 UTC, as at a daylight-saving
    // change.
    const CHANGE_MS: i64 = 1_700_006_400_000;
    app.utc_offset = |ms| if ms < CHANGE_MS { 3600 } else { 7200 };
    // 22:13 UTC is 23:13 before the change; 120 minutes later (00:13 UTC) is 02:13 after it.
    receive(&mut app, 1, 50, 120, "after the change");
    let screen = text(&draw(&app, 80, 30));
    assert!(screen.contains("23:13"), "{screen}");
    let rows: Vec<&str> = screen.lines().collect();
    let late = rows
        .iter()
        .position(|r| r.contains("after the change"))
        .expect("the new message is shown");
    assert!(rows[late].contains("02:13"), "{screen}");
    assert!(
        rows[late - 1].contains("Wed 15 Nov 2023") && rows[late - 1].contains('─'),
        "a separator above the first message of the new day:\n{screen}"
    );
    let separators = rows.iter().filter(|r| r.contains(" 2023 ─")).count();
    assert_eq!(separators, 2, "one per day shown:\n{screen}");
}

#[test]
fn scrolling_up_shows_older_rows_and_an_indicator() {
    let mut app = chatting();
    let bob = app.current.expect("bob's chat is shown");
    let chat = app
        .chats
        .iter_mut()
        .find(|c| c.id == bob)
        .expect("bob's chat");
    chat.scroll = 2;
    // 12 rows leave the chat 6: fewer than its 12 wrapped rows.
    let screen = text(&draw(&app, 80, 12));
    assert!(screen.contains("↓ 2 newer"), "{screen}");
    assert!(
        !screen.contains("sending the notes"),
        "the newest line is scrolled out"
    );
    // Far beyond the history: clamped, the oldest line stays on top.
    let chat = app
        .chats
        .iter_mut()
        .find(|c| c.id == bob)
        .expect("bob's chat");
    chat.scroll = 1000;
    let screen = text(&draw(&app, 80, 12));
    assert!(
        screen
            .lines()
            .nth(2)
            .is_some_and(|l| l.contains("connecting to bob")),
        "{screen}"
    );
    assert!(!screen.contains("↓ 1000"), "{screen}");
}

#[test]
fn paging_up_stops_with_the_first_message_on_top_of_a_full_view() {
    let mut app = chatting();
    for n in 0..40 {
        receive(&mut app, 1, 100 + n, 4, &format!("message {n:02}"));
    }
    // The stored history is complete: nothing older to load.
    let bob = app.current.expect("bob's chat is shown");
    app.update(Action::HistoryLoaded {
        chat: bob,
        request: crate::store::PageRequest::Before(0),
        page: Vec::new(),
    });
    let (width, height) = (80, 20);
    let mut screen = text(&draw(&app, width, height));
    for _ in 0..30 {
        press(&mut app, KeyCode::PageUp);
        screen = text(&draw(&app, width, height));
    }
    let rows: Vec<&str> = screen.lines().collect();
    assert!(rows[1].contains("Tue 14 Nov 2023"), "{screen}");
    assert!(rows[2].contains("connecting to bob"), "{screen}");
    // The chat pane's last row (above its bottom border, the input box and the status bar):
    // still a message, not blank space.
    let last_chat_row = rows[usize::from(height) - 6];
    let pane = last_chat_row.split("││").nth(1).unwrap_or("");
    assert!(
        pane.chars().any(|c| !c.is_whitespace() && c != '│'),
        "blank rows under the first message:\n{screen}"
    );
    // One PgDn from there moves the view at once.
    press(&mut app, KeyCode::PageDown);
    let after = text(&draw(&app, width, height));
    assert!(
        !after
            .lines()
            .nth(2)
            .unwrap_or("")
            .contains("connecting to bob"),
        "{after}"
    );
}

#[test]
fn errors_are_red() {
    let terminal = draw(&failing(), 80, 24);
    let buffer = terminal.backend().buffer();
    let mark = find(&terminal, "!!").expect("the failed dial is in the chat");
    assert_eq!(buffer[(mark.x, mark.y)].fg, Color::Red);
    let directory = find(&terminal, "directory: unreachable").expect("directory state shown");
    assert_eq!(buffer[(directory.x, directory.y)].fg, Color::Red);
    let title = find(&terminal, "carol — failed").expect("link state in the title");
    assert_eq!(buffer[(title.x + 8, title.y)].fg, Color::Red);
    // Too long for the bar next to its parts: on its own row above it, whole.
    let screen = text(&terminal);
    let rows: Vec<&str> = screen.lines().collect();
    assert!(
        rows[rows.len() - 2].contains("cannot reach the directory at http://dir.example:8080"),
        "{screen}"
    );
}

#[test]
fn empty_contact_list_explains_what_to_do() {
    let screen = text(&draw(&fresh(false), 80, 24));
    assert!(screen.contains("no directory"), "{screen}");
    let mut app = fresh(true);
    app.update(Action::ContactsLoaded(Vec::new()));
    let screen = text(&draw(&app, 80, 24));
    assert!(screen.contains("no contacts yet"), "{screen}");
    assert!(screen.contains("/connect --ip HOST:PORT"), "{screen}");
}

#[test]
fn delivery_mark_stays_with_the_last_word() {
    // 30 columns leave 14 for text: "the notes now" fills a row, the mark must not wrap alone.
    let screen = text(&draw(&chatting(), 30, 8));
    let row = screen.lines().find(|l| l.contains('○')).unwrap_or_default();
    assert!(row.contains("now ○"), "{screen}");
}

/// Types `line` into the input box and presses Enter.
fn type_line(app: &mut crate::app::App, line: &str) {
    super::fixtures::type_text(app, line);
    press(app, KeyCode::Enter);
}

#[test]
fn a_notice_too_long_for_the_status_bar_wraps_above_it_whole() {
    let mut app = chatting();
    type_line(&mut app, "/receipts off");
    let notice = app.notice.clone().expect("the command answers").1;
    for width in [60, 100] {
        let screen = text(&draw(&app, width, 24));
        let joined: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(joined.contains(&notice), "width {width}:\n{screen}");
        let status = screen.lines().last().unwrap_or("");
        assert!(status.contains("alice"), "the bar keeps our name: {status}");
    }
}
