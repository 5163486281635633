//! A member's copy of a group's log ([`Log`]): taking in changes in each author's order,
//! checking what arrives (clocks, names), proposing our own, and what to pass on to members
//! we added. The group it makes is [`super::fold`]'s.

use super::{Arrival, Group, GroupError, PostCheck, fold, order_key, permitted};
use std::collections::BTreeMap;

use crate::group::{Change, GroupId, GroupOp, MAX_GROUP_CHANGES, MAX_GROUP_MEMBERS, Seen};

/// Highest Lamport clock a change may carry: 2^53. Far above any real count of changes, and
/// low enough that one more never overflows.
pub const MAX_LAMPORT: u64 = 1 << 53;

/// What is wrong with `change` as the next one of `log`, beyond its numbering: a clock that
/// is not above every change it says it had seen, or [`shape_problem`].
fn change_problem(log: &Log, change: &Change) -> Option<String> {
    if let Some(why) = shape_problem(change) {
        return Some(why);
    }
    let floor = log
        .changes
        .iter()
        .filter(|c| change.seen.of(&c.author) >= c.seq)
        .map(|c| c.lamport)
        .max()
        .unwrap_or(0);
    if change.lamport <= floor {
        return Some(format!(
            "{}'s change has a clock ({}) not above the changes it had seen ({floor})",
            change.author, change.lamport
        ));
    }
    None
}

/// What is wrong with `change` by itself: a clock over [`MAX_LAMPORT`], or names in it that
/// are not valid usernames.
fn shape_problem(change: &Change) -> Option<String> {
    if change.lamport > MAX_LAMPORT {
        return Some(format!("{}'s change has an absurd clock", change.author));
    }
    let names: Vec<&str> = match &change.op {
        GroupOp::Create { members, .. } => members.iter().map(|m| m.username.as_str()).collect(),
        GroupOp::Add { member } => vec![member.username.as_str()],
        GroupOp::Remove { username } | GroupOp::MakeAdmin { username } => vec![username.as_str()],
        GroupOp::Leave | GroupOp::Rename { .. } => Vec::new(),
    };
    std::iter::once(change.author.as_str())
        .chain(names)
        .find(|name| crate::validate::username(name).ok().as_deref() != Some(*name))
        .map(|name| format!("{name:?} is not a username"))
}

/// A member's copy of a group's log, and the group it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    changes: Vec<Change>,
    seen: Seen,
    lamport: u64,
    group: Group,
}

impl Log {
    /// The log of group `id` from `changes` (a new member's copy, or one read back from the
    /// store), in any order.
    ///
    /// # Errors
    /// [`GroupError::Malformed`] when they do not begin with a `Create`, number an author's
    /// changes with gaps or twice, or name the group badly; [`GroupError::Full`] over
    /// [`MAX_GROUP_CHANGES`] and the room kept for leaving ([`Log::has_room`]).
    pub fn new(id: GroupId, mut changes: Vec<Change>) -> Result<Self, GroupError> {
        if changes.len() > MAX_GROUP_CHANGES + MAX_GROUP_MEMBERS {
            return Err(GroupError::Full);
        }
        changes.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
        let mut seen = Seen::default();
        let mut by_author: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for c in &changes {
            by_author.entry(&c.author).or_default().push(c.seq);
        }
        for (author, mut seqs) in by_author {
            seqs.sort_unstable();
            if seqs.iter().enumerate().any(|(i, s)| *s as usize != i + 1) {
                let why = format!("{author}'s changes are not numbered 1, 2, …");
                return Err(GroupError::Malformed(why));
            }
            seen.record(author, seqs.len() as u32);
        }
        if let Some(why) = changes.iter().find_map(|c| match &c.op {
            GroupOp::Create { name, .. } | GroupOp::Rename { name } => {
                crate::group::name_problem(name)
            }
            _ => shape_problem(c),
        }) {
            return Err(GroupError::Malformed(why));
        }
        let group = fold(id, &changes).ok_or_else(|| {
            GroupError::Malformed("it does not begin with its creator's Create".into())
        })?;
        let lamport = changes.iter().map(|c| c.lamport).max().unwrap_or(0);
        Ok(Self {
            changes,
            seen,
            lamport,
            group,
        })
    }

    /// The group as the changes held make it.
    pub fn group(&self) -> &Group {
        &self.group
    }

    /// The changes held, in `(lamport, author, seq)` order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// How far we got in each author's changes.
    pub fn seen(&self) -> &Seen {
        &self.seen
    }

    /// Where `change` stands against the changes held.
    pub fn arrival(&self, change: &Change) -> Arrival {
        let had = self.seen.of(&change.author);
        if change.seq <= had {
            Arrival::Duplicate
        } else if change.seq == had + 1 {
            Arrival::Next
        } else {
            Arrival::Early
        }
    }

