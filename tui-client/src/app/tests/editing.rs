//! `update` tests of the keys and commands of the input line and chat switching: multi-line
//! messages, pastes, Tab completion, Alt+1…9, Ctrl+L, the editor, End, and the help's scroll.

use super::*;

fn with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, modifiers)))
}

fn sent_texts(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Queue { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn alt_enter_and_a_paste_make_a_multi_line_message() {
    let mut app = app();
    connected_to_bob(&mut app);
    for c in "first".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    with(&mut app, KeyCode::Enter, KeyModifiers::ALT);
    app.update(Action::Paste("second\r\nthird\rfourth\x1b[31m".into()));
    assert_eq!(app.input.value(), "first\nsecond\nthird\nfourth [31m");
    // Up moves between the lines of the message before it reaches the history.
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "first\nsecond\nthird\nfourth [31m");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(sent_texts(&effects), ["first\nsecond\nthird\nfourth [31m"]);
    assert_eq!(app.input.value(), "");
}

#[test]
fn tab_completes_commands_and_names_and_cycles() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![
        record("bob", true),
        record("bobby", false),
        record("carol", true),
    ]));
    app.focus = Focus::Input;
    for c in "/mu".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/mute ");
    for c in "bo".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/mute bob ");
    assert!(matches!(&app.notice, Some((_, text)) if text.contains("bob  bobby")));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/mute bobby ");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/mute bob ", "round again");
    with(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(app.input.value(), "/mute bobby ");
    // Any other key ends the completion; the next Tab starts a new one.
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/mute bobby ", "one candidate: final");
    // At the start of a message a name is an address.
    ctrl(&mut app, 'u');
    for c in "ca".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "carol: ");
    ctrl(&mut app, 'u');
    for c in "zz".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "zz");
    assert!(matches!(&app.notice, Some((_, text)) if text.contains("nothing to complete")));
}

#[test]
fn alt_digits_and_arrows_switch_chats() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    opened(&mut app, 2, "carol", Direction::Incoming);
    opened(&mut app, 3, "dave", Direction::Incoming);
    let id = |app: &App, name: &str| app.chats.iter().find(|c| c.name == name).unwrap().id;
    with(&mut app, KeyCode::Char('3'), KeyModifiers::ALT);
    assert_eq!(app.current, Some(id(&app, "dave")));
    with(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(app.current, Some(bob));
    with(&mut app, KeyCode::Left, KeyModifiers::ALT);
    assert_eq!(app.current, Some(id(&app, "dave")), "wraps around");
    with(&mut app, KeyCode::Right, KeyModifiers::ALT);
    assert_eq!(app.current, Some(bob));
    ctrl(&mut app, 'n');
    assert_eq!(app.current, Some(id(&app, "carol")), "Ctrl+N kept");
    with(&mut app, KeyCode::Char('9'), KeyModifiers::ALT);
    assert_eq!(app.current, Some(id(&app, "carol")), "no chat 9");
    assert!(matches!(&app.notice, Some((_, text)) if text.contains("no chat 9")));
}

#[test]
fn ctrl_l_redraws_and_the_editor_is_asked_for() {
    let mut app = app();
    connected_to_bob(&mut app);
    assert_eq!(ctrl(&mut app, 'l'), [Effect::Redraw]);
    for c in "draft".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(ctrl(&mut app, 'x').is_empty(), "waits for the second key");
    assert_eq!(
        ctrl(&mut app, 'e'),
        [Effect::Compose {
            draft: "draft".into()
        }]
    );
    // A prefix followed by an unbound key is dropped, not typed.
    ctrl(&mut app, 'x');
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(app.input.value(), "draft");
    // Ctrl+E alone still goes to the end of the line.
    key(&mut app, KeyCode::Home);
    ctrl(&mut app, 'e');
    assert!(app.input.at_line_end());

    app.update(Action::Composed(Ok("written\nin vi\n".into())));
    assert_eq!(app.input.value(), "written\nin vi");
    assert_eq!(app.focus, Focus::Input);
    app.update(Action::Composed(Err("the editor \"vi\" failed".into())));
    assert_eq!(app.input.value(), "written\nin vi", "the draft is kept");
    assert!(matches!(&app.notice, Some((Level::Error, text)) if text.contains("failed")));
    // Ctrl+U clears line by line: "in vi", the line break, "written".
    for _ in 0..3 {
        ctrl(&mut app, 'u');
    }
    assert_eq!(app.input.value(), "");
    assert_eq!(
        type_line(&mut app, "/edit"),
        [Effect::Compose {
            draft: String::new()
        }]
    );
}

#[test]
fn end_at_the_end_of_the_line_jumps_to_the_newest_message() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    let chat = app.chats.iter_mut().find(|c| c.id == bob).unwrap();
    chat.scroll = 40;
    for c in "ab".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::End);
    assert_eq!(
        app.chat(bob).unwrap().scroll,
        40,
        "first End: end of the line"
    );
    key(&mut app, KeyCode::End);
    assert_eq!(
        app.chat(bob).unwrap().scroll,
        0,
        "second End: the newest message"
    );
    // Newer lines dropped from memory come back as the newest page.
    let chat = app.chats.iter_mut().find(|c| c.id == bob).unwrap();
    chat.scroll = 40;
    chat.history.newer_dropped = true;
    chat.history.loading = false;
    let effects = with(&mut app, KeyCode::End, KeyModifiers::NONE);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::LoadHistory {
            request: PageRequest::Newest,
            ..
        }
    )));
    let chat = app.chat(bob).unwrap();
    assert!(chat.lines.is_empty() && chat.history.loading && !chat.history.newer_dropped);
}

#[test]
fn the_help_scrolls_with_arrows_and_closes_with_other_keys() {
    let mut app = app();
    key(&mut app, KeyCode::F(1));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::PageDown);
    assert!(app.show_help);
    assert!(app.help_scroll > 1);
    key(&mut app, KeyCode::PageUp);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.help_scroll, 0);
    key(&mut app, KeyCode::Enter);
    assert!(!app.show_help);
}
