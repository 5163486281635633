//! A transfer as the window shows it: where it stands, its rate and time left, and its
//! texts for the status bar and the chat's live line.

use std::collections::VecDeque;

use crate::store::Transfer;
use crate::transfer::human_bytes;

/// How far back the rate is measured, in ms: 5 s.
const RATE_WINDOW_MS: u64 = 5_000;

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
    pub(in crate::app) samples: VecDeque<(u64, u64)>,
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

    pub(in crate::app) fn sample(&mut self, now_ms: u64, done: u64) {
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
