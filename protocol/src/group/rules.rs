//! The rules every member applies to a group's changes, so that all of them compute the same
//! group from the same changes.
//!
//! - **Order.** A member applies each author's changes in the author's numbering (1, 2, …),
//!   and computes the group by [`fold`]ing every change it holds in `(lamport, author, seq)`
//!   order. The result depends only on the set of changes held, never on their arrival order,
//!   so members holding the same changes agree.
//! - **Who may.** A change counts only if its author is a member at its place in that order:
//!   admins add, remove (never the creator) and rename; the creator makes admins; anyone
//!   leaves. A change that does not count is kept (a later arrival may move it, it still does
//!   not count) and changes nothing.
//! - **Who hears.** A change goes to everyone who is a member just before or just after it in
//!   its author's view (so a removed member hears of its removal); a post goes to the members
//!   in the sender's view, so a removed member receives nothing sent after its removal and a
//!   new member nothing sent before. A new member gets the whole log from whoever added it
//!   ([`Log::forwards`] lists what is sent to it later on: changes the addition did not see).
//! - **Who is believed.** A change comes from its author's own session or sealed mail, or —
//!   for a new member only — from whoever added it; a post from a member whose key matches
//!   ([`Log::check_post`]).

use std::collections::BTreeMap;

use super::{Change, GroupId, GroupOp, MAX_GROUP_CHANGES, MAX_GROUP_MEMBERS, Member, Seen};

mod log;

pub use log::{Log, MAX_LAMPORT};

/// A member's place in the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The identity key the member's sessions must prove.
    pub key: [u8; 32],
    /// Whether it may add, remove and rename.
    pub admin: bool,
}

/// A group as its changes make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Its current name.
    pub name: String,
    /// Who created it (an admin for as long as it is a member; the only one who makes admins).
    pub creator: String,
    /// The members, by username.
    pub members: BTreeMap<String, Standing>,
}

impl Group {
    /// Whether `username` is a member.
    pub fn has(&self, username: &str) -> bool {
        self.members.contains_key(username)
    }
}

/// Why a log or a change cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// The log does not begin with its creator's `Create`, or numbers an author's changes
    /// with gaps, or names an invalid group.
    Malformed(String),
    /// The log would hold more than [`MAX_GROUP_CHANGES`] changes.
    Full,
    /// We may not make this change (not an admin, no such member, …): the text says why.
    NotAllowed(String),
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed group log: {why}"),
            Self::Full => write!(
                f,
                "the group has had {MAX_GROUP_CHANGES} changes, the most one group holds; \
                 create a new group"
            ),
            Self::NotAllowed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for GroupError {}

/// Where an arriving change stands against the changes held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Its author's next change: apply it.
    Next,
    /// Held already.
    Duplicate,
    /// An earlier change of its author is missing: keep it unacknowledged (it is sent again).
    Early,
}

/// What to do with a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostCheck {
    /// From a member with its key: show it.
    Accept,
    /// From someone not (yet) a member, who has seen changes we lack (the one adding them,
    /// perhaps): keep it unacknowledged until they arrive.
    Wait,
    /// From a non-member, or with another key than the member's: refuse it.
    Refuse(String),
}

fn order_key(c: &Change) -> (u64, &str, u32) {
    (c.lamport, c.author.as_str(), c.seq)
}

