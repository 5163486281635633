//! Key bindings: one table of bindable actions ([`table::COMMANDS`]) with their default keys,
//! and the [`Keymap`] built from it and the config file's `[keys]` table. The key handler and
//! the help overlay both read the keymap, so the help always shows the keys that work.

mod press;
pub mod table;

use std::collections::BTreeMap;

use crossterm::event::KeyEvent;
use tui_input::InputRequest;

pub use press::KeyPress;
use table::COMMANDS;

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

impl Scope {
    /// Whether bindings of `self` and `other` can see the same key press.
    fn overlaps(self, other: Scope) -> bool {
        self == other || self == Scope::Global || other == Scope::Global
    }
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
    /// Show the open chat with this 1-based number (in the order they were opened).
    ShowChat(u8),
    /// Show the next chat with unread messages.
    NextUnread,
    /// Scroll the chat one page back.
    PageUp,
    /// Scroll the chat one page forward.
    PageDown,
    /// Draw the whole screen again (after another program wrote over it).
    Redraw,
    /// Move the contact cursor up.
    CursorUp,
    /// Move the contact cursor down.
    CursorDown,
    /// Open a chat with the contact under the cursor.
    OpenContact,
    /// Start typing a contact filter.
    Filter,
    /// Send the message, or run it if it starts with `/`.
    Submit,
    /// Start a new line in the message.
    Newline,
    /// Complete the `/command` or username before the cursor; again: the next candidate.
    Complete,
    /// The previous completion candidate.
    CompleteBack,
    /// Write the message in `$EDITOR`.
    Compose,
    /// Answer the highlighted message, or the peer's newest (as `/reply`).
    Reply,
    /// Recall the previous line from the history (or go up a row of a multi-line message).
    HistoryPrev,
    /// Recall the next line from the history (or go down a row).
    HistoryNext,
    /// End of the line; already there: jump to the newest message.
    LineEnd,
    /// Edit the input line.
    Edit(InputRequest),
}

/// A bound key sequence: one press, or two (`Ctrl+X Ctrl+E`).
pub type Sequence = Vec<KeyPress>;

/// Parses a sequence: presses separated by spaces, at most two.
///
/// # Errors
/// A bad key, or more than two presses.
pub fn parse_sequence(raw: &str) -> Result<Sequence, String> {
    let presses = raw
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<Sequence, String>>()?;
    match presses.len() {
        1 | 2 => Ok(presses),
        0 => Err("an empty key: give one such as \"Ctrl+N\"".to_owned()),
        _ => Err(format!(
            "{raw:?}: at most two keys in a row, such as \"Ctrl+X Ctrl+E\""
        )),
    }
}

/// What a key press means given the key pressed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// A bound action.
    Intent(Intent),
    /// The first key of a two-key sequence: wait for the second.
    Prefix,
    /// Nothing is bound to it.
    Nothing,
}

/// The key bindings in force: for each entry of [`table::COMMANDS`], its key sequences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    keys: Vec<Vec<Sequence>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let keys = COMMANDS
            .iter()
            .map(|c| {
                c.keys
                    .iter()
                    .filter_map(|k| parse_sequence(k).ok())
                    .collect()
            })
            .collect();
        Self { keys }
    }
}

impl Keymap {
    /// The defaults with the actions named in `overrides` bound to the given keys instead (an
    /// empty list unbinds an action).
    ///
    /// # Errors
    /// An unknown action name, a key that types a character (it could not be typed any more),
    /// or a key bound twice where both apply (also as the first key of a sequence).
    pub fn with(overrides: &BTreeMap<String, Vec<Sequence>>) -> Result<Self, String> {
        let mut map = Self::default();
        for (name, sequences) in overrides {
            let Some(at) = COMMANDS.iter().position(|c| c.name == name) else {
                let names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
                return Err(format!(
                    "{name:?} is not an action; the actions are: {}",
                    names.join(", ")
                ));
            };
            if let Some(typing) = sequences.iter().flatten().find(|k| k.is_typing()) {
                return Err(format!(
                    "{name} = {typing}: a key without Ctrl or Alt types its character, so it cannot be bound"
                ));
            }
            map.keys[at].clone_from(sequences);
        }
        map.check()?;
        Ok(map)
    }

    /// Refuses a sequence bound to two actions that apply at once, and a key that is both an
    /// action and the start of a sequence.
    fn check(&self) -> Result<(), String> {
        let all: Vec<(usize, &Sequence)> = self
            .keys
            .iter()
            .enumerate()
            .flat_map(|(i, seqs)| seqs.iter().map(move |s| (i, s)))
            .collect();
        for (n, (i, a)) in all.iter().enumerate() {
            for (j, b) in &all[n + 1..] {
                let (ci, cj) = (&COMMANDS[*i], &COMMANDS[*j]);
                if !ci.scope.overlaps(cj.scope) {
                    continue;
                }
                let shown = |s: &Sequence| -> String {
                    s.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                if a.starts_with(b) || b.starts_with(a) {
                    return Err(format!(
                        "{} ({}) and {} ({}) clash: one key would do both; bind one of them to another key",
                        shown(a),
                        ci.name,
                        shown(b),
                        cj.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// What `key` means in `scope` after `pending` (the first key of a sequence, if one was
    /// pressed). Scoped bindings win over global ones.
    pub fn lookup(&self, scope: Scope, pending: Option<KeyPress>, key: &KeyEvent) -> Found {
        let press = KeyPress::of(key);
        let typed: Sequence = pending.into_iter().chain([press]).collect();
        let mut prefix = false;
        for (command, sequences) in COMMANDS.iter().zip(&self.keys) {
            if command.scope != scope && command.scope != Scope::Global {
                continue;
            }
            for seq in sequences {
                if *seq == typed {
                    return Found::Intent(command.intent);
                }
                prefix |= seq.len() > typed.len() && seq.starts_with(&typed);
            }
        }
        if prefix {
            Found::Prefix
        } else {
            Found::Nothing
        }
    }

    /// The help's rows for `scope`: `(keys, description)`, one row per action, or per group
    /// of actions sharing a line (a pair shows `A / B`, a longer run `first – last`).
    pub fn help_rows(&self, scope: Scope) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(Vec<usize>, &'static str)> = Vec::new();
        for (i, command) in COMMANDS.iter().enumerate() {
            if command.scope != scope {
                continue;
            }
            match rows.last_mut() {
                Some((group, _)) if command.help.is_empty() => group.push(i),
                _ => rows.push((vec![i], command.help)),
            }
        }
        let keys = |i: usize| -> String {
            let shown: Vec<String> = self.keys[i]
                .iter()
                .map(|s| s.iter().map(KeyPress::label).collect::<Vec<_>>().join(" "))
                .collect();
            if shown.is_empty() {
                "(unbound)".to_owned()
            } else {
                shown.join(", ")
            }
        };
        rows.into_iter()
            .map(|(group, help)| {
                let label = match group.as_slice() {
                    [one] => keys(*one),
                    [a, b] => format!("{} / {}", keys(*a), keys(*b)),
                    [first, .., last] => format!("{} – {}", keys(*first), keys(*last)),
                    [] => String::new(),
                };
                (label, help)
            })
            .collect()
    }

    /// Every action with its keys as the config file writes them, for `p2p-chat config`.
    pub fn describe(&self) -> Vec<(&'static str, Vec<String>)> {
        COMMANDS
            .iter()
            .zip(&self.keys)
            .map(|(c, seqs)| {
                let shown = seqs
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect();
                (c.name, shown)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