    /// Takes in `change` (its author's next one, see [`Log::arrival`]) and computes the group
    /// again; returns the group as it was before.
    ///
    /// # Errors
    /// [`GroupError::Malformed`] when it is not its author's next change, is a `Create`, or
    /// names the group badly; [`GroupError::Full`] when the log is full.
    pub fn apply(&mut self, change: Change) -> Result<Group, GroupError> {
        if self.arrival(&change) != Arrival::Next {
            return Err(GroupError::Malformed(format!(
                "{}'s change {} is not its next one",
                change.author, change.seq
            )));
        }
        if let GroupOp::Create { .. } = change.op {
            return Err(GroupError::Malformed("a second Create".into()));
        }
        if let GroupOp::Rename { name } = &change.op
            && let Some(why) = crate::group::name_problem(name)
        {
            return Err(GroupError::Malformed(why));
        }
        if let Some(why) = change_problem(self, &change) {
            return Err(GroupError::Malformed(why));
        }
        if !self.has_room(&change.author, &change.op) {
            return Err(GroupError::Full);
        }
        self.seen.record(&change.author, change.seq);
        self.lamport = self.lamport.max(change.lamport);
        let at = self
            .changes
            .partition_point(|c| order_key(c) < order_key(&change));
        self.changes.insert(at, change);
        let before = self.group.clone();
        if let Some(group) = fold(self.group.id, &self.changes) {
            self.group = group;
        }
        Ok(before)
    }

    /// Whether the log takes one more change `op` by `author`: up to [`MAX_GROUP_CHANGES`]
    /// changes, and beyond that a `Leave` by a member, up to [`MAX_GROUP_MEMBERS`] more, so a
    /// full log (even one filled with changes that do not count) never keeps anyone in.
    pub fn has_room(&self, author: &str, op: &GroupOp) -> bool {
        let len = self.changes.len();
        len < MAX_GROUP_CHANGES
            || (matches!(op, GroupOp::Leave)
                && self.group.has(author)
                && len < MAX_GROUP_CHANGES + MAX_GROUP_MEMBERS)
    }

    /// Our next change `op` as `me`, made at `at_ms`, checked against the group as we see it
    /// (not yet applied: [`Log::apply`] it, then send it to [`recipients`]).
    ///
    /// # Errors
    /// [`GroupError::NotAllowed`] when we may not make it; [`GroupError::Full`] when the log
    /// is full.
    pub fn propose(&self, me: &str, op: GroupOp, at_ms: u64) -> Result<Change, GroupError> {
        permitted(&self.group, me, &op).map_err(GroupError::NotAllowed)?;
        if !self.has_room(me, &op) {
            return Err(GroupError::Full);
        }
        Ok(Change {
            author: me.to_owned(),
            seq: self.seen.of(me) + 1,
            lamport: self.lamport.saturating_add(1).min(MAX_LAMPORT),
            seen: self.seen.clone(),
            at_ms,
            op,
        })
    }

    /// After applying `applied` (someone else's change), what `me` sends on to members it
    /// added, or to a member someone else added, besides what those got when added: `(to,
    /// change)` pairs.
    ///
    /// - `applied` adds a member: every change of ours that the addition had not seen goes to
    ///   the new member (the adder did not know it, so the log it sent lacks it).
    /// - `applied` is a change that an addition we made had not seen: it goes to the member we
    ///   added (it takes its adder's word, as for the log it got).
    pub fn forwards(&self, me: &str, applied: &Change) -> Vec<(String, Change)> {
        let mut out = Vec::new();
        if applied.author == me {
            return out;
        }
        // Only to members, and only for an addition that counted.
        let member_now = |name: &str| self.group.has(name);
        if let GroupOp::Add { member } = &applied.op
            && member_now(&member.username)
        {
            for ours in self.changes.iter().filter(|c| c.author == me) {
                if ours.seq > applied.seen.of(me) {
                    out.push((member.username.clone(), ours.clone()));
                }
            }
        }
        for add in self.changes.iter().filter(|c| c.author == me) {
            if let GroupOp::Add { member } = &add.op
                && member.username != applied.author
                && member_now(&member.username)
                && applied.seq > add.seen.of(&applied.author)
            {
                out.push((member.username.clone(), applied.clone()));
            }
        }
        out
    }

    /// Whether a post from `sender`, whose session proved `key`, having seen `seen`, is shown.
    pub fn check_post(&self, sender: &str, key: &[u8; 32], seen: &Seen) -> PostCheck {
        match self.group.members.get(sender) {
            Some(standing) if standing.key == *key => PostCheck::Accept,
            Some(_) => PostCheck::Refuse(format!(
                "{sender}'s key is not the one {} knows",
                self.group.name
            )),
            None if !self.seen.covers(seen) => PostCheck::Wait,
            None => PostCheck::Refuse(format!("{sender} is not a member of {}", self.group.name)),
        }
    }
}
