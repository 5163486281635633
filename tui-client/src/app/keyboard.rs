//! `App::update` for keys: the help overlay, the contact filter, and the intents the key
//! bindings map keys to (moving between chats, scrolling, sending, completing, quitting).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::InputRequest;

use super::keys::{Found, Intent, KeyPress, Scope};
use super::{App, DialTarget, Effect, Focus};

/// Most rows the help can be scrolled down (its render stops at its end).
const HELP_SCROLL_MAX: u16 = 200;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // A notice has been seen once the user acts; it makes room for the status bar.
        self.notice = None;
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.show_help && !ctrl_c {
            self.on_help_key(key.code);
            return Vec::new();
        }
        if self.filtering && !ctrl_c {
            self.on_filter_key(key.code);
            return Vec::new();
        }
        if self.search.as_ref().is_some_and(|s| !s.hits.is_empty()) && !ctrl_c {
            self.on_search_key(key.code);
            return Vec::new();
        }
        let scope = match self.focus {
            Focus::Contacts => Scope::Contacts,
            Focus::Input => Scope::Input,
        };
        let pending = self.pending_key.take();
        let found = self.settings.keys.lookup(scope, pending, &key);
        if !matches!(
            found,
            Found::Intent(Intent::Complete | Intent::CompleteBack)
        ) {
            self.completion = None;
        }
        // Terminals send Alt+x as Esc then x, and so read an Esc typed just before a letter
        // as Alt: without a binding of its own, that is what it was.
        if let KeyCode::Char(c) = key.code
            && key.modifiers == KeyModifiers::ALT
            && pending.is_none()
            && found == Found::Nothing
        {
            let mut effects = self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
            effects.extend(self.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
            return effects;
        }
        match found {
            Found::Intent(intent) => self.on_intent(intent),
            Found::Prefix => {
                self.pending_key = Some(KeyPress::of(&key));
                Vec::new()
            }
            // The second key of an unknown sequence is dropped, not typed.
            Found::Nothing if pending.is_some() => Vec::new(),
            Found::Nothing => {
                if let KeyCode::Char(c) = key.code
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                {
                    // Typing in the contact list starts a message, as in most chat clients.
                    self.focus = Focus::Input;
                    self.input.edit(InputRequest::InsertChar(c));
                    return self.typing_effect().into_iter().collect();
                }
                Vec::new()
            }
        }
    }

    /// While the help is shown: arrows and page keys scroll it, any other key closes it.
    fn on_help_key(&mut self, code: KeyCode) {
        let page = self.page() as u16;
        self.help_scroll = match code {
            KeyCode::Down => self.help_scroll.saturating_add(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.help_scroll.saturating_add(page),
            KeyCode::Up => self.help_scroll.saturating_sub(1),
            KeyCode::PageUp => self.help_scroll.saturating_sub(page),
            _ => {
                self.show_help = false;
                0
            }
        }
        .min(HELP_SCROLL_MAX);
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
            Intent::ToggleHelp => {
                self.show_help = !self.show_help;
                self.help_scroll = 0;
            }
            Intent::Back if self.key_warning.is_some() => self.key_warning = None,
            Intent::Back if self.replying.is_some() => {
                self.replying = None;
                self.tell(super::Level::Info, "reply cancelled");
            }
            Intent::Back if self.filter.is_some() => self.filter = None,
            Intent::Back => self.focus = Focus::Contacts,
            Intent::NextChat => self.cycle_chat(1),
            Intent::NextUnread => self.next_unread(),
            Intent::PrevChat => self.cycle_chat(-1),
            Intent::ShowChat(n) => self.show_nth(usize::from(n)),
            Intent::Redraw => return vec![Effect::Redraw],
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
            Intent::Newline => {
                self.input.edit(InputRequest::InsertChar('\n'));
                return self.typing_effect().into_iter().collect();
            }
            Intent::Complete => self.complete(true),
            Intent::CompleteBack => self.complete(false),
            Intent::Reply => return self.start_reply(None),
            Intent::Compose => {
                return vec![Effect::Compose {
                    draft: self.input.value().to_owned(),
                }];
            }
            Intent::HistoryPrev => self.input.up(),
            Intent::HistoryNext => self.input.down(),
            Intent::LineEnd => {
                if self.input.at_line_end() {
                    self.jump_to_newest();
                } else {
                    self.input.edit(InputRequest::GoToEnd);
                }
            }
            Intent::Edit(request) => {
                self.input.edit(request);
                return self.typing_effect().into_iter().collect();
            }
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

    /// Shows the `n`th open chat (1-based, in the order they were opened), as weechat's
    /// Alt+1…9 shows its buffers.
    fn show_nth(&mut self, n: usize) {
        match self.chats.get(n.wrapping_sub(1)).map(|c| c.id) {
            Some(id) => {
                self.show(id);
                self.focus = Focus::Input;
            }
            None => self.tell(
                super::Level::Info,
                format!("no chat {n}: {} open", self.chats.len()),
            ),
        }
    }
}
