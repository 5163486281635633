//! Effects only the chat window's user sees: the bell, settings saved to the config file,
//! `/search`, and wake-ups for what expires on screen.

use super::Runner;
use crate::app::Action;
use crate::config::Change;

impl Runner {
    /// Writes a setting changed in the window into the config file; the demo and tests have
    /// none, so there the change lasts for the run.
    pub(super) fn save_setting(&mut self, change: &Change) {
        if let Some(path) = &self.config_path
            && let Err(e) = crate::config::file::write_change(path, change)
        {
            self.report(Action::SettingNotSaved(e));
        }
    }

    /// `/search`: the store's hits, newest first, reported as an action.
    pub(super) async fn search(&mut self, query: String) {
        match self
            .store
            .search(None, &query, crate::store::MAX_HITS)
            .await
        {
            Ok(hits) => self.report(Action::SearchResults { query, hits }),
            Err(e) => self.report(Action::StoreFailed(e.to_string())),
        }
    }

    /// Sends [`Action::Tick`] after `after_ms`.
    pub(super) fn wake_after(&self, after_ms: u64) {
        let tx = self.action_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
            let _ = tx.send(Action::Tick).await;
        });
    }
}

/// Rings the terminal bell: BEL on standard output, which the terminal (not the screen)
/// interprets; best effort.
pub(super) fn ring_bell() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
}
