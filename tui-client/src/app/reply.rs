//! Replies: `/reply [TEXT]` (or Ctrl+R) answers the message highlighted by a search, else the
//! peer's newest message in the shown chat. The reply's text starts with a one-line quote of
//! the original (`> bob: first words…`), which every peer shows — one that decodes `Reply`
//! also learns which message it answers.

use p2p_chat_protocol::MessageId;

use super::{App, ChatId, Effect, Level, LineKind};
use unicode_segmentation::UnicodeSegmentation;

/// Longest excerpt of the original in a quote, in grapheme clusters.
pub const QUOTE_MAX_CHARS: usize = 60;

/// A reply being written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replying {
    /// The chat it belongs to.
    pub chat: ChatId,
    /// The message answered.
    pub to: MessageId,
    /// Its quote line, without the newline.
    pub quote: String,
}

/// The quote line for a message by `sender` with `text`: its first line that is not itself a
/// quote, cut to [`QUOTE_MAX_CHARS`].
pub fn quote_line(sender: &str, text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.starts_with("> ") && !l.trim().is_empty())
        .unwrap_or("");
    let mut excerpt: String = line.graphemes(true).take(QUOTE_MAX_CHARS).collect();
    if excerpt.len() < line.len() {
        excerpt.push('…');
    }
    format!("> {sender}: {excerpt}")
}

/// Whether `text` starts with a quote line followed by more (how a reply looks).
pub fn is_reply_text(text: &str) -> bool {
    text.starts_with("> ") && text.contains('\n')
}

impl App {
    /// `/reply [TEXT]`: picks the message to answer; sends `text` at once when given, else
    /// waits for the next message typed.
    pub(super) fn start_reply(&mut self, text: Option<String>) -> Vec<Effect> {
        let Some(chat) = self.current_chat() else {
            self.tell(Level::Error, "no chat shown: open one to reply in it");
            return Vec::new();
        };
        let target = chat
            .lines
            .iter()
            .rev()
            .find(|l| chat.highlight.is_some() && l.id() == chat.highlight)
            .or_else(|| {
                chat.lines
                    .iter()
                    .rev()
                    .find(|l| matches!(l.kind, LineKind::Peer { .. }))
            });
        let Some((to, sender, original)) = target.and_then(|line| {
            let sender = match line.kind {
                LineKind::Own { .. } => self.me.name.clone(),
                // A group member's post answers its member, not the group.
                _ => line.sender.clone().unwrap_or_else(|| chat.name.clone()),
            };
            line.id().map(|id| (id, sender, line.text.clone()))
        }) else {
            self.tell(
                Level::Error,
                "nothing to reply to yet: /search for the message, or wait for one",
            );
            return Vec::new();
        };
        let quote = quote_line(&sender, &original);
        self.replying = Some(Replying {
            chat: chat.id,
            to,
            quote: quote.clone(),
        });
        match text {
            Some(text) => self.send_text(text),
            None => {
                self.tell(
                    Level::Info,
                    format!("replying to {quote} — type the answer, Esc cancels"),
                );
                Vec::new()
            }
        }
    }

    /// The reply in progress for the shown chat, taken for the message being sent: its quote
    /// goes before `text`.
    pub(super) fn take_reply(&mut self, text: String) -> (String, Option<MessageId>) {
        match self.replying.take() {
            Some(reply) if Some(reply.chat) == self.current => {
                (format!("{}\n{text}", reply.quote), Some(reply.to))
            }
            _ => (text, None),
        }
    }
}
