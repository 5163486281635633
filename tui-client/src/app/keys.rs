//! Key bindings: one table that both the key handler and the help overlay read.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::InputRequest;

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere.
    Global,
    /// While the contact list has the focus.
    Contacts,
    /// While the input line has the focus.
    Input,
}

/// What a key asks for; `App::update` carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Leave the program.
    Quit,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close the overlay or the filter, or go back to the contact list.
    Back,
    /// Show the next open chat.
    NextChat,
    /// Show the previous open chat.
    PrevChat,
    /// Show the next chat with unread messages.
    NextUnread,
    /// Scroll the chat one page back.
    PageUp,
    /// Scroll the chat one page forward.
    PageDown,
    /// Move the contact cursor up.
    CursorUp,
    /// Move the contact cursor down.
    CursorDown,
    /// Open a chat with the contact under the cursor.
    OpenContact,
    /// Start typing a contact filter.
    Filter,
    /// Send the line, or run it if it starts with `/`.
    Submit,
    /// Recall the previous line from the history.
    HistoryPrev,
    /// Recall the next line from the history.
    HistoryNext,
    /// Edit the input line.
    Edit(InputRequest),
}

/// One key binding.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// Where it applies.
    pub scope: Scope,
    /// The key.
    pub code: KeyCode,
    /// Modifiers that must be held (exactly).
    pub modifiers: KeyModifiers,
    /// The key as the help overlay shows it.
    pub label: &'static str,
    /// What it does.
    pub intent: Intent,
    /// One-line description for the help overlay.
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const ALT: KeyModifiers = KeyModifiers::ALT;

const fn bind(
    scope: Scope,
    code: KeyCode,
    modifiers: KeyModifiers,
    label: &'static str,
    intent: Intent,
    help: &'static str,
) -> Binding {
    Binding {
        scope,
        code,
        modifiers,
        label,
        intent,
        help,
    }
}

use InputRequest as E;
use Intent as I;
use KeyCode as K;
use Scope as S;

/// Every key binding, in the order the help overlay lists them.
pub const BINDINGS: &[Binding] = &[
    bind(S::Global, K::Char('c'), CTRL, "Ctrl+C", I::Quit, "quit"),
    bind(
        S::Global,
        K::F(1),
        NONE,
        "F1",
        I::ToggleHelp,
        "show or hide help",
    ),
    bind(
        S::Global,
        K::Esc,
        NONE,
        "Esc",
        I::Back,
        "close / to contacts",
    ),
    // Pairs share a row in the help: the second key of each has no label of its own.
    bind(
        S::Global,
        K::Tab,
        NONE,
        "Tab / Shift+Tab",
        I::NextChat,
        "next / previous chat",
    ),
    bind(S::Global, K::BackTab, SHIFT, "", I::PrevChat, ""),
    bind(
        S::Global,
        K::Char('n'),
        CTRL,
        "Ctrl+N / Ctrl+P",
        I::NextChat,
        "next / previous chat",
    ),
    bind(S::Global, K::Char('p'), CTRL, "", I::PrevChat, ""),
    bind(
        S::Global,
        K::Char('a'),
        ALT,
        "Alt+A",
        I::NextUnread,
        "next unread chat",
    ),
    bind(S::Global, K::PageUp, NONE, "PgUp", I::PageUp, "scroll back"),
    bind(
        S::Global,
        K::PageDown,
        NONE,
        "PgDn",
        I::PageDown,
        "scroll forward",
    ),
    // In the contact list every printable key starts a message (see `lookup`), so no letter
    // or symbol is bound there: the first one typed is never lost.
    bind(
        S::Global,
        K::Char('f'),
        CTRL,
        "Ctrl+F",
        I::Filter,
        "filter contacts",
    ),
    bind(
        S::Contacts,
        K::Up,
        NONE,
        "Up / Down",
        I::CursorUp,
        "previous / next contact",
    ),
    bind(S::Contacts, K::Down, NONE, "", I::CursorDown, ""),
    bind(
        S::Contacts,
        K::Enter,
        NONE,
        "Enter",
        I::OpenContact,
        "open its chat",
    ),
    bind(
        S::Input,
        K::Enter,
        NONE,
        "Enter",
        I::Submit,
        "send, or run /command",
    ),
    bind(
        S::Input,
        K::Up,
        NONE,
        "Up / Down",
        I::HistoryPrev,
        "older / newer line",
    ),
    bind(S::Input, K::Down, NONE, "", I::HistoryNext, ""),
    bind(
        S::Input,
        K::Left,
        NONE,
        "Left / Right",
        I::Edit(E::GoToPrevChar),
        "move the cursor",
    ),
    bind(S::Input, K::Right, NONE, "", I::Edit(E::GoToNextChar), ""),
    bind(
        S::Input,
        K::Char('a'),
        CTRL,
        "Ctrl+A / Home",
        I::Edit(E::GoToStart),
        "start of line",
    ),
    bind(S::Input, K::Home, NONE, "", I::Edit(E::GoToStart), ""),
    bind(
        S::Input,
        K::Char('e'),
        CTRL,
        "Ctrl+E / End",
        I::Edit(E::GoToEnd),
        "end of line",
    ),
    bind(S::Input, K::End, NONE, "", I::Edit(E::GoToEnd), ""),
    bind(
        S::Input,
        K::Char('u'),
        CTRL,
        "Ctrl+U",
        I::Edit(E::DeleteFromStart),
        "delete to start",
    ),
    bind(
        S::Input,
        K::Char('k'),
        CTRL,
        "Ctrl+K",
        I::Edit(E::DeleteTillEnd),
        "delete to end",
    ),
    bind(
        S::Input,
        K::Char('w'),
        CTRL,
        "Ctrl+W",
        I::Edit(E::DeletePrevWord),
        "delete word back",
    ),
    bind(
        S::Input,
        K::Backspace,
        NONE,
        "Backspace",
        I::Edit(E::DeletePrevChar),
        "delete back",
    ),
    bind(
        S::Input,
        K::Delete,
        NONE,
        "Delete",
        I::Edit(E::DeleteNextChar),
        "delete forward",
    ),
];

