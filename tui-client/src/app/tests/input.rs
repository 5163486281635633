//! Keys and notices: the contact filter, typing from the contact list, Esc, the help, and
//! how long status-bar notices stay.

use super::*;

#[test]
fn filter_narrows_the_contact_list() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("carol", false),
        record("bea", false),
    ]));
    ctrl(&mut app, 'f');
    key(&mut app, KeyCode::Char('b'));
    let names: Vec<_> = app.entries().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["bea", "bob"]);
    key(&mut app, KeyCode::Char('o'));
    assert_eq!(app.entries().len(), 1);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.entries().len(), 3);
}

#[test]
fn the_first_letter_typed_in_the_contact_list_starts_the_message() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.focus, Focus::Contacts);
    for c in "just kidding".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.input.value(), "just kidding");
    for first in ["/help", "? maybe", "kidding", "i see"] {
        ctrl(&mut app, 'u');
        key(&mut app, KeyCode::Esc);
        for c in first.chars() {
            key(&mut app, KeyCode::Char(c));
        }
        assert_eq!(app.input.value(), first);
    }
}

#[test]
fn esc_read_together_with_the_next_letter_still_keeps_the_letter() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    type_line(&mut app, "/help");
    key(&mut app, KeyCode::Esc);
    app.focus = Focus::Input;
    // Esc and "x" in one read: the terminal reports Alt+x.
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char('x'),
        KeyModifiers::ALT,
    )));
    assert_eq!(
        app.focus,
        Focus::Input,
        "Esc went to the contacts, x started a message"
    );
    assert_eq!(app.input.value(), "x");
    // Alt+A keeps its own meaning.
    let alt_a = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT);
    assert_ne!(
        app.settings.keys.lookup(keys::Scope::Input, None, &alt_a),
        keys::Found::Nothing
    );
}

#[test]
fn help_opens_with_f1_and_closes_with_any_key() {
    let mut app = app();
    key(&mut app, KeyCode::F(1));
    assert!(app.show_help);
    key(&mut app, KeyCode::Char('x'));
    assert!(!app.show_help);
    assert_eq!(app.input.value(), "", "the closing key is not typed");
    type_line(&mut app, "/help");
    assert!(app.show_help);
}

#[test]
fn an_information_notice_goes_by_itself_an_error_waits_for_a_key() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CLOCK: AtomicU64 = AtomicU64::new(NOW);
    let me = Me {
        name: "alice".into(),
        listen: "127.0.0.1:4000".into(),
        directory: None,
        key: [0xaa; 32],
    };
    let mut app = App::new(me, || CLOCK.load(Ordering::Relaxed));
    app.update(Action::SessionOpened {
        session: crate::net::SessionId(1),
        peer: remote("bob", Some(4001)),
        direction: Direction::Incoming,
    });
    assert!(matches!(&app.notice, Some((Level::Info, t)) if t == "bob connected"));
    CLOCK.fetch_add(INFO_NOTICE_MS - 1, Ordering::Relaxed);
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    assert!(app.notice.is_some(), "still there just before its time");
    CLOCK.fetch_add(1, Ordering::Relaxed);
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    assert_eq!(app.notice, None, "gone after {INFO_NOTICE_MS} ms");
    // An error stays however long it takes the user to see it.
    type_line(&mut app, "/connect");
    assert!(matches!(&app.notice, Some((Level::Error, _))));
    CLOCK.fetch_add(10 * INFO_NOTICE_MS, Ordering::Relaxed);
    app.update(Action::Resize {
        width: 80,
        height: 24,
    });
    assert!(matches!(&app.notice, Some((Level::Error, _))));
}

#[test]
fn bad_input_keeps_the_text_and_explains() {
    let mut app = app();
    type_line(&mut app, "/connect");
    assert_eq!(app.input.value(), "/connect");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("usage")));
    ctrl(&mut app, 'u');
    // No chat is open: the text stays and the user is told what to do.
    type_line(&mut app, "hello?");
    assert_eq!(app.input.value(), "hello?");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("/connect")));
}
