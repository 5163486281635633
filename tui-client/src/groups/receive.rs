//! Judging what members send ([`Groups::receive`]): who is believed for a change or an
//! invitation, which posts are shown, and what is held for later.

use p2p_chat_protocol::MessageId;
use p2p_chat_protocol::PeerMessage;
use p2p_chat_protocol::group::rules::{Arrival, Log, PostCheck};
use p2p_chat_protocol::group::{Change, GroupId, GroupOp};
use p2p_chat_protocol::peer::MAX_TEXT_BYTES;

use super::{Entry, GroupNews, Groups, Received, describe};
use crate::store::{GroupPostRow, StoreError};

impl Groups {
    /// Judges a group frame that arrived on `from`'s session (which proved `key`), stores
    /// what it brings, and says whether to acknowledge it. Frames that are not group frames
    /// are refused.
    ///
    /// # Errors
    /// When the store fails: nothing is kept and no receipt may go back.
    pub async fn receive(
        &mut self,
        from: &str,
        key: &[u8; 32],
        frame: PeerMessage,
    ) -> Result<Received, StoreError> {
        match frame {
            PeerMessage::GroupChange { group, id, change } => {
                self.take_change((from, key), group, id, change).await
            }
            PeerMessage::GroupInvite { group, id, changes } => {
                self.take_invite(from, key, group, id, changes).await
            }
            PeerMessage::GroupPost {
                group,
                id,
                sent_at_ms,
                text,
                reply_to,
                seen,
            } => {
                let Some(entry) = self.entries.get(&group) else {
                    return Ok(Received::Hold);
                };
                match entry.log.check_post(from, key, &seen) {
                    PostCheck::Wait => return Ok(Received::Hold),
                    PostCheck::Refuse(reason) => return Ok(Received::Refuse { id, reason }),
                    PostCheck::Accept if !entry.record.member => {
                        let reason = format!("we are no longer a member of {}", entry.record.name);
                        return Ok(Received::Refuse { id, reason });
                    }
                    PostCheck::Accept => {}
                }
                if text.len() > MAX_TEXT_BYTES {
                    let reason = format!("{from} sent a post over {MAX_TEXT_BYTES} bytes");
                    return Ok(Received::Refuse { id, reason });
                }
                let name = entry.record.name.clone();
                let row = GroupPostRow {
                    id,
                    sender: Some(from.to_owned()),
                    sent_at_ms,
                    text: text.clone(),
                    reply_to,
                };
                let log = entry.log.clone();
                let added_by = self.added_by(group);
                let committed = self
                    .commit(
                        group,
                        log,
                        added_by,
                        (Vec::new(), Vec::new(), Some(row), None),
                    )
                    .await?;
                let news = committed
                    .post
                    .map(|seq| GroupNews::Post {
                        group,
                        name,
                        sender: from.to_owned(),
                        id,
                        sent_at_ms,
                        text,
                        seq,
                    })
                    .into_iter()
                    .collect();
                Ok(Received::Ack { id, news })
            }
            other => Ok(Received::Refuse {
                id: MessageId::new(),
                reason: format!("{} is not a group frame", other.kind()),
            }),
        }
    }

    async fn take_change(
        &mut self,
        (from, key): (&str, &[u8; 32]),
        group: GroupId,
        id: MessageId,
        change: Change,
    ) -> Result<Received, StoreError> {
        let me = self.me.username.clone();
        let Some(entry) = self.entries.get(&group) else {
            // The invitation has not come yet.
            return Ok(Received::Hold);
        };
        if change.author == me {
            // Our own changes we know: nobody else may tell us what we did.
            let reason = format!("{from} sent a change said to be ours");
            return Ok(Received::Refuse { id, reason });
        }
        if change.author != from && !passed_on_by_adder(entry, &me, from, &change) {
            let reason = format!("{from} passed on a change made by {}", change.author);
            return Ok(Received::Refuse { id, reason });
        }
        // From its author: the session must prove the key the group has for it.
        if change.author == from
            && entry
                .log
                .group()
                .members
                .get(from)
                .is_some_and(|s| s.key != *key)
        {
            let reason = format!("{from}'s key is not the one {} knows", entry.record.name);
            return Ok(Received::Refuse { id, reason });
        }
        match entry.log.arrival(&change) {
            Arrival::Duplicate => {
                return Ok(Received::Ack {
                    id,
                    news: Vec::new(),
                });
            }
            Arrival::Early => return Ok(Received::Hold),
            Arrival::Next => {}
        }
        let mut log = entry.log.clone();
        let before = match log.apply(change.clone()) {
            Ok(before) => before,
            Err(e) => {
                return Ok(Received::Refuse {
                    id,
                    reason: e.to_string(),
                });
            }
        };
        let frames = log
            .forwards(&me, &change)
            .into_iter()
            .map(|(to, c)| {
                let frame_id = MessageId::new();
                let frame = PeerMessage::GroupChange {
                    group,
                    id: frame_id,
                    change: c,
                };
                (to, frame_id, frame)
            })
            .collect();
        let words = describe(&change, &before, &me);
        let added_by = self.added_by(group);
        self.take_noted(group, log, added_by, (vec![change], frames), words, id)
            .await
    }

