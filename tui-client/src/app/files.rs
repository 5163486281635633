//! File transfers in the chat window: `/send PATH`, `/accept-file`, `/decline`,
//! `/cancel-file`, a notice in the peer's chat for each offer and end, a live line in the chat
//! for each start (progress, rate and time left, rewritten as bytes move), and the same in the
//! status bar. The transfer engine (`crate::transfer`) does the
//! work in the runner; this keeps what the user sees.

use std::collections::VecDeque;
use std::path::PathBuf;

use p2p_chat_protocol::MessageId;

use super::{App, Effect, Level, LineKind};
use crate::store::Transfer;
use crate::transfer::{Prepared, Report, human_bytes, short_sha256};

/// How far back the rate is measured, in ms: 5 s.
const RATE_WINDOW_MS: u64 = 5_000;

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

/// Where a transfer stands, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileState {
    /// Waiting for the receiver's answer (ours), or for ours (theirs).
    Offered,
    /// Bytes are moving.
    Moving,
    /// The session broke; it goes on with the next one.
    Paused,
    /// Complete; for a received file, where it was saved.
    Done,
    /// Declined, cancelled or failed.
    Ended(String),
}

/// One transfer as the window shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileView {
    /// The transfer as stored.
    pub transfer: Transfer,
    /// Where it stands.
    pub state: FileState,
    /// Bytes done.
    pub done: u64,
    /// Where the latest start began, in bytes (0, or what the receiver kept).
    pub from: u64,
    /// Recent (time ms, bytes done) samples, for the rate.
    samples: VecDeque<(u64, u64)>,
}

impl FileView {
    /// Bytes per second over the last [`RATE_WINDOW_MS`], if known.
    pub fn rate(&self) -> Option<f64> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        let ms = last.0.checked_sub(first.0).filter(|ms| *ms > 0)?;
        Some((last.1.saturating_sub(first.1)) as f64 * 1000.0 / ms as f64)
    }

    /// Seconds left at the current rate, if known.
    pub fn eta_secs(&self) -> Option<u64> {
        let rate = self.rate().filter(|r| *r > 0.0)?;
        Some((self.transfer.size.saturating_sub(self.done) as f64 / rate).ceil() as u64)
    }

    fn arrow(&self) -> &'static str {
        if self.transfer.outgoing { "↑" } else { "↓" }
    }

    fn percent(&self) -> u64 {
        (self.done * 100)
            .checked_div(self.transfer.size)
            .unwrap_or(100)
    }

    /// `12.3 MiB/s`, when the rate is known.
    fn rate_text(&self) -> Option<String> {
        self.rate()
            .map(|rate| format!("{}/s", human_bytes(rate as u64)))
    }

    /// `0:12`, when the time left is known.
    fn eta_text(&self) -> Option<String> {
        self.eta_secs()
            .map(|eta| format!("{}:{:02}", eta / 60, eta % 60))
    }

    /// `↑ holiday.mp4 45% 12.3 MiB/s 0:12` for the status bar.
    pub fn progress_text(&self) -> String {
        let mut text = format!(
            "{} {} {}%",
            self.arrow(),
            self.transfer.name,
            self.percent()
        );
        for part in [self.rate_text(), self.eta_text()].into_iter().flatten() {
            text.push(' ');
            text.push_str(&part);
        }
        text
    }

    /// The transfer's live line in the chat: `↑ holiday.mp4 to bob: 45% of 1.0 GiB
    /// (resumed at 200 MiB), 12.3 MiB/s, 0:12 left`, then where it stopped (paused, done,
    /// ended).
    pub fn chat_text(&self) -> String {
        let t = &self.transfer;
        let towards = if t.outgoing { "to" } else { "from" };
        if let FileState::Ended(_) = self.state {
            // How far it got is not known to the byte: the end notice says why it stopped.
            return format!("{} {} {towards} {} — ended", self.arrow(), t.name, t.peer);
        }
        let mut text = format!(
            "{} {} {towards} {}: {}% of {}",
            self.arrow(),
            t.name,
            t.peer,
            self.percent(),
            human_bytes(t.size)
        );
        if self.from > 0 {
            text.push_str(&format!(" (resumed at {})", human_bytes(self.from)));
        }
        match &self.state {
            FileState::Moving => {
                if let Some(rate) = self.rate_text() {
                    text.push_str(&format!(", {rate}"));
                }
                if let Some(eta) = self.eta_text() {
                    text.push_str(&format!(", {eta} left"));
                }
            }
            FileState::Paused => text.push_str(" — paused: goes on over the next session"),
            FileState::Done => text.push_str(" — done"),
            FileState::Ended(_) | FileState::Offered => {}
        }
        text
    }

    /// Records a progress sample (tests drive the clock).
    #[cfg(test)]
    pub fn sample_for_tests(&mut self, now_ms: u64, done: u64) {
        self.sample(now_ms, done);
    }

    fn sample(&mut self, now_ms: u64, done: u64) {
        self.done = done;
        self.samples.push_back((now_ms, done));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now_ms.saturating_sub(*at) > RATE_WINDOW_MS)
        {
            self.samples.pop_front();
        }
    }
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

    /// Lists the transfers left open by earlier runs: offers to us can be answered, ours
    /// cancelled; the others wait for their peer.
    fn restore_files(&mut self, transfers: Vec<Transfer>) -> Vec<Effect> {
        let now = self.now_ms;
        for transfer in transfers {
            let waiting = transfer.state == crate::store::TransferState::Offered;
            let (state, words) = match (waiting, transfer.outgoing) {
                (true, false) => (
                    FileState::Offered,
                    format!(
                        "{} offered {} — /accept-file to take it, /decline to refuse",
                        transfer.peer,
                        describe(&transfer)
                    ),
                ),
                (true, true) => (
                    FileState::Offered,
                    format!(
                        "your offer of {} waits for {} (/cancel-file stops it)",
                        describe(&transfer),
                        transfer.peer
                    ),
                ),
                (false, _) => (
                    FileState::Paused,
                    format!(
                        "{} goes on once connected to {} again (/cancel-file stops it)",
                        describe(&transfer),
                        transfer.peer
                    ),
                ),
            };
            let chat = self.chat_for(&transfer.peer.clone());
            if let Some(chat) = self.chat_mut(chat) {
                chat.notice(now, LineKind::Info, words);
            }
            self.files.push(FileView {
                transfer,
                state,
                done: 0,
                from: 0,
                samples: VecDeque::new(),
            });
        }
        // Transfers under way go on as soon as their peer is reached: dial it now.
        let waiting: Vec<_> = self
            .chats
            .iter()
            .filter(|c| self.transfer_waits(&c.name))
            .map(|c| c.id)
            .collect();
        self.redial_all(waiting)
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
