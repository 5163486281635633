//! `App::update` for keys: the help overlay, the contact filter, and the intents the key
//! bindings map keys to (moving between chats, scrolling, sending, quitting).

use crossterm::event::{KeyCode, KeyModifiers};
use tui_input::InputRequest;

use super::keys::{self, Intent, Scope};
use super::{App, DialTarget, Effect, Focus};

impl App {
    pub(super) fn on_key(&mut self, key: crossterm::event::KeyEvent) -> Vec<Effect> {
        // A notice has been seen once the user acts; it makes room for the status bar.
        self.notice = None;
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.show_help && !ctrl_c {
            self.show_help = false;
            return Vec::new();
        }
        if self.filtering && !ctrl_c {
            self.on_filter_key(key.code);
            return Vec::new();
        }
        let scope = match self.focus {
            Focus::Contacts => Scope::Contacts,
            Focus::Input => Scope::Input,
        };
        // Terminals send Alt+x as Esc then x, and so read an Esc typed just before a letter
        // as Alt: without a binding of its own, that is what it was.
        if let KeyCode::Char(c) = key.code
            && key.modifiers == KeyModifiers::ALT
            && keys::lookup(scope, &key).is_none()
        {
            let mut effects = self.on_key(crossterm::event::KeyEvent::new(
                KeyCode::Esc,
                KeyModifiers::NONE,
            ));
            effects.extend(self.on_key(crossterm::event::KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
            return effects;
        }
        match keys::lookup(scope, &key) {
            Some(intent) => self.on_intent(intent),
            None if self.focus == Focus::Contacts => {
                // Typing in the contact list starts a message, as in most chat clients.
                if let KeyCode::Char(c) = key.code
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                {
                    self.focus = Focus::Input;
                    self.input.edit(InputRequest::InsertChar(c));
                }
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn on_filter_key(&mut self, code: KeyCode) {
        let filter = self.filter.get_or_insert_with(String::new);
        match code {
            KeyCode::Char(c) => filter.push(c),
            KeyCode::Backspace => {
                filter.pop();
            }
            KeyCode::Enter => self.filtering = false,
            KeyCode::Esc => {
                self.filtering = false;
                self.filter = None;
            }
            _ => {}
        }
        self.cursor = 0;
    }

    fn on_intent(&mut self, intent: Intent) -> Vec<Effect> {
        match intent {
            Intent::Quit => return self.quit(),
            Intent::ToggleHelp => self.show_help = !self.show_help,
            Intent::Back if self.key_warning.is_some() => self.key_warning = None,
            Intent::Back if self.filter.is_some() => self.filter = None,
            Intent::Back => self.focus = Focus::Contacts,
            Intent::NextChat => self.cycle_chat(1),
            Intent::NextUnread => self.next_unread(),
            Intent::PrevChat => self.cycle_chat(-1),
            Intent::PageUp => self.scroll_by(self.page() as isize),
            Intent::PageDown => self.scroll_by(-(self.page() as isize)),
            Intent::CursorUp => self.cursor = self.cursor.saturating_sub(1),
            Intent::CursorDown => {
                self.cursor = (self.cursor + 1).min(self.entries().len().saturating_sub(1));
            }
            Intent::OpenContact => {
                if let Some(entry) = self.entries().get(self.cursor).cloned() {
                    return match entry.chat {
                        Some(id) => {
                            self.show(id);
                            self.focus = Focus::Input;
                            self.redial_if_idle(id)
                        }
                        None => self.open(DialTarget::Username(entry.name)),
                    };
                }
            }
            Intent::Filter => {
                self.focus = Focus::Contacts;
                self.filtering = true;
                self.filter.get_or_insert_with(String::new);
            }
            Intent::Submit => return self.submit(),
            Intent::HistoryPrev => self.input.history_prev(),
            Intent::HistoryNext => self.input.history_next(),
            Intent::Edit(request) => self.input.edit(request),
        }
        Vec::new()
    }

    pub(super) fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        let mut effects: Vec<Effect> = self
            .chats
            .iter()
            .filter_map(|c| c.session())
            .map(|session| Effect::CloseSession { session })
            .collect();
        effects.push(Effect::Quit);
        effects
    }

    fn cycle_chat(&mut self, step: isize) {
        if self.chats.is_empty() {
            return;
        }
        let len = self.chats.len() as isize;
        let pos = self
            .current
            .and_then(|id| self.chats.iter().position(|c| c.id == id));
        let next = match pos {
            Some(p) => (p as isize + step).rem_euclid(len),
            None => 0,
        };
        let id = self.chats[next as usize].id;
        self.show(id);
        self.focus = Focus::Input;
    }
}
