//! Group actions of the window, carried out by the profile's group engine: each is stored
//! with a frame for every member it concerns, and the sessions' outbox pumps send them.

use super::Runner;
use crate::app::{Action, GroupEffect};
use crate::delivery::mail::take_group_mail;
use crate::delivery::outbound::Pump;
use crate::groups::{GroupNews, GroupsError};

impl Runner {
    /// The groups we are a member of, for the window (at start and after every change).
    pub fn groups_action(&self) -> Option<Action> {
        let groups = self.groups.as_ref()?;
        Some(Action::Groups(groups.list().cloned().collect()))
    }

    /// Carries out one group action of the window and reports what came of it: the groups as
    /// they now stand, the change in words or the post as on its way, or why nothing happened.
    /// Then the members with frames waiting are named, for the window to reach them.
    pub(super) async fn group(&mut self, effect: GroupEffect) {
        let post = match &effect {
            GroupEffect::Post { id, .. } => Some(*id),
            _ => None,
        };
        let Some(groups) = self.groups.as_mut() else {
            self.report(Action::GroupFailed {
                group: None,
                post,
                error: "groups need a directory account — `p2p-chat register` makes one".to_owned(),
            });
            return;
        };
        let now = crate::clock::now_ms();
        let (group, done) = match effect {
            GroupEffect::Create { name, members } => {
                let created = groups.create(&name, members, now).await;
                let news = created.map(|group| vec![Action::GroupCreated { group, name }]);
                (None, news)
            }
            GroupEffect::Post {
                group,
                id,
                text,
                reply_to,
            } => {
                let posted = groups.post_as(group, id, &text, reply_to, now).await;
                let mut actions = vec![Action::GroupPosted { group, id }];
                actions.extend(crate::delivery::group_receipts(&self.store, [id]).await);
                (Some(group), posted.map(|_| actions))
            }
            GroupEffect::Change { group, op } => {
                let changed = groups.change(group, op, now).await;
                let name = groups.group(group).map(|g| g.name.clone());
                let news = changed.map(|done| {
                    vec![Action::GroupNews(GroupNews::Changed {
                        group,
                        name: name.unwrap_or_default(),
                        words: done.words,
                        seq: done.seq,
                    })]
                });
                (Some(group), news)
            }
        };
        match done {
            Ok(actions) => {
                self.reports.extend(self.groups_action());
                self.reports.extend(actions);
                self.group_work_done(true, false, &[]).await;
            }
            Err(error) => self.report(Action::GroupFailed {
                group,
                post,
                error: failure(&error),
            }),
        }
    }

    /// A group frame that came by mail, from `peer` with `key`: judged by the engine as one
    /// from a session would be. Taken (or refused for good), the mail goes and a sealed
    /// receipt goes back; held, it stays in the mailbox for a later fetch.
    pub(super) async fn mailed_group_frame(
        &mut self,
        mail: p2p_chat_protocol::api::MailId,
        peer: String,
        key: crate::net::PeerKey,
        frame: p2p_chat_protocol::PeerMessage,
    ) {
        let Some(groups) = self.groups.as_mut() else {
            // Without the engine it waits, unread, for a run that has one.
            return;
        };
        let taken = match take_group_mail(groups, mail, peer, key, frame).await {
            Ok(taken) => taken,
            Err(e) => return self.report(Action::StoreFailed(e.to_string())),
        };
        self.group_work_done(taken.queued, false, &taken.news).await;
        self.reports
            .extend(taken.news.into_iter().map(Action::GroupNews));
        if let Some(answer) = taken.answer {
            self.mail(answer);
        }
    }

    /// What follows group work: the pumps are woken when frames were `queued`; the members
    /// that frames wait for are named again when that list may have changed (frames queued,
    /// or receipts for frames `delivered`); the groups are reported again when `news` holds
    /// a change.
    pub(super) async fn group_work_done(
        &mut self,
        queued: bool,
        delivered: bool,
        news: &[GroupNews],
    ) {
        if queued {
            self.pumps.values().for_each(Pump::wake);
        }
        if queued || delivered {
            self.report_members_waiting().await;
        }
        if news.iter().any(|n| matches!(n, GroupNews::Changed { .. })) {
            self.reports.extend(self.groups_action());
        }
    }

    /// A session with `peer`, whose release cannot take part in groups, opened: if group
    /// messages wait for it, the window says why they keep waiting.
    pub(super) async fn older_release(&mut self, peer: &str) {
        let waiting = self.store.group_members_waiting().await;
        if waiting.is_ok_and(|members| members.iter().any(|m| m == peer)) {
            self.report(Action::GroupFailed {
                group: None,
                post: None,
                error: format!(
                    "{peer}'s p2p-chat is an older release that cannot take part in groups: \
                     group messages for {peer} wait until {peer} updates"
                ),
            });
        }
    }

    /// Names the members that group frames wait for, so the window reaches those it has no
    /// session with (their pumps send the frames once a session is up).
    pub async fn report_members_waiting(&mut self) {
        match self.store.group_members_waiting().await {
            Ok(members) => self.report(Action::GroupMembersWaiting(members)),
            Err(e) => self.report(Action::StoreFailed(e.to_string())),
        }
    }
}

/// A refused or failed group action, for the group's chat.
fn failure(error: &GroupsError) -> String {
    match error {
        GroupsError::Store(e) => format!("{e} — nothing was changed or sent"),
        other => other.to_string(),
    }
}