/// Whether `author` may make `op` in `group`; the reason when not.
///
/// # Errors
/// The reason, in words for the user.
pub fn permitted(group: &Group, author: &str, op: &GroupOp) -> Result<(), String> {
    let Some(standing) = group.members.get(author) else {
        return Err(format!("{author} is not a member of {}", group.name));
    };
    let admin = || {
        if standing.admin {
            Ok(())
        } else {
            Err(format!(
                "only an admin of {} may do that (ask {})",
                group.name, group.creator
            ))
        }
    };
    match op {
        GroupOp::Create { .. } => Err("the group exists already".into()),
        GroupOp::Add { member } => {
            admin()?;
            if group.has(&member.username) {
                Err(format!("{} is a member already", member.username))
            } else if group.members.len() >= MAX_GROUP_MEMBERS {
                Err(format!(
                    "{} has {MAX_GROUP_MEMBERS} members, the most a group has",
                    group.name
                ))
            } else {
                Ok(())
            }
        }
        GroupOp::Remove { username } => {
            admin()?;
            if !group.has(username) {
                Err(format!("{username} is not a member of {}", group.name))
            } else if *username == group.creator {
                Err(format!(
                    "{username} created {} and cannot be removed",
                    group.name
                ))
            } else {
                Ok(())
            }
        }
        GroupOp::Leave => Ok(()),
        GroupOp::Rename { name } => {
            admin()?;
            super::name_problem(name).map_or(Ok(()), Err)
        }
        GroupOp::MakeAdmin { username } => {
            if author != group.creator {
                Err(format!("only {} may make admins", group.creator))
            } else if !group.has(username) {
                Err(format!("{username} is not a member of {}", group.name))
            } else if group.members.get(username).is_some_and(|s| s.admin) {
                Err(format!("{username} is an admin of {} already", group.name))
            } else {
                Ok(())
            }
        }
    }
}

/// Applies `change` to `group` if it counts ([`permitted`]); otherwise changes nothing.
fn apply(group: &mut Group, change: &Change) {
    if permitted(group, &change.author, &change.op).is_err() {
        return;
    }
    match &change.op {
        GroupOp::Create { .. } => {}
        GroupOp::Add { member } => {
            let standing = Standing {
                key: member.key,
                admin: false,
            };
            group.members.insert(member.username.clone(), standing);
        }
        GroupOp::Remove { username } => {
            group.members.remove(username);
        }
        GroupOp::Leave => {
            group.members.remove(&change.author);
        }
        GroupOp::Rename { name } => group.name.clone_from(name),
        GroupOp::MakeAdmin { username } => {
            if let Some(standing) = group.members.get_mut(username) {
                standing.admin = true;
            }
        }
    }
}

/// The group `changes` make, taken in `(lamport, author, seq)` order whatever order they are
/// given in: the first must be its author's change 1, a `Create` naming the author among the
/// members. `None` when there is no such first change.
///
/// A removal wins over the removed member's changes made without knowledge of it: a change
/// whose author was removed by an *effective* removal concurrent with it (neither had seen the
/// other, by their [`Seen`]) counts for nothing. A removal is effective when it was allowed as
/// its author made it (in the group the changes its author had seen make) and its author was
/// not itself removed, concurrently,
/// by an effective removal of a higher-ranked admin: the creator first, then the admins in the
/// order the creator made them. So a removed member cannot place a change before its removal
/// with a low clock (adding someone, or removing the admin who removed it), and of two admins
/// who remove each other at the same time the higher-ranked one stays.
pub fn fold(id: GroupId, changes: &[Change]) -> Option<Group> {
    let all: Vec<&Change> = changes.iter().collect();
    let removed_by = |r: &Change| match &r.op {
        GroupOp::Remove { username } if *username != r.author => Some(username.clone()),
        _ => None,
    };
    let rank = admin_ranks(&all);
    let rank_of = |name: &str| rank.iter().position(|a| a == name).unwrap_or(usize::MAX);
    let mut candidates: Vec<&Change> = all
        .iter()
        .copied()
        .filter(|r| removed_by(r).is_some() && allowed_as_made(id, &all, r))
        .collect();
    candidates.sort_by(|a, b| {
        (rank_of(&a.author), order_key(a)).cmp(&(rank_of(&b.author), order_key(b)))
    });
    // Whether one of `effective` removes `change`'s author concurrently with `change`.
    let overruled = |effective: &[&Change], change: &Change| {
        effective.iter().any(|r| {
            removed_by(r).as_deref() == Some(change.author.as_str())
                && !has_seen(change, r)
                && !has_seen(r, change)
        })
    };
    let mut effective: Vec<&Change> = Vec::new();
    for r in candidates {
        if !overruled(&effective, r) {
            effective.push(r);
        }
    }
    let kept = all
        .into_iter()
        .filter(|c| !overruled(&effective, c))
        .collect();
    fold_in_order(id, kept)
}

