//! Quitting: signing off, closing every session and waiting briefly for their goodbyes.

use tokio::sync::mpsc;

use super::{GOODBYE_GRACE, Runner};
use crate::net::NetEvent;

impl Runner {
    /// Quitting: stops the heartbeats and signs off from the directory, then closes every
    /// session and waits up to [`GOODBYE_GRACE`] for them to end, so peers get a goodbye
    /// instead of a broken connection.
    pub async fn shutdown(&mut self, net_rx: &mut mpsc::Receiver<NetEvent>) {
        // Signed off before the goodbyes, so a peer that reloads its contact list on our
        // goodbye already sees us offline.
        for task in self.presence.drain(..) {
            task.abort();
        }
        if let Some(account) = &self.account {
            account.sign_off().await;
        }
        if let Some(mapper) = self.port_mapper.take() {
            mapper.release().await;
        }
        for handle in self.sessions.values() {
            handle.close();
        }
        let _ = tokio::time::timeout(GOODBYE_GRACE, async {
            while !self.sessions.is_empty() {
                match net_rx.recv().await {
                    Some(event) => {
                        self.adopt(vec![event]).await;
                    }
                    None => return,
                }
            }
        })
        .await;
    }
}
