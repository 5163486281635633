//! Groups for every mode (the chat window, `send --group`, `listen`): one engine that keeps
//! each group's log, turns the user's actions into changes and posts queued for each member,
//! and judges what members send. The rules themselves (order, who may, who hears, who is
//! believed) are `p2p_chat_protocol::group::rules`; this adds the store and the words.
//!
//! Every step is written to the store in one transaction before anything is sent or
//! acknowledged, so a crash loses nothing and a resend is recognised.

use std::collections::BTreeMap;

use p2p_chat_protocol::group::rules::{self, Log, recipients};
use p2p_chat_protocol::group::{Change, GroupId, GroupOp, Member};
use p2p_chat_protocol::peer::MAX_TEXT_BYTES;
use p2p_chat_protocol::{MessageId, PeerMessage};

use crate::store::{Committed, GroupPostRow, GroupRecord, GroupStep, LocalStore, StoreError};

mod news;
mod receive;
mod words;

pub use news::{Done, GroupNews, GroupsError, Received};
pub use words::describe;

/// Frames to queue: `(member, frame id, frame)`.
type Frames = Vec<(String, MessageId, PeerMessage)>;

struct Entry {
    log: Log,
    record: GroupRecord,
}

/// The groups of one profile.
pub struct Groups {
    store: LocalStore,
    me: Member,
    entries: BTreeMap<GroupId, Entry>,
    /// Frames queued so far by this engine (see [`Groups::queued`]).
    queued: u64,
}

impl Groups {
    /// Reads every group of the profile from `store`; `me` is our username and key.
    ///
    /// # Errors
    /// When the store fails or holds a log the rules refuse.
    pub async fn load(store: LocalStore, me: Member) -> Result<Self, GroupsError> {
        let mut entries = BTreeMap::new();
        for record in store.groups().await? {
            let log = Log::new(record.id, store.group_changes(record.id).await?)?;
            entries.insert(record.id, Entry { log, record });
        }
        Ok(Self {
            store,
            me,
            entries,
            queued: 0,
        })
    }

    /// How many frames this engine has queued for members since it was loaded: when the
    /// count moves, the owner wakes its pumps.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// The groups of the profile with `account` (groups need a directory username), as
    /// `identity`; `None` without an account, or when the store cannot read them (logged:
    /// their frames then wait, unacknowledged, for a run that can).
    pub async fn of_profile(
        store: &LocalStore,
        account: Option<&crate::presence::Account>,
        identity: &crate::identity::Identity,
    ) -> Option<Self> {
        let me = Member {
            username: account?.username.clone(),
            key: *identity.public(),
        };
        match Self::load(store.clone(), me).await {
            Ok(groups) => Some(groups),
            Err(error) => {
                tracing::warn!(%error, "cannot read the groups; their messages wait");
                None
            }
        }
    }

    /// The groups we are a member of, with the group as its log makes it.
    pub fn list(&self) -> impl Iterator<Item = &rules::Group> {
        self.entries
            .values()
            .filter(|e| e.record.member)
            .map(|e| e.log.group())
    }

