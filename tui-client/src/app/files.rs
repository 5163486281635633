//! File transfers in the chat window: `/send PATH`, `/accept-file`, `/decline`,
//! `/cancel-file`, a notice in the peer's chat for each offer and end, a live line in the chat
//! for each start (progress, rate and time left, rewritten as bytes move), and the same in the
//! status bar. The transfer engine (`crate::transfer`) does the
//! work in the runner; this keeps what the user sees.

use std::collections::VecDeque;
use std::path::PathBuf;

use p2p_chat_protocol::MessageId;

mod restore;
mod view;

pub use view::{FileState, FileView};

use super::{App, Effect, Level, LineKind};
use crate::store::Transfer;
use crate::transfer::{Prepared, Report, human_bytes, short_sha256};

/// How often progress is asked for while bytes move, in ms.
pub const PROGRESS_INTERVAL_MS: u64 = 500;

/// What the window asks the transfer engine to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileEffect {
    /// Offer the file at `path` to `peer`.
    Offer {
        /// The peer.
        peer: String,
        /// The file.
        path: PathBuf,
    },
    /// Offer a file that was hashed ([`FileAction::Prepared`]).
    OfferPrepared(Prepared),
    /// Take offer `id` into the download directory.
    Accept(MessageId),
    /// Turn offer `id` down.
    Decline(MessageId),
    /// Stop transfer `id`.
    Cancel(MessageId),
    /// Report the bytes done of every moving transfer ([`FileAction::Progress`]).
    Poll,
}

/// The answer a command gives to a transfer of the shown chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAnswer {
    /// `/accept-file`: take the newest offer.
    Accept,
    /// `/decline`: refuse the newest offer.
    Decline,
    /// `/cancel-file`: stop the newest transfer not yet over.
    Cancel,
}

/// What the runner tells the window about transfers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAction {
    /// The engine's report.
    Report(Report),
    /// A file to offer is hashed.
    Prepared(Prepared),
    /// The transfers still open from earlier runs (at start).
    Restored(Vec<Transfer>),
    /// Our offer is recorded and sent (or waits for the peer's next session).
    Offered(Transfer),
    /// Bytes done of moving transfers.
    Progress(Vec<(MessageId, u64)>),
    /// A request failed (unknown offer, a peer's release too old); the text says why.
    Failed(String),
    /// `/send PATH` could not read or hash the file at `path`: `error` says why, and the
    /// command comes back into an empty input line to be corrected.
    NotOffered {
        /// The path as typed (after `~/` expansion).
        path: PathBuf,
        /// Why.
        error: String,
    },
}

/// `NAME (SIZE, SHA-256 abcd abcd abcd abcd)`.
fn describe(t: &Transfer) -> String {
    format!(
        "{} ({}, SHA-256 {})",
        t.name,
        human_bytes(t.size),
        short_sha256(&t.sha256)
    )
}

impl App {
    /// `/send PATH`: offers the file to the shown chat's peer.
    pub(super) fn send_file(&mut self, path: PathBuf) -> Vec<Effect> {
        if self.current_chat().is_some_and(|c| c.group.is_some()) {
            self.tell(
                Level::Error,
                "files go to one peer: open that member's chat and /send there",
            );
            return Vec::new();
        }
        let Some(peer) = self.current_chat().map(|c| c.name.clone()) else {
            self.tell(
                Level::Error,
                "open a chat first: /send offers the file to its peer",
            );
            return Vec::new();
        };
        self.tell(
            Level::Info,
            format!("hashing {} for {peer}…", path.display()),
        );
        vec![Effect::File(FileEffect::Offer { peer, path })]
    }

    /// The newest transfer of the shown chat that `wanted` picks.
    fn pick(&self, wanted: impl Fn(&FileView) -> bool) -> Option<MessageId> {
        let peer = &self.current_chat()?.name;
        self.files
            .iter()
            .rev()
            .find(|f| &f.transfer.peer == peer && wanted(f))
            .map(|f| f.transfer.id)
    }

