//! Session events in the runner: a batch's messages, group frames and receipts stored (and
//! acknowledged) first, then opened and closed sessions.

use super::Runner;
use crate::app::Action;
use crate::delivery::inbound::{Taken, carries_data, take};
use crate::groups::GroupNews;
use crate::net::{NetEvent, SessionEvent, SessionId};

impl Runner {
    /// Takes a batch of session events (see [`crate::net::batch`]): stores the received messages of
    /// bound sessions in one transaction and only then acknowledges them, records receipts,
    /// and returns what the app should hear about. Messages and receipts come first: the
    /// batch ends at a session's `Opened`, and a session's data precedes its `Closed`.
    pub async fn adopt(&mut self, events: Vec<NetEvent>) -> Vec<Action> {
        let (data, control): (Vec<_>, Vec<_>) = events.into_iter().partition(carries_data);
        // A session the app did not bind (refused, or closing) gets no receipt.
        let bound = |session| {
            Some((
                self.bindings.get(&session)?.clone(),
                self.sessions.get(&session)?.clone(),
            ))
        };
        let carriers: std::collections::BTreeSet<SessionId> =
            data.iter().map(|e| e.session).collect();
        let groups = self.groups.as_mut();
        let mut actions = match take(&self.store, groups, data, bound).await {
            Ok(Taken {
                received,
                delivered,
                group_delivered,
                groups,
                groups_queued,
            }) => {
                let delivered_frames = !group_delivered.is_empty();
                let receipts = crate::delivery::group_receipts(&self.store, group_delivered).await;
                self.reports.extend(receipts);
                let news: Vec<GroupNews> = groups.into_iter().map(|(_, news)| news).collect();
                self.group_work_done(groups_queued, delivered_frames, &news)
                    .await;
                let groups = news.into_iter().map(Action::GroupNews);
                let received = received.into_iter().filter_map(|r| {
                    r.seq.map(|seq| Action::MessageReceived {
                        session: r.session,
                        seq,
                        id: r.message.id,
                        sent_at_ms: r.message.sent_at_ms,
                        text: r.message.text,
                    })
                });
                let delivered = delivered
                    .into_iter()
                    .map(|(session, id)| Action::Delivered {
                        session,
                        peer: self.bindings.get(&session).cloned().unwrap_or_default(),
                        id,
                    });
                received.chain(delivered).chain(groups).collect()
            }
            Err(e) => {
                // Nothing of the batch is acknowledged, and these sessions would count it
                // against their receive window for good: they end, and each peer sends the
                // unacknowledged messages again on its next session.
                tracing::warn!(error = %e, "cannot store what sessions brought; no receipt went out");
                for session in carriers {
                    if let Some(handle) = self.sessions.get(&session) {
                        handle.close();
                    }
                }
                vec![Action::StoreFailed(e.to_string())]
            }
        };
        for event in control {
            match event.event {
                SessionEvent::File(file) => self.file_event(event.session, file).await,
                other => actions.extend(self.adopt_one(event.session, other)),
            }
        }
        actions
    }

    /// The events that are neither messages nor receipts.
    fn adopt_one(&mut self, session: SessionId, event: SessionEvent) -> Option<Action> {
        match event {
            SessionEvent::Opened {
                handle,
                peer,
                direction,
            } => {
                self.sessions.insert(session, handle);
                Some(Action::SessionOpened {
                    session,
                    peer,
                    direction,
                })
            }
            // Read state is shown, never stored: nothing to write first.
            SessionEvent::Read { id } => Some(Action::Read { session, id }),
            SessionEvent::Typing => Some(Action::Typing { session }),
            SessionEvent::RoundTrip { rtt_ms } => Some(Action::RoundTrip { session, rtt_ms }),
            SessionEvent::Closed { reason } => {
                self.sessions.remove(&session);
                if let Some(peer) = self.bindings.remove(&session) {
                    self.files.session_closed(&peer, session);
                }
                self.pumps.remove(&session);
                Some(Action::SessionClosed { session, reason })
            }
            SessionEvent::Message { .. }
            | SessionEvent::Delivered { .. }
            | SessionEvent::Group(_) => None,
            SessionEvent::File(_) => None,
        }
    }
}