/// The intent bound to `key` in `scope` (global bindings apply in every scope).
///
/// Printable characters without a binding are typed into the input line.
pub fn lookup(scope: Scope, key: &KeyEvent) -> Option<Intent> {
    let modifiers = normalize(key.code, key.modifiers);
    let found = BINDINGS.iter().find(|b| {
        (b.scope == scope || b.scope == Scope::Global)
            && b.code == key.code
            && normalize(b.code, b.modifiers) == modifiers
    });
    match (found, key.code) {
        (Some(binding), _) => Some(binding.intent),
        (None, K::Char(c)) if scope == Scope::Input && modifiers.is_empty() => {
            Some(I::Edit(E::InsertChar(c)))
        }
        _ => None,
    }
}

/// Terminals disagree on whether Shift is reported with upper-case letters, symbols and
/// Shift+Tab, so it is ignored for those keys.
fn normalize(code: KeyCode, modifiers: KeyModifiers) -> KeyModifiers {
    match code {
        K::Char(_) | K::BackTab => modifiers - SHIFT,
        _ => modifiers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn scoped_and_global_keys_resolve() {
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('c'), CTRL)),
            Some(I::Quit)
        );
        assert_eq!(
            lookup(Scope::Contacts, &key(K::Down, NONE)),
            Some(I::CursorDown)
        );
        assert_eq!(
            lookup(Scope::Contacts, &key(K::Char('f'), CTRL)),
            Some(I::Filter)
        );
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('j'), NONE)),
            Some(I::Edit(E::InsertChar('j')))
        );
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('J'), SHIFT)),
            Some(I::Edit(E::InsertChar('J')))
        );
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('?'), NONE)),
            Some(I::Edit(E::InsertChar('?')))
        );
        // No printable key is bound in the contact list: each one starts a message.
        for c in ['j', 'k', 'i', '/', '?', 'q'] {
            assert_eq!(lookup(Scope::Contacts, &key(K::Char(c), NONE)), None, "{c}");
        }
        assert_eq!(
            lookup(Scope::Input, &key(K::BackTab, SHIFT)),
            Some(I::PrevChat)
        );
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('x'), KeyModifiers::ALT)),
            None
        );
        assert_eq!(
            lookup(Scope::Input, &key(K::Char('a'), ALT)),
            Some(I::NextUnread)
        );
    }

    #[test]
    fn every_visible_binding_has_help() {
        for b in BINDINGS.iter().filter(|b| !b.label.is_empty()) {
            assert!(!b.help.is_empty(), "{} has no help text", b.label);
        }
    }
}