    /// `/accept-file`, `/decline`, `/cancel-file`: on the newest matching transfer of the
    /// shown chat (an offer to us; for a cancel, any transfer not yet over).
    pub(super) fn answer_file(&mut self, answer: FileAnswer) -> Vec<Effect> {
        let id = match answer {
            FileAnswer::Cancel => self.pick(|f| {
                matches!(
                    f.state,
                    FileState::Offered | FileState::Moving | FileState::Paused
                )
            }),
            FileAnswer::Accept | FileAnswer::Decline => {
                self.pick(|f| !f.transfer.outgoing && f.state == FileState::Offered)
            }
        };
        let Some(id) = id else {
            let what = match answer {
                FileAnswer::Cancel => "no file transfer to cancel in this chat",
                FileAnswer::Accept | FileAnswer::Decline => "no file offer waits in this chat",
            };
            self.tell(Level::Error, what);
            return Vec::new();
        };
        if answer == FileAnswer::Accept
            && let Some(view) = self.files.iter().find(|f| f.transfer.id == id)
        {
            let words = format!(
                "taking {} into {} (saved there once every byte is in and the SHA-256 matches)",
                describe(&view.transfer),
                self.settings.download_dir.display()
            );
            let now = self.now_ms;
            if let Some(chat) = self.current.and_then(|c| self.chat_mut(c)) {
                chat.notice(now, LineKind::Info, words);
            }
        }
        let effect = match answer {
            FileAnswer::Accept => FileEffect::Accept(id),
            FileAnswer::Decline => FileEffect::Decline(id),
            FileAnswer::Cancel => FileEffect::Cancel(id),
        };
        vec![Effect::File(effect)]
    }

    /// What the runner reported about transfers.
    pub(super) fn on_file_action(&mut self, action: FileAction) -> Vec<Effect> {
        match action {
            FileAction::Failed(error) => self.tell(Level::Error, error),
            FileAction::NotOffered { path, error } => {
                let now = self.now_ms;
                if let Some(chat) = self.current.and_then(|c| self.chat_mut(c)) {
                    chat.notice(now, LineKind::Error, format!("not offered: {error}"));
                }
                self.tell(Level::Error, error);
                self.input.offer_again(format!("/send {}", path.display()));
            }
            FileAction::Progress(done) => {
                let now = self.now_ms;
                for (id, bytes) in done {
                    if let Some(view) = self.files.iter_mut().find(|f| f.transfer.id == id) {
                        view.sample(now, bytes);
                    }
                    self.show_live_line(id, false);
                }
            }
            FileAction::Report(report) => self.on_file_report(report),
            FileAction::Restored(transfers) => {
                let mut effects = self.restore_files(transfers);
                effects.extend(self.schedule_file_poll());
                return effects;
            }
            FileAction::Prepared(prepared) => {
                return vec![Effect::File(FileEffect::OfferPrepared(prepared))];
            }
            FileAction::Offered(transfer) => {
                // The chat says it from now on: the hashing notice goes.
                self.notice = None;
                self.on_file_report(Report::Offered(transfer));
            }
        }
        self.schedule_file_poll()
    }

    /// A wake-up came: asks for progress when it is due, and schedules the next one while
    /// bytes move.
    pub(super) fn poll_files(&mut self) -> Vec<Effect> {
        if self.file_poll_at_ms.is_none_or(|at| self.now_ms < at) {
            return Vec::new();
        }
        self.file_poll_at_ms = None;
        let mut effects = vec![Effect::File(FileEffect::Poll)];
        effects.extend(self.schedule_file_poll());
        effects
    }

    /// One wake-up in [`PROGRESS_INTERVAL_MS`] while bytes move and none is scheduled.
    fn schedule_file_poll(&mut self) -> Vec<Effect> {
        if self.file_poll_at_ms.is_some() || self.moving_files().next().is_none() {
            return Vec::new();
        }
        self.file_poll_at_ms = Some(self.now_ms + PROGRESS_INTERVAL_MS);
        vec![Effect::Wake {
            after_ms: PROGRESS_INTERVAL_MS,
        }]
    }