/// The admins' ranks for [`fold`]: the creator (the author of the `Create`), then each member
/// the creator made an admin, in the order of the creator's changes.
fn admin_ranks(all: &[&Change]) -> Vec<String> {
    let Some(create) = all
        .iter()
        .find(|c| c.seq == 1 && matches!(c.op, GroupOp::Create { .. }))
    else {
        return Vec::new();
    };
    let mut made: Vec<&Change> = all
        .iter()
        .copied()
        .filter(|c| c.author == create.author && matches!(c.op, GroupOp::MakeAdmin { .. }))
        .collect();
    made.sort_by_key(|c| c.seq);
    let mut ranks = vec![create.author.clone()];
    for change in made {
        if let GroupOp::MakeAdmin { username } = &change.op
            && !ranks.contains(username)
        {
            ranks.push(username.clone());
        }
    }
    ranks
}

/// Whether `later` was made by an author that had applied `earlier`.
fn has_seen(later: &Change, earlier: &Change) -> bool {
    later.seen.of(&earlier.author) >= earlier.seq
}

/// Whether removal `r` was allowed when its author made it: in the group that the changes its
/// author had seen make (folded in order, without the removal rule of [`fold`]), its author
/// was a member allowed to make it ([`permitted`]).
fn allowed_as_made(id: GroupId, all: &[&Change], r: &Change) -> bool {
    let seen: Vec<&Change> = all.iter().copied().filter(|c| has_seen(r, c)).collect();
    fold_in_order(id, seen)
        .is_some_and(|view| view.has(&r.author) && permitted(&view, &r.author, &r.op).is_ok())
}

/// [`fold`] without its removal rule: every change taken in `(lamport, author, seq)` order.
fn fold_in_order(id: GroupId, mut sorted: Vec<&Change>) -> Option<Group> {
    sorted.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    // The group begins with its one Create; a change placed before it (a forged clock) counts
    // for nothing.
    let start = sorted
        .iter()
        .position(|c| c.seq == 1 && matches!(c.op, GroupOp::Create { .. }))?;
    let (first, rest) = (sorted[start], &sorted[start + 1..]);
    let GroupOp::Create { name, members } = &first.op else {
        return None;
    };
    if !members.iter().any(|m| m.username == first.author) {
        return None;
    }
    let mut group = Group {
        id,
        name: name.clone(),
        creator: first.author.clone(),
        members: BTreeMap::new(),
    };
    for member in members.iter().take(MAX_GROUP_MEMBERS) {
        let standing = Standing {
            key: member.key,
            admin: member.username == first.author,
        };
        group
            .members
            .entry(member.username.clone())
            .or_insert(standing);
    }
    for change in rest {
        apply(&mut group, change);
    }
    Some(group)
}

/// Who hears of a change: everyone who is a member in `before` or `after` (the group just
/// before and after it, in the sender's view) except `sender`, sorted.
pub fn recipients(before: &Group, after: &Group, sender: &str) -> Vec<String> {
    let mut names: Vec<String> = before
        .members
        .keys()
        .chain(after.members.keys())
        .filter(|name| *name != sender)
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The first change of a new group `name` created by `creator` with `others`, made at
/// `at_ms`.
///
/// # Errors
/// [`GroupError::NotAllowed`] for a bad name, a member named twice or the creator among
/// `others`, or more than [`MAX_GROUP_MEMBERS`] members.
pub fn create(
    creator: &Member,
    name: &str,
    others: Vec<Member>,
    at_ms: u64,
) -> Result<Change, GroupError> {
    if let Some(why) = super::name_problem(name) {
        return Err(GroupError::NotAllowed(why));
    }
    let mut members = vec![creator.clone()];
    for member in others {
        if members.iter().any(|m| m.username == member.username) {
            return Err(GroupError::NotAllowed(format!(
                "{} is named twice",
                member.username
            )));
        }
        members.push(member);
    }
    if members.len() > MAX_GROUP_MEMBERS {
        return Err(GroupError::NotAllowed(format!(
            "a group has at most {MAX_GROUP_MEMBERS} members"
        )));
    }
    Ok(Change {
        author: creator.username.clone(),
        seq: 1,
        lamport: 1,
        seen: Seen::default(),
        at_ms,
        op: GroupOp::Create {
            name: name.to_owned(),
            members,
        },
    })
}
