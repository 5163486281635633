//! Transfers left open by earlier runs, listed again at start; those under way dial their
//! peer.

use std::collections::VecDeque;

use super::{FileState, FileView, describe};
use crate::app::{App, Effect, LineKind};
use crate::store::Transfer;

impl App {
    /// Lists the transfers left open by earlier runs: offers to us can be answered, ours
    /// cancelled; the others wait for their peer.
    pub(super) fn restore_files(&mut self, transfers: Vec<Transfer>) -> Vec<Effect> {
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
}
