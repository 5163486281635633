//! `/info`: where we and the current chat's peer can be reached, and how the chat's session
//! was made — the chat window's view of what `p2p-chat doctor` checks.

use super::chat::{LineKind, Link};
use super::{App, Level};
use crate::net::SessionPath;

impl App {
    /// Shows, as notices in the current chat (or in the status bar without one), our
    /// addresses (listening, seen by the directory, mapped by the router), the peer's as the
    /// directory lists them, and the session's path, remote address, direction and round trip.
    pub(super) fn info(&mut self) {
        let mut lines = vec![self.our_addresses()];
        let Some(id) = self.current else {
            self.tell(Level::Info, lines.remove(0));
            return;
        };
        let Some(chat) = self.chats.iter().find(|c| c.id == id) else {
            return;
        };
        if chat.group.is_some() {
            self.group_info(id);
            return;
        }
        let name = chat.name.clone();
        let listed = self.contacts.iter().find(|r| r.username == name);
        lines.push(match listed {
            Some(record) if record.relay_only => format!(
                "{name}: takes sessions only through the directory's relay (its addresses are withheld)"
            ),
            Some(record) => {
                let mut text = format!("{name}: published {}", record.reached_at());
                if !record.candidates.is_empty() {
                    text.push_str(&format!(", also {}", record.candidates.join(", ")));
                }
                if let Some(seen) = &record.observed_host {
                    text.push_str(&format!("; the directory saw it at {seen}"));
                }
                text
            }
            None => format!("{name}: not listed by the directory"),
        });
        lines.push(match &chat.link {
            Link::Connected {
                path,
                remote,
                outgoing,
                rtt_ms,
                ..
            } => {
                let how = match path {
                    SessionPath::Direct => format!("direct, to {remote}"),
                    SessionPath::Punched => format!("hole punched, to {remote}"),
                    SessionPath::Relayed { .. } => {
                        format!("relayed by the directory at {remote}, encrypted end to end")
                    }
                };
                let who = if *outgoing {
                    "we dialled"
                } else {
                    "they dialled"
                };
                let rtt = rtt_ms.map_or_else(String::new, |ms| format!(", {ms} ms round trip"));
                format!("session: {how}; {who}{rtt}")
            }
            Link::Idle | Link::Failed { .. } => "session: none".to_owned(),
            Link::Dialing | Link::Reconnecting { .. } => "session: connecting".to_owned(),
        });
        let now = self.now();
        if let Some(chat) = self.chats.iter_mut().find(|c| c.id == id) {
            for line in lines {
                chat.notice(now, LineKind::Info, line);
            }
        }
    }

    /// "you: listening on …; the directory sees you at …; the router forwards … to you".
    fn our_addresses(&self) -> String {
        let mut text = format!("you: listening on {}", self.me.listen);
        match &self.reach.observed {
            Some(seen) => text.push_str(&format!("; the directory sees you at {seen}")),
            None if self.me.directory.is_some() => {
                text.push_str("; no signaling connection to the directory yet");
            }
            None => {}
        }
        match &self.reach.mapped {
            Some((mapped, protocol)) => text.push_str(&format!(
                "; the router forwards {mapped} to you ({protocol})"
            )),
            None => text.push_str("; no port mapping"),
        }
        text
    }
}
