//! A chat's window onto its stored history. At most [`MAX_LOADED_LINES`] lines stay in
//! memory: scrolling up loads older pages and drops the newest lines out of view; scrolling
//! back down loads them again. A conversation of any length opens with its newest page and
//! uses bounded memory however far the user scrolls.

use std::collections::HashSet;

use p2p_chat_protocol::MessageId;

use super::chat::{Chat, ChatLine};
use super::{App, ChatId, Effect};
use crate::store::{PageRequest, Stored};

/// Most lines of one chat kept in memory: ten pages.
pub const MAX_LOADED_LINES: usize = 1000;
/// Lines shown below a search hit, so it is read in context.
const HIT_CONTEXT_LINES: usize = 3;

impl Chat {
    /// `seq` of the newest loaded message.
    pub fn newest_loaded_seq(&self) -> Option<i64> {
        self.lines.iter().rev().find_map(|l| l.seq)
    }

    /// Merges a page of stored history. The newest page replaces what is shown, keeping lines
    /// it does not have (live ones, notices) after it; an older page goes in front (dropping
    /// the newest lines, out of view, beyond [`MAX_LOADED_LINES`]); a newer page goes at the end
    /// (dropping the oldest lines beyond the limit).
    pub fn merge_page(&mut self, request: PageRequest, page: Vec<Stored>, page_size: usize) {
        self.history.loading = false;
        let full = page.len() >= page_size;
        if let Some(last) = page.last()
            && Some(last.seq) > self.newest_seq
        {
            self.newest_seq = Some(last.seq);
        }
        // Stored lines shown already (a group's notices have no id: their seq tells).
        let shown: HashSet<i64> = self.lines.iter().filter_map(|l| l.seq).collect();
        let lines: Vec<ChatLine> = page
            .into_iter()
            .map(ChatLine::from_stored)
            .filter(|line| {
                request == PageRequest::Newest
                    || (line.id().is_none_or(|id| !self.seen.contains(&id))
                        && line.seq.is_none_or(|seq| !shown.contains(&seq)))
            })
            .collect();
        let page_seqs: HashSet<i64> = lines.iter().filter_map(|l| l.seq).collect();
        let ids: HashSet<MessageId> = lines.iter().filter_map(ChatLine::id).collect();
        self.seen.extend(ids.iter().copied());
        match request {
            PageRequest::Newest => {
                self.history.complete = !full;
                self.history.oldest_seq = lines
                    .first()
                    .and_then(|l| l.seq)
                    .or(self.history.oldest_seq);
                let live: Vec<ChatLine> = self
                    .lines
                    .drain(..)
                    .filter(|l| l.id().is_none_or(|id| !ids.contains(&id)))
                    .filter(|l| l.seq.is_none_or(|seq| !page_seqs.contains(&seq)))
                    .collect();
                self.lines = lines;
                self.lines.extend(live);
                let unread = std::mem::take(&mut self.history.unread_at_open);
                if unread > 0 && self.first_unread.is_none() {
                    self.first_unread = self
                        .lines
                        .iter()
                        .filter(|l| matches!(l.kind, super::LineKind::Peer { .. }))
                        .rev()
                        .nth(unread - 1)
                        .and_then(ChatLine::id);
                }
            }
            PageRequest::Before(_) => {
                self.history.complete = !full;
                if let Some(seq) = lines.first().and_then(|l| l.seq) {
                    self.history.oldest_seq = Some(seq);
                }
                let mut merged = lines;
                merged.append(&mut self.lines);
                self.lines = merged;
                self.drop_newest();
            }
            PageRequest::After(_) => {
                self.history.newer_dropped = full;
                self.lines.extend(lines);
                self.drop_oldest();
            }
            PageRequest::Around(seq) => {
                // A stretch in the middle: older and newer pages load as the user scrolls.
                let newer = lines.iter().filter(|l| l.seq > Some(seq)).count();
                self.history.newer_dropped = newer >= page_size / 2;
                self.history.complete = lines.len() - newer < page_size / 2 + 1;
                self.history.oldest_seq = lines.first().and_then(|l| l.seq);
                self.lines = lines;
                // The hit sits a few lines above the bottom of the view.
                let below = self.lines.iter().filter(|l| l.seq > Some(seq)).count();
                self.scroll = below.saturating_sub(HIT_CONTEXT_LINES);
                self.highlight = self
                    .lines
                    .iter()
                    .find(|l| l.seq == Some(seq))
                    .and_then(ChatLine::id);
            }
        }
    }

