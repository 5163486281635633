//! The simulation behind the property tests: users acting on their own views of one group,
//! and the messages between them in flight.

use std::collections::BTreeMap;

use p2p_chat_protocol::group::rules::{Arrival, Log, create, recipients};
use p2p_chat_protocol::group::{Change, GroupId, GroupOp, Member};
use proptest::prelude::*;

pub const USERS: usize = 6;

pub fn name(n: usize) -> String {
    format!("user{n}")
}

pub fn member(n: usize) -> Member {
    Member {
        username: name(n),
        key: [n as u8 + 1; 32],
    }
}

/// What travels between two users.
#[derive(Clone, Debug)]
pub enum Msg {
    Change(Change),
    Invite(Vec<Change>),
}

/// One step of the simulation, drawn at random.
#[derive(Clone, Debug)]
pub enum Step {
    /// User `who` tries an operation on the group as it sees it; `pick` chooses the target.
    Act { who: usize, what: u8, pick: usize },
    /// The message at position `pick` (modulo the number in flight) arrives.
    Deliver { pick: usize },
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..USERS, 0u8..6, 0..USERS).prop_map(|(who, what, pick)| Step::Act { who, what, pick }),
        (0usize..64).prop_map(|pick| Step::Deliver { pick }),
        (0usize..64).prop_map(|pick| Step::Deliver { pick }),
    ]
}

pub struct World {
    pub id: GroupId,
    pub logs: Vec<Option<Log>>,
    /// (from, to, message), in the order sent.
    pub flight: Vec<(usize, usize, Msg)>,
    pub clock: u64,
}

impl World {
    pub fn new() -> Self {
        let id = GroupId(uuid::Uuid::from_u128(7));
        let first = create(&member(0), "friends", vec![member(1), member(2)], 1).unwrap();
        let mut world = Self {
            id,
            logs: vec![None; USERS],
            flight: Vec::new(),
            clock: 1,
        };
        world.logs[0] = Some(Log::new(id, vec![first.clone()]).unwrap());
        for to in [1, 2] {
            world.flight.push((0, to, Msg::Invite(vec![first.clone()])));
        }
        world
    }

    pub fn index(username: &str) -> usize {
        username[4..].parse().unwrap()
    }

    pub fn act(&mut self, who: usize, what: u8, pick: usize) {
        let Some(log) = &self.logs[who] else { return };
        let group = log.group();
        let others: Vec<usize> = (0..USERS).filter(|n| *n != who).collect();
        let target = others[pick % others.len()];
        self.clock += 1;
        let op = match what {
            0 | 1 => GroupOp::Add {
                member: member(target),
            },
            2 => GroupOp::Remove {
                username: name(target),
            },
            3 => GroupOp::Rename {
                name: format!("name {}", self.clock),
            },
            4 => GroupOp::MakeAdmin {
                username: name(target),
            },
            _ if group.members.len() > 2 => GroupOp::Leave,
            _ => return,
        };
        let Ok(change) = log.propose(&name(who), op, self.clock) else {
            return;
        };
        let log = self.logs[who].as_mut().unwrap();
        let before = log.apply(change.clone()).unwrap();
        let after = log.group().clone();
        let invited = match &change.op {
            GroupOp::Add { member } => Some(Self::index(&member.username)),
            _ => None,
        };
        for to in recipients(&before, &after, &name(who)) {
            let to = Self::index(&to);
            let msg = if Some(to) == invited {
                Msg::Invite(log.changes().to_vec())
            } else {
                Msg::Change(change.clone())
            };
            self.flight.push((who, to, msg));
        }
    }

    /// Delivers the `pick`th message that can arrive now (each sender's messages to one
    /// receiver in the order sent); false when none can.
    pub fn deliver(&mut self, pick: usize) -> bool {
        let ready: Vec<usize> = (0..self.flight.len())
            .filter(|&i| {
                let (from, to, _) = &self.flight[i];
                // An earlier message on the same pair goes first.
                !self.flight[..i]
                    .iter()
                    .any(|(f, t, _)| f == from && t == to)
                    && self.can_take(i)
            })
            .collect();
        if ready.is_empty() {
            return false;
        }
        let (from, to, msg) = self.flight.remove(ready[pick % ready.len()]);
        let _ = from;
        match msg {
            Msg::Invite(changes) => match &mut self.logs[to] {
                None => self.logs[to] = Some(Log::new(self.id, changes).unwrap()),
                Some(_) => {
                    for change in changes {
                        self.take(to, change);
                    }
                }
            },
            Msg::Change(change) => self.take(to, change),
        }
        true
    }

    /// Whether message `i` can be taken now: a change waits for its author's earlier ones
    /// (and for the receiver to know the group), as an unacknowledged message is sent again.
    pub fn can_take(&self, i: usize) -> bool {
        let (_, to, msg) = &self.flight[i];
        match (msg, &self.logs[*to]) {
            (Msg::Invite(_), _) => true,
            (Msg::Change(_), None) => false,
            (Msg::Change(c), Some(log)) => log.arrival(c) != Arrival::Early,
        }
    }

    pub fn take(&mut self, to: usize, change: Change) {
        let log = self.logs[to].as_mut().unwrap();
        if log.arrival(&change) != Arrival::Next {
            return;
        }
        log.apply(change.clone()).unwrap();
        let forwards = log.forwards(&name(to), &change);
        for (whom, c) in forwards {
            let whom = Self::index(&whom);
            let msg = if self.logs[to].as_ref().unwrap().group().has(&name(whom)) {
                Msg::Change(c)
            } else {
                continue;
            };
            self.flight.push((to, whom, msg));
        }
    }

    /// Every change anyone holds.
    pub fn all_changes(&self) -> Vec<Change> {
        let mut all: BTreeMap<(String, u32), Change> = BTreeMap::new();
        for log in self.logs.iter().flatten() {
            for c in log.changes() {
                all.insert((c.author.clone(), c.seq), c.clone());
            }
        }
        all.into_values().collect()
    }
}
