//! `/search TEXT`: the hits from the local store's full-text index, newest first; each shown
//! in its chat with the messages around it (the history window reloads there), highlighted.
//! `n` / `N` (or Down / Up) move to the next older / newer hit, Enter stays at the hit and
//! goes back to typing, Esc ends the search.

use crossterm::event::KeyCode;

use super::chat::DialTarget;
use super::{App, Effect, Focus, Level};
use crate::store::{PageRequest, Stored};

/// A search in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// What was searched for.
    pub query: String,
    /// The hits, newest first; empty while the store answers.
    pub hits: Vec<Stored>,
    /// The hit shown.
    pub selected: usize,
}

impl App {
    /// `/search TEXT`: asks the store.
    pub(super) fn start_search(&mut self, query: String) -> Vec<Effect> {
        self.search = Some(Search {
            query: query.clone(),
            hits: Vec::new(),
            selected: 0,
        });
        vec![Effect::Search { query }]
    }

    /// The store's answer to `/search query`.
    pub(super) fn on_search_results(&mut self, query: String, hits: Vec<Stored>) {
        if self.search.as_ref().is_none_or(|s| s.query != query) {
            // A newer search (or Esc) overtook it.
            return;
        }
        if hits.is_empty() {
            self.search = None;
            self.tell(
                Level::Info,
                format!("no message contains {query:?} (words match from their start, any case)"),
            );
            return;
        }
        if let Some(search) = self.search.as_mut() {
            search.hits = hits;
        }
        self.show_hit(0);
    }

    /// A key while the search list is shown.
    pub(super) fn on_search_key(&mut self, code: KeyCode) {
        let Some(search) = &self.search else { return };
        let (selected, count) = (search.selected, search.hits.len());
        match code {
            KeyCode::Char('n') | KeyCode::Down if selected + 1 < count => {
                self.show_hit(selected + 1);
            }
            KeyCode::Char('N') | KeyCode::Up if selected > 0 => self.show_hit(selected - 1),
            KeyCode::Char('n' | 'N') | KeyCode::Down | KeyCode::Up => {
                let end = if selected == 0 { "newest" } else { "oldest" };
                self.tell(Level::Info, format!("that was the {end} hit"));
            }
            KeyCode::Enter => {
                self.search = None;
                self.focus = Focus::Input;
            }
            KeyCode::Esc => {
                self.search = None;
                if let Some(chat) = self.current.and_then(|id| self.chat_mut(id)) {
                    chat.highlight = None;
                }
            }
            _ => {}
        }
    }

    /// Shows hit `index` in its chat, opening the chat (without dialling) when it is not.
    fn show_hit(&mut self, index: usize) {
        let Some(hit) = self
            .search
            .as_mut()
            .and_then(|s| {
                s.selected = index;
                s.hits.get(index)
            })
            .cloned()
        else {
            return;
        };
        let id = match self.chats.iter().find(|c| c.store_key() == hit.peer) {
            Some(chat) => chat.id,
            // A group we are no longer in: its chat, to read (it takes no posts).
            None if crate::store::is_group_conversation(&hit.peer) => {
                let Some(group) = crate::store::group_of_conversation(&hit.peer) else {
                    return;
                };
                self.group_chat(group, "a group you left")
            }
            None => {
                let target = p2p_chat_protocol::validate::username(&hit.peer)
                    .ok()
                    .map(DialTarget::Username);
                self.new_chat(hit.peer.clone(), target)
            }
        };
        if self.current != Some(id) {
            self.show(id);
        }
        self.reload(id, PageRequest::Around(hit.seq));
    }
}