    /// Drops the newest lines beyond the limit, but only ones below the view.
    fn drop_newest(&mut self) {
        let excess = self
            .lines
            .len()
            .saturating_sub(MAX_LOADED_LINES)
            .min(self.scroll);
        if excess == 0 {
            return;
        }
        let keep = self.lines.len() - excess;
        for line in self.lines.drain(keep..) {
            if let Some(id) = line.id() {
                self.seen.remove(&id);
            }
        }
        self.scroll -= excess;
        self.history.newer_dropped = true;
    }

    /// Drops the oldest lines beyond the limit (the user is at the bottom).
    fn drop_oldest(&mut self) {
        let excess = self.lines.len().saturating_sub(MAX_LOADED_LINES);
        if excess == 0 {
            return;
        }
        for line in self.lines.drain(..excess) {
            if let Some(id) = line.id() {
                self.seen.remove(&id);
            }
        }
        self.history.complete = false;
        self.history.oldest_seq = self.lines.iter().find_map(|l| l.seq);
    }
}

impl App {
    /// Messages one PgUp/PgDn scrolls: the chat view's height, as every message takes at
    /// least one row.
    pub(super) fn page(&self) -> usize {
        usize::from(self.viewport.1.saturating_sub(6)).max(1)
    }

    /// End at the end of the input: the shown chat follows its newest message again; lines
    /// dropped from memory meanwhile are reloaded as the newest page.
    pub(super) fn jump_to_newest(&mut self) {
        let Some(id) = self.current else { return };
        let Some(chat) = self.chat_mut(id) else {
            return;
        };
        chat.scroll = 0;
        chat.highlight = None;
        if chat.history.newer_dropped && !chat.history.loading {
            // What is loaded is an older stretch: start again from the newest page.
            self.reload(id, PageRequest::Newest);
        }
    }

    /// Forgets the loaded lines of chat `id` and loads the page `request` in their place.
    pub(super) fn reload(&mut self, id: ChatId, request: PageRequest) {
        let Some(chat) = self.chat_mut(id) else {
            return;
        };
        chat.lines.clear();
        chat.seen.clear();
        chat.history = super::chat::History {
            requested: true,
            loading: true,
            ..Default::default()
        };
        let peer = chat.store_key();
        self.emit(Effect::LoadHistory {
            chat: id,
            peer,
            request,
        });
    }

    pub(super) fn scroll_by(&mut self, lines: isize) {
        let Some(id) = self.current else { return };
        let Some(chat) = self.chat_mut(id) else {
            return;
        };
        let oldest = chat
            .lines
            .len()
            .saturating_sub(1)
            .min(chat.scroll_top.get());
        chat.scroll = chat
            .scroll
            .min(oldest)
            .saturating_add_signed(lines)
            .min(oldest);
        let history = chat.history;
        if history.loading {
            return;
        }
        // At the top of what is loaded, fetch the page before it; at the bottom, while newer
        // lines were dropped from memory, the page after it.
        let request = match (chat.scroll, history.oldest_seq, chat.newest_loaded_seq()) {
            (s, Some(before), _) if s == oldest && !history.complete => PageRequest::Before(before),
            (0, _, Some(after)) if history.newer_dropped => PageRequest::After(after),
            _ => return,
        };
        chat.history.loading = true;
        let peer = chat.store_key();
        self.emit(Effect::LoadHistory {
            chat: id,
            peer,
            request,
        });
    }

    /// Loads what other programs of this profile (`send`, `listen`) stored since each open
    /// chat's newest loaded line, so the window shows it too; lines already shown are skipped.
    /// Asked for with every contact-list reload (about every 20 s).
    pub(super) fn refresh_from_store(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        for chat in &mut self.chats {
            let history = chat.history;
            if history.loading || history.newer_dropped {
                continue;
            }
            let Some(after) = chat.newest_loaded_seq() else {
                continue;
            };
            chat.history.loading = true;
            effects.push(Effect::LoadHistory {
                chat: chat.id,
                peer: chat.store_key(),
                request: PageRequest::After(after),
            });
        }
        effects
    }
}