    fn on_file_report(&mut self, report: Report) {
        let (transfer, state, words) = match report {
            Report::Offered(t) if t.outgoing => {
                let mut words = format!(
                    "you offer {} — waiting for {} to accept (/cancel-file stops it)",
                    describe(&t),
                    t.peer
                );
                if let Some(note) = self.relay_cap_note(&t.peer) {
                    words.push_str(&format!("; {note}"));
                }
                (t, FileState::Offered, Some(words))
            }
            Report::Offered(t) => {
                let words = format!(
                    "{} offers {} — /accept-file to take it, /decline to refuse",
                    t.peer,
                    describe(&t)
                );
                (t, FileState::Offered, Some(words))
            }
            Report::Started { transfer, from } => {
                let id = transfer.id;
                let view = self.view_mut(transfer, FileState::Moving);
                (view.from, view.done) = (from, from);
                view.samples.clear();
                self.show_live_line(id, true);
                return;
            }
            Report::Paused { id } => {
                if let Some(view) = self
                    .files
                    .iter_mut()
                    .find(|f| f.transfer.id == id && f.state == FileState::Moving)
                {
                    view.state = FileState::Paused;
                }
                self.show_live_line(id, false);
                return;
            }
            Report::Finished { transfer } => {
                let words = match (&transfer.path, transfer.outgoing) {
                    (Some(path), false) => format!(
                        "saved {} to {}, hash checked",
                        describe(&transfer),
                        path.display()
                    ),
                    _ => format!(
                        "{} has {}, hash checked",
                        transfer.peer,
                        describe(&transfer)
                    ),
                };
                (transfer, FileState::Done, Some(words))
            }
            Report::Ended { transfer, reason } => {
                let words = format!("{} ended: {reason}", describe(&transfer));
                (transfer, FileState::Ended(reason), Some(words))
            }
        };
        let kind = if matches!(state, FileState::Ended(_)) {
            LineKind::Error
        } else {
            LineKind::Info
        };
        let (id, peer, size) = (transfer.id, transfer.peer.clone(), transfer.size);
        let view = self.view_mut(transfer, state);
        if view.state == FileState::Done {
            view.done = size;
        }
        self.show_live_line(id, false);
        let chat = self.chat_for(&peer);
        let now = self.now_ms;
        if let (Some(chat), Some(words)) = (self.chat_mut(chat), words) {
            chat.notice(now, kind, words);
        }
    }

    /// The view of `transfer` (added when new), now in `state`.
    fn view_mut(&mut self, transfer: Transfer, state: FileState) -> &mut FileView {
        let index = match self.files.iter().position(|f| f.transfer.id == transfer.id) {
            Some(index) => index,
            None => {
                self.files.push(FileView {
                    transfer: transfer.clone(),
                    state: state.clone(),
                    done: 0,
                    from: 0,
                    samples: VecDeque::new(),
                });
                self.files.len() - 1
            }
        };
        let view = &mut self.files[index];
        view.transfer = transfer;
        view.state = state;
        view
    }

    /// Writes transfer `id`'s live line in its peer's chat: a new line for a start (`fresh`),
    /// else the newest one rewritten (none is added for a transfer that never started here).
    fn show_live_line(&mut self, id: MessageId, fresh: bool) {
        let Some(view) = self.files.iter().find(|f| f.transfer.id == id) else {
            return;
        };
        let (text, peer) = (view.chat_text(), view.transfer.peer.clone());
        let chat = self.chat_for(&peer);
        let now = self.now_ms;
        if let Some(chat) = self.chat_mut(chat) {
            chat.transfer_line(now, id, text, fresh);
        }
    }

    /// What a user offering a file to `peer` is told when their session goes through the
    /// directory's relay (its cap per session).
    fn relay_cap_note(&self, peer: &str) -> Option<String> {
        let chat = self.chats.iter().find(|c| c.name == peer)?;
        match &chat.link {
            super::chat::Link::Connected { path, .. } => path.relay_cap_note(),
            _ => None,
        }
    }

    /// Whether a transfer with `peer` needs a session: our offer waiting, or one either way
    /// under way or paused. Like queued messages, it keeps the chat dialling its peer.
    pub(super) fn transfer_waits(&self, peer: &str) -> bool {
        self.files.iter().any(|f| {
            f.transfer.peer == peer
                && match f.state {
                    FileState::Moving | FileState::Paused => true,
                    FileState::Offered => f.transfer.outgoing,
                    FileState::Done | FileState::Ended(_) => false,
                }
        })
    }

    /// The transfers whose bytes move, for the status bar.
    pub fn moving_files(&self) -> impl Iterator<Item = &FileView> {
        self.files.iter().filter(|f| f.state == FileState::Moving)
    }
}