    /// Commits group `group`'s new `log` with its `changes` and `frames` and the notice
    /// `words`, and acknowledges frame `id` with that news.
    async fn take_noted(
        &mut self,
        group: GroupId,
        log: Log,
        added_by: Option<String>,
        (changes, frames): (Vec<Change>, super::Frames),
        words: String,
        id: MessageId,
    ) -> Result<Received, StoreError> {
        let name = log.group().name.clone();
        let notice = Some(words.clone());
        let committed = self
            .commit(group, log, added_by, (changes, frames, None, notice))
            .await?;
        let news = vec![GroupNews::Changed {
            group,
            name,
            words,
            seq: committed.notice,
        }];
        Ok(Received::Ack { id, news })
    }

    async fn take_invite(
        &mut self,
        from: &str,
        key: &[u8; 32],
        group: GroupId,
        id: MessageId,
        changes: Vec<Change>,
    ) -> Result<Received, StoreError> {
        let me = self.me.username.clone();
        let refuse = |reason: String| Ok(Received::Refuse { id, reason });
        let offered = match Log::new(group, changes.clone()) {
            Ok(log) => log,
            Err(e) => return refuse(format!("{from} sent a group we cannot read: {e}")),
        };
        let adder_known = offered
            .group()
            .members
            .get(from)
            .is_some_and(|s| s.key == *key);
        let we_are_in = offered
            .group()
            .members
            .get(&me)
            .is_some_and(|s| s.key == self.me.key);
        if !adder_known || !we_are_in {
            return refuse(format!(
                "{from} invited us to a group that does not list {} with our key",
                if adder_known { "us" } else { from }
            ));
        }
        // A group we know already: while we are a member, the changes come from their authors
        // (an invitation must not slip others' changes in); added again after we left or were
        // removed, we take what is new from the adder, in each author's order.
        let (log, new) = match self.entries.get(&group) {
            None => (offered, changes),
            Some(entry) if entry.record.member => {
                return Ok(Received::Ack {
                    id,
                    news: Vec::new(),
                });
            }
            Some(entry) => {
                let mut log = entry.log.clone();
                let mut new = Vec::new();
                let mut rest = changes;
                while let Some(i) = rest.iter().position(|c| log.arrival(c) == Arrival::Next) {
                    let change = rest.remove(i);
                    if log.apply(change.clone()).is_ok() {
                        new.push(change);
                    }
                }
                (log, new)
            }
        };
        let name = log.group().name.clone();
        let others: Vec<&String> = log
            .group()
            .members
            .keys()
            .filter(|m| **m != me && *m != from)
            .collect();
        let words = match others.as_slice() {
            [] => format!("{from} added you to {name}"),
            list => format!(
                "{from} added you to {name}, with {}",
                list.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.take_noted(
            group,
            log,
            Some(from.to_owned()),
            (new, Vec::new()),
            words,
            id,
        )
        .await
    }
}

/// Whether `from` may pass on someone else's `change` to `me`: it added us (our latest `Add`
/// is its), and that addition had not seen the change, so the log it sent us lacked it (see
/// `rules::Log::forwards`). Changes the addition had seen came with the log and are never
/// passed on.
fn passed_on_by_adder(entry: &Entry, me: &str, from: &str, change: &Change) -> bool {
    let our_add = entry
        .log
        .changes()
        .iter()
        .rev()
        .find(|c| matches!(&c.op, GroupOp::Add { member } if member.username == me));
    entry.record.added_by.as_deref() == Some(from)
        && our_add.is_some_and(|add| add.author == from && change.seq > add.seen.of(&change.author))
}
