use crossterm::event::{KeyCode, KeyModifiers};

use super::*;

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn found(map: &Keymap, scope: Scope, code: KeyCode, modifiers: KeyModifiers) -> Found {
    map.lookup(scope, None, &key(code, modifiers))
}

#[test]
fn the_defaults_resolve_by_scope() {
    let map = Keymap::default();
    let i = |intent| Found::Intent(intent);
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('c'), CTRL),
        i(Intent::Quit)
    );
    assert_eq!(
        found(&map, Scope::Contacts, KeyCode::Down, NONE),
        i(Intent::CursorDown)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Down, NONE),
        i(Intent::HistoryNext)
    );
    assert_eq!(
        found(&map, Scope::Contacts, KeyCode::Enter, NONE),
        i(Intent::OpenContact)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Enter, NONE),
        i(Intent::Submit)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Enter, ALT),
        i(Intent::Newline)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Right, ALT),
        i(Intent::NextChat)
    );
    assert_eq!(
        found(&map, Scope::Contacts, KeyCode::Left, ALT),
        i(Intent::PrevChat)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('3'), ALT),
        i(Intent::ShowChat(3))
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Tab, NONE),
        i(Intent::Complete)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::BackTab, KeyModifiers::SHIFT),
        i(Intent::CompleteBack)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('l'), CTRL),
        i(Intent::Redraw)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('N'), CTRL),
        i(Intent::NextChat)
    );
    // Plain characters are typed, never bound.
    for c in ['j', 'k', '/', '?', 'q'] {
        assert_eq!(
            found(&map, Scope::Contacts, KeyCode::Char(c), NONE),
            Found::Nothing
        );
        assert_eq!(
            found(&map, Scope::Input, KeyCode::Char(c), NONE),
            Found::Nothing
        );
    }
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('x'), ALT),
        Found::Nothing
    );
}

#[test]
fn a_two_key_sequence_waits_for_its_second_key() {
    let map = Keymap::default();
    let ctrl_x = key(KeyCode::Char('x'), CTRL);
    assert_eq!(map.lookup(Scope::Input, None, &ctrl_x), Found::Prefix);
    let pending = Some(KeyPress::of(&ctrl_x));
    assert_eq!(
        map.lookup(Scope::Input, pending, &key(KeyCode::Char('e'), CTRL)),
        Found::Intent(Intent::Compose)
    );
    assert_eq!(
        map.lookup(Scope::Input, pending, &key(KeyCode::Char('q'), CTRL)),
        Found::Nothing
    );
    // Ctrl+E alone keeps its own meaning.
    assert_eq!(
        map.lookup(Scope::Input, None, &key(KeyCode::Char('e'), CTRL)),
        Found::Intent(Intent::LineEnd)
    );
}

fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<Sequence>> {
    pairs
        .iter()
        .map(|(name, keys)| {
            let seqs = keys.iter().map(|k| parse_sequence(k).unwrap()).collect();
            ((*name).to_owned(), seqs)
        })
        .collect()
}

#[test]
fn the_config_rebinds_unbinds_and_the_help_follows() {
    let map = Keymap::with(&overrides(&[
        ("next-chat", &["F3"]),
        ("prev-chat", &["F2"]),
        ("redraw", &[]),
    ]))
    .unwrap();
    assert_eq!(
        found(&map, Scope::Input, KeyCode::F(3), NONE),
        Found::Intent(Intent::NextChat)
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('n'), CTRL),
        Found::Nothing
    );
    assert_eq!(
        found(&map, Scope::Input, KeyCode::Char('l'), CTRL),
        Found::Nothing
    );
    let rows = map.help_rows(Scope::Global);
    assert!(
        rows.contains(&("F2 / F3".to_owned(), "previous / next chat")),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("(unbound)".to_owned(), "redraw the screen")),
        "{rows:?}"
    );
    let defaults = Keymap::default().help_rows(Scope::Global);
    assert!(
        defaults.contains(&("Alt+1 – Alt+9".to_owned(), "show chat 1 – 9")),
        "{defaults:?}"
    );
    assert!(
        defaults.contains(&(
            "Alt+←, Ctrl+P / Alt+→, Ctrl+N".to_owned(),
            "previous / next chat"
        )),
        "{defaults:?}"
    );
}

#[test]
fn bad_bindings_are_refused_with_the_reason() {
    for (pairs, says) in [
        (overrides(&[("next-chatt", &["F3"])]), "not an action"),
        (overrides(&[("quit", &["Q"])]), "types its character"),
        (overrides(&[("redraw", &["Ctrl+N"])]), "clash"),
        (overrides(&[("redraw", &["Ctrl+X"])]), "clash"),
        (overrides(&[("send", &["Up"])]), "clash"),
    ] {
        let err = Keymap::with(&pairs).unwrap_err();
        assert!(err.contains(says), "{pairs:?}: {err}");
    }
    // The same key in scopes that never meet is fine (Up in the contacts and the input).
    assert!(Keymap::with(&overrides(&[("open", &["Ctrl+O"]), ("send", &["Ctrl+O"])])).is_ok());
    assert!(parse_sequence("Ctrl+X Ctrl+E Ctrl+F").is_err());
    assert!(parse_sequence("").is_err());
}

#[test]
fn every_action_has_a_unique_name_and_its_group_has_help() {
    let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), COMMANDS.len());
    assert!(!COMMANDS[0].help.is_empty());
    for c in COMMANDS {
        for k in c.keys {
            assert!(parse_sequence(k).is_ok(), "{}: {k}", c.name);
        }
    }
    assert!(Keymap::default().check().is_ok());
}
