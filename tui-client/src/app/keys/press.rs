//! One key press as the config file writes it (`Ctrl+N`, `Alt+Left`, `F1`, `Shift+Tab`) and
//! as the help shows it (`Alt+←`).

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, compared the way terminals report them (see [`KeyPress::of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPress {
    /// The key; letters are kept lower-case.
    pub code: KeyCode,
    /// Ctrl, Alt and Shift (Shift only for keys that are not characters).
    pub modifiers: KeyModifiers,
}

/// Key names the config file accepts besides single characters and F1–F24, with the name
/// they are written back with first.
const NAMES: &[(&[&str], KeyCode)] = &[
    (&["Esc", "Escape"], KeyCode::Esc),
    (&["Enter", "Return"], KeyCode::Enter),
    (&["Tab"], KeyCode::Tab),
    (&["Backspace"], KeyCode::Backspace),
    (&["Delete", "Del"], KeyCode::Delete),
    (&["Insert", "Ins"], KeyCode::Insert),
    (&["Home"], KeyCode::Home),
    (&["End"], KeyCode::End),
    (&["PgUp", "PageUp"], KeyCode::PageUp),
    (&["PgDn", "PageDown"], KeyCode::PageDown),
    (&["Up", "↑"], KeyCode::Up),
    (&["Down", "↓"], KeyCode::Down),
    (&["Left", "←"], KeyCode::Left),
    (&["Right", "→"], KeyCode::Right),
    (&["Space"], KeyCode::Char(' ')),
];

impl KeyPress {
    /// A key with modifiers.
    pub const fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        Self { code, modifiers }
    }

    /// The press a terminal event stands for. Terminals disagree on whether Shift comes with
    /// upper-case letters and symbols, and Shift+Tab arrives as `BackTab`: characters drop
    /// Shift and are lower-cased, `BackTab` becomes Shift+Tab.
    pub fn of(event: &KeyEvent) -> Self {
        match event.code {
            KeyCode::Char(c) => Self::new(
                KeyCode::Char(c.to_ascii_lowercase()),
                event.modifiers - KeyModifiers::SHIFT,
            ),
            KeyCode::BackTab => Self::new(KeyCode::Tab, event.modifiers | KeyModifiers::SHIFT),
            code => Self::new(code, event.modifiers),
        }
    }

    /// Whether typing it inserts a character (no Ctrl or Alt): such keys cannot be bound, or
    /// that character could never be typed.
    pub fn is_typing(&self) -> bool {
        matches!(self.code, KeyCode::Char(_))
            && !self
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }

    /// The key as the help shows it: arrows as `←`, `→`, `↑`, `↓`.
    pub fn label(&self) -> String {
        let arrow = match self.code {
            KeyCode::Left => "←",
            KeyCode::Right => "→",
            KeyCode::Up => "↑",
            KeyCode::Down => "↓",
            _ => return self.to_string(),
        };
        format!("{}{arrow}", prefix(self.modifiers))
    }
}

fn prefix(modifiers: KeyModifiers) -> String {
    let mut out = String::new();
    for (flag, name) in [
        (KeyModifiers::CONTROL, "Ctrl+"),
        (KeyModifiers::ALT, "Alt+"),
        (KeyModifiers::SHIFT, "Shift+"),
    ] {
        if modifiers.contains(flag) {
            out.push_str(name);
        }
    }
    out
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&prefix(self.modifiers))?;
        if let Some((names, _)) = NAMES.iter().find(|(_, code)| *code == self.code) {
            return f.write_str(names[0]);
        }
        match self.code {
            KeyCode::Char(c) => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::str::FromStr for KeyPress {
    type Err = String;

    /// Parses `[Ctrl+][Alt+][Shift+]KEY`: KEY is one character, F1–F24 or a name such as
    /// `Enter`, `Esc`, `Tab`, `Left`, `PgUp` (case does not matter).
    fn from_str(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{raw:?} is not a key: {why} (for example \"Ctrl+N\", \"Alt+Left\", \"F2\", \"Shift+Tab\")"
            )
        };
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = raw;
        // A `+` key itself ("Ctrl++") ends with the separator.
        while let Some((head, tail)) = rest.split_once('+').filter(|(_, t)| !t.is_empty()) {
            modifiers |= match head.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => return Err(bad(&format!("{head:?} is not Ctrl, Alt or Shift"))),
            };
            rest = tail;
        }
        let code = if let Some((_, code)) = NAMES
            .iter()
            .find(|(names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(rest)))
        {
            *code
        } else if let Some(n) = rest
            .strip_prefix(['F', 'f'])
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=24).contains(n))
        {
            KeyCode::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
                (None, _) => return Err(bad("no key after the modifiers")),
                _ => return Err(bad(&format!("{rest:?} is not a key name"))),
            }
        };
        Ok(Self::of(&KeyEvent::new(code, modifiers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print_back() {
        for (raw, printed) in [
            ("Ctrl+N", "Ctrl+N"),
            ("ctrl+n", "Ctrl+N"),
            ("Alt+Left", "Alt+Left"),
            ("alt+←", "Alt+Left"),
            ("F1", "F1"),
            ("Shift+Tab", "Shift+Tab"),
            ("PageDown", "PgDn"),
            ("Alt+Enter", "Alt+Enter"),
            ("Alt+1", "Alt+1"),
            ("Ctrl++", "Ctrl++"),
            ("Meta+Space", "Alt+Space"),
        ] {
            let key: KeyPress = raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(key.to_string(), printed, "{raw}");
            assert_eq!(printed.parse::<KeyPress>(), Ok(key), "{printed}");
        }
        assert_eq!("Alt+Left".parse::<KeyPress>().unwrap().label(), "Alt+←");
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        for (raw, says) in [
            ("Hyper+A", "not Ctrl, Alt or Shift"),
            ("Ctrl+", "not a key"),
            ("Ctrl+Foo", "not a key name"),
            ("F25", "not a key name"),
            ("", "no key"),
        ] {
            let err = raw.parse::<KeyPress>().unwrap_err();
            assert!(err.contains(says), "{raw}: {err}");
        }
    }

    #[test]
    fn terminal_events_match_however_shift_is_reported() {
        let ctrl_n: KeyPress = "Ctrl+N".parse().unwrap();
        for modifiers in [
            KeyModifiers::CONTROL,
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        ] {
            for c in ['n', 'N'] {
                assert_eq!(
                    KeyPress::of(&KeyEvent::new(KeyCode::Char(c), modifiers)),
                    ctrl_n
                );
            }
        }
        let back: KeyPress = "Shift+Tab".parse().unwrap();
        assert_eq!(
            KeyPress::of(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            back
        );
        assert_eq!(
            KeyPress::of(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::NONE)),
            back
        );
        assert!("J".parse::<KeyPress>().unwrap().is_typing());
        assert!(!"Alt+J".parse::<KeyPress>().unwrap().is_typing());
    }
}
