//! The delivery rules for programs without a chat window (`listen`, the demo's echo peer):
//! admitted sessions, each with its outbox pump, and received messages stored before they
//! are acknowledged.

use std::collections::HashMap;

use p2p_chat_protocol::MessageId;

#[cfg(doc)]
use super::inbound::carries_data;
use super::inbound::{Taken, take};
use super::outbound::{Pump, PumpReport};
use crate::groups::Groups;
use crate::net::{NetEvent, SessionHandle, SessionId};
use crate::store::{LocalStore, StoreError};

/// The sessions a headless program admitted, by id.
pub struct Sessions {
    store: LocalStore,
    admitted: HashMap<SessionId, (String, SessionHandle)>,
    pumps: HashMap<SessionId, Pump>,
    groups: Option<Groups>,
}

impl Sessions {
    /// No sessions yet; messages go to and from `store`.
    pub fn new(store: LocalStore) -> Self {
        Self {
            store,
            admitted: HashMap::new(),
            pumps: HashMap::new(),
            groups: None,
        }
    }

    /// Takes part in `groups`: their frames are judged and stored, and queued ones go out.
    pub fn with_groups(mut self, groups: Groups) -> Self {
        self.groups = Some(groups);
        self
    }

    /// The groups, when taken part in; after changing them, call [`Sessions::wake`].
    pub fn groups(&mut self) -> Option<&mut Groups> {
        self.groups.as_mut()
    }

    /// Tells every pump that frames may wait (after a group action queued some).
    pub fn wake(&self) {
        self.pumps.values().for_each(Pump::wake);
    }

    /// Takes a session whose peer passed the trust check as `name`: its messages will be
    /// stored under that name, and `name`'s outbox starts going out on it.
    pub fn admit(&mut self, session: SessionId, name: String, handle: SessionHandle) {
        let pump =
            Pump::start::<PumpReport>(self.store.clone(), name.clone(), handle.clone(), None);
        self.pumps.insert(session, pump);
        self.admitted.insert(session, (name, handle));
    }

    /// Forgets a session that ended; returns the name it was admitted as.
    pub fn closed(&mut self, session: SessionId) -> Option<String> {
        self.pumps.remove(&session);
        self.admitted.remove(&session).map(|(name, _)| name)
    }

    /// The name session `session` was admitted as, if it was.
    pub fn name(&self, session: SessionId) -> Option<String> {
        self.admitted.get(&session).map(|(name, _)| name.clone())
    }

    /// Closes every admitted session (a goodbye to each).
    pub fn close_all(&self) {
        for (_, handle) in self.admitted.values() {
            handle.close();
        }
    }

    /// Writes `text` to `peer`'s outbox; an open session to `peer` sends it after what was
    /// queued before.
    ///
    /// # Errors
    /// When the store cannot write (the message then is not sent).
    pub async fn queue(
        &self,
        peer: &str,
        id: MessageId,
        sent_at_ms: u64,
        text: &str,
    ) -> Result<(), StoreError> {
        self.store
            .insert_outgoing(peer, id, sent_at_ms, text)
            .await?;
        self.pumps
            .values()
            .filter(|pump| pump.peer() == peer)
            .for_each(Pump::wake);
        Ok(())
    }

    /// Handles the messages and receipts among `events` (see [`carries_data`]; others are
    /// left to the caller): stores messages of admitted sessions, then acknowledges them;
    /// records receipts as delivered. Returns every stored message (`seq` is `None` for a
    /// resend already stored) and every receipt.
    ///
    /// # Errors
    /// When the store cannot write; nothing is acknowledged then.
    pub async fn take(&mut self, events: Vec<NetEvent>) -> Result<Taken, StoreError> {
        let admitted = &self.admitted;
        let admitted = |session| admitted.get(&session).cloned();
        let taken = take(&self.store, self.groups.as_mut(), events, admitted).await?;
        if taken.groups_queued {
            self.wake();
        }
        Ok(taken)
    }
}