    /// The group called `name` (or with this id) among those we are a member of.
    ///
    /// # Errors
    /// [`GroupsError::Unknown`] when there is none; [`GroupsError::Ambiguous`] when several
    /// have this name.
    pub fn find(&self, name: &str) -> Result<GroupId, GroupsError> {
        if let Some(group) = self.list().find(|g| g.id.to_string() == name) {
            return Ok(group.id);
        }
        let named: Vec<GroupId> = self
            .list()
            .filter(|g| g.name == name)
            .map(|g| g.id)
            .collect();
        match named.as_slice() {
            [] => Err(GroupsError::Unknown(name.to_owned())),
            [one] => Ok(*one),
            many => Err(GroupsError::Ambiguous {
                name: name.to_owned(),
                ids: many.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Refuses `name` for a group of ours (other than `except`) when one is called so already.
    fn name_free(&self, name: &str, except: Option<GroupId>) -> Result<(), GroupsError> {
        if self.list().any(|g| g.name == name && Some(g.id) != except) {
            return Err(GroupsError::NameTaken(name.to_owned()));
        }
        Ok(())
    }

    /// Group `id` as its log makes it.
    pub fn group(&self, id: GroupId) -> Option<&rules::Group> {
        self.entries.get(&id).map(|e| e.log.group())
    }

    /// Creates group `name` with `others` (besides us) at `now_ms`: each of them is sent the
    /// log.
    ///
    /// # Errors
    /// [`GroupsError::NameTaken`] when one of our groups has this name already;
    /// [`GroupsError::Rules`] for a bad name, a member named twice or too many members;
    /// [`GroupsError::Store`].
    pub async fn create(
        &mut self,
        name: &str,
        others: Vec<Member>,
        now_ms: u64,
    ) -> Result<GroupId, GroupsError> {
        self.name_free(name, None)?;
        let id = GroupId::new();
        let first = rules::create(&self.me, name, others, now_ms)?;
        let log = Log::new(id, vec![first.clone()])?;
        let record = GroupRecord {
            id,
            name: name.to_owned(),
            added_by: None,
            member: true,
        };
        let frame_id = MessageId::new();
        let invite = PeerMessage::GroupInvite {
            group: id,
            id: frame_id,
            changes: log.changes().to_vec(),
        };
        let frames = log
            .group()
            .members
            .keys()
            .filter(|m| **m != self.me.username)
            .map(|m| (m.clone(), frame_id, invite.clone()))
            .collect();
        let others: Vec<&str> = log
            .group()
            .members
            .keys()
            .map(String::as_str)
            .filter(|m| *m != self.me.username)
            .collect();
        let words = format!("you created {name} with {}", others.join(", "));
        let step = GroupStep {
            group: record.clone(),
            changes: vec![first],
            frames,
            post: None,
            notice: Some((now_ms, words)),
        };
        self.store.commit_group(&step).await?;
        self.queued += step.frames.len() as u64;
        self.entries.insert(id, Entry { log, record });
        Ok(id)
    }

    /// Makes change `op` to group `id` at `now_ms`: applied here, sent to everyone who is a
    /// member before or after it (a new member gets the whole log instead). Returns the
    /// change in words, also kept as a notice in the group's history.
    ///
    /// # Errors
    /// [`GroupsError::Unknown`]; [`GroupsError::NameTaken`] for a rename to the name of
    /// another group of ours; [`GroupsError::Rules`] when the rules refuse it (the text says
    /// why); [`GroupsError::Store`].
    pub async fn change(
        &mut self,
        id: GroupId,
        op: GroupOp,
        now_ms: u64,
    ) -> Result<Done, GroupsError> {
        let me = self.me.username.clone();
        if let GroupOp::Rename { name } = &op {
            self.name_free(name, Some(id))?;
        }
        let entry = self.member_entry(id)?;
        let change = entry.log.propose(&me, op, now_ms)?;
        let mut log = entry.log.clone();
        let before = log.apply(change.clone())?;
        let added = match &change.op {
            GroupOp::Add { member } => Some(member.username.clone()),
            _ => None,
        };
        let frame_id = MessageId::new();
        let frames = recipients(&before, log.group(), &me)
            .into_iter()
            .map(|to| {
                let frame = if Some(&to) == added.as_ref() {
                    PeerMessage::GroupInvite {
                        group: id,
                        id: frame_id,
                        changes: log.changes().to_vec(),
                    }
                } else {
                    PeerMessage::GroupChange {
                        group: id,
                        id: frame_id,
                        change: change.clone(),
                    }
                };
                (to, frame_id, frame)
            })
            .collect();
        let words = describe(&change, &before, &me);
        let added_by = self.added_by(id);
        let notice = Some(words.clone());
        let committed = self
            .commit(id, log, added_by, (vec![change], frames, None, notice))
            .await?;
        Ok(Done {
            words,
            seq: committed.notice,
        })
    }

    /// Posts `text` (answering `reply_to`) to group `id` at `now_ms`: stored, and queued for
    /// every other member. Returns its id and those members.
    ///
    /// # Errors
    /// [`GroupsError::Unknown`]; [`GroupsError::Text`] for an empty text or one over
    /// [`MAX_TEXT_BYTES`]; [`GroupsError::Store`].
    pub async fn post(
        &mut self,
        id: GroupId,
        text: &str,
        reply_to: Option<MessageId>,
        now_ms: u64,
    ) -> Result<(MessageId, Vec<String>), GroupsError> {
        self.post_as(id, MessageId::new(), text, reply_to, now_ms)
            .await
    }

    /// [`Groups::post`] under the post id `post_id` chosen by the caller (the chat window
    /// shows the post before it is stored).
    ///
    /// # Errors
    /// As [`Groups::post`].
    pub async fn post_as(
        &mut self,
        id: GroupId,
        post_id: MessageId,
        text: &str,
        reply_to: Option<MessageId>,
        now_ms: u64,
    ) -> Result<(MessageId, Vec<String>), GroupsError> {
        if text.trim().is_empty() {
            return Err(GroupsError::Text("nothing to send".into()));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(GroupsError::Text(format!(
                "the message is {} bytes; the limit is {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        let me = self.me.username.clone();
        let entry = self.member_entry(id)?;
        let frame = PeerMessage::GroupPost {
            group: id,
            id: post_id,
            sent_at_ms: now_ms,
            text: text.to_owned(),
            reply_to,
            seen: entry.log.seen().clone(),
        };
        let to: Vec<String> = entry
            .log
            .group()
            .members
            .keys()
            .filter(|m| **m != me)
            .cloned()
            .collect();
        let frames = to
            .iter()
            .map(|m| (m.clone(), post_id, frame.clone()))
            .collect();
        let row = GroupPostRow {
            id: post_id,
            sender: None,
            sent_at_ms: now_ms,
            text: text.to_owned(),
            reply_to,
        };
        let log = entry.log.clone();
        let added_by = self.added_by(id);
        self.commit(id, log, added_by, (Vec::new(), frames, Some(row), None))
            .await?;
        Ok((post_id, to))
    }

    /// Group `id`'s entry, if we are a member.
    fn member_entry(&self, id: GroupId) -> Result<&Entry, GroupsError> {
        self.entries
            .get(&id)
            .filter(|e| e.record.member)
            .ok_or_else(|| GroupsError::Unknown(id.to_string()))
    }

    /// Writes a step of group `id` whose log is now `log` (we were added by `added_by`), then
    /// keeps the log: nothing changes here when the store fails.
    async fn commit(
        &mut self,
        id: GroupId,
        log: Log,
        added_by: Option<String>,
        (changes, frames, post, notice): (
            Vec<Change>,
            Frames,
            Option<GroupPostRow>,
            Option<String>,
        ),
    ) -> Result<Committed, StoreError> {
        let record = GroupRecord {
            id,
            name: log.group().name.clone(),
            added_by,
            member: log.group().has(&self.me.username),
        };
        let step = GroupStep {
            group: record.clone(),
            changes,
            frames,
            post,
            notice: notice.map(|text| (crate::clock::now_ms(), text)),
        };
        let committed = self.store.commit_group(&step).await?;
        self.queued += step.frames.len() as u64;
        self.entries.insert(id, Entry { log, record });
        Ok(committed)
    }

    /// Who added us to group `id`, as recorded.
    fn added_by(&self, id: GroupId) -> Option<String> {
        self.entries
            .get(&id)
            .and_then(|e| e.record.added_by.clone())
    }
}
