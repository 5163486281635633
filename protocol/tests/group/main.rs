//! The group rules under random interleavings: members change the group concurrently on
//! their own views, changes and invitations arrive in any order (each author's in its order,
//! as the outbox delivers them), and once everything sent has arrived every member agrees on
//! the group that all the changes make.

mod sim;

use p2p_chat_protocol::group::rules::{Arrival, GroupError, Log, PostCheck, create, fold};
use p2p_chat_protocol::group::{Change, GroupId, GroupOp, Member, Seen};
use proptest::prelude::*;
use sim::{Step, World, member, name, step};

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn members_agree_once_everything_sent_has_arrived(
        steps in prop::collection::vec(step(), 1..80)
    ) {
        let mut world = World::new();
        for step in steps {
            match step {
                Step::Act { who, what, pick } => world.act(who, what, pick),
                Step::Deliver { pick } => {
                    world.deliver(pick);
                }
            }
        }
        while world.deliver(0) {}
        let truth = fold(world.id, &world.all_changes()).unwrap();
        for username in truth.members.keys() {
            let n = World::index(username);
            let log = world.logs[n].as_ref();
            prop_assert!(log.is_some(), "{username} never got the group");
            prop_assert_eq!(log.unwrap().group(), &truth, "{} disagrees", username);
        }
    }

    #[test]
    fn the_group_depends_only_on_the_changes_held_not_on_their_arrival(
        steps in prop::collection::vec(step(), 1..60),
        seed in any::<u64>(),
    ) {
        let mut world = World::new();
        for step in steps {
            match step {
                Step::Act { who, what, pick } => world.act(who, what, pick),
                Step::Deliver { pick } => {
                    world.deliver(pick);
                }
            }
        }
        let all = world.all_changes();
        // The same changes, taken in a shuffled order that keeps each author's own order.
        let mut shuffled = all.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let creator = shuffled.iter().position(|c| c.seq == 1 && matches!(c.op, GroupOp::Create { .. })).unwrap();
        let first = shuffled.remove(creator);
        let mut log = Log::new(world.id, vec![first]).unwrap();
        while !shuffled.is_empty() {
            let next = shuffled.iter().position(|c| log.arrival(c) == Arrival::Next).unwrap();
            log.apply(shuffled.remove(next)).unwrap();
        }
        let at_once = Log::new(world.id, all).unwrap();
        prop_assert_eq!(log.group(), at_once.group());
    }
}

#[test]
fn who_may_do_what() {
    let id = GroupId(uuid::Uuid::from_u128(1));
    let first = create(&member(0), "team", vec![member(1), member(2)], 1).unwrap();
    let mut log = Log::new(id, vec![first]).unwrap();
    // A member who is no admin may not add, remove or rename, nor make admins.
    for op in [
        GroupOp::Add { member: member(3) },
        GroupOp::Remove { username: name(2) },
        GroupOp::Rename { name: "x".into() },
        GroupOp::MakeAdmin { username: name(2) },
    ] {
        assert!(log.propose(&name(1), op, 2).is_err());
    }
    // The creator makes u1 an admin; u1 may then add, but not remove the creator.
    let promote = log
        .propose(&name(0), GroupOp::MakeAdmin { username: name(1) }, 2)
        .unwrap();
    log.apply(promote).unwrap();
    // Once is enough: an admin is not made an admin again.
    assert!(
        log.propose(&name(0), GroupOp::MakeAdmin { username: name(1) }, 2)
            .is_err()
    );
    let add = log
        .propose(&name(1), GroupOp::Add { member: member(3) }, 3)
        .unwrap();
    log.apply(add).unwrap();
    assert!(log.group().has("user3"));
    let err = log
        .propose(&name(1), GroupOp::Remove { username: name(0) }, 4)
        .unwrap_err();
    assert!(err.to_string().contains("cannot be removed"), "{err}");
    // Only the creator makes admins.
    assert!(
        log.propose(&name(1), GroupOp::MakeAdmin { username: name(3) }, 4)
            .is_err()
    );
    // A change of an author's that skips a number waits; a repeated one is a duplicate.
    let mut early = log.propose(&name(2), GroupOp::Leave, 5).unwrap();
    early.seq += 1;
    assert_eq!(log.arrival(&early), Arrival::Early);
    assert!(log.apply(early).is_err());
    let first_again = log.changes()[0].clone();
    assert_eq!(log.arrival(&first_again), Arrival::Duplicate);
}

#[test]
fn posts_are_taken_from_members_with_their_key_only() {
    let id = GroupId(uuid::Uuid::from_u128(2));
    let first = create(&member(0), "team", vec![member(1)], 1).unwrap();
    let mut log = Log::new(id, vec![first]).unwrap();
    assert_eq!(
        log.check_post("user1", &member(1).key, &Seen::default()),
        PostCheck::Accept
    );
    assert!(matches!(
        log.check_post("user1", &[9; 32], &Seen::default()),
        PostCheck::Refuse(_)
    ));
    assert!(matches!(
        log.check_post("user5", &member(5).key, &Seen::default()),
        PostCheck::Refuse(_)
    ));
    // u5 was added by a change we do not have yet: its post waits for it.
    let mut ahead = log.seen().clone();
    ahead.record("user0", 2);
    assert_eq!(
        log.check_post("user5", &member(5).key, &ahead),
        PostCheck::Wait
    );
    let add = log
        .propose("user0", GroupOp::Add { member: member(5) }, 2)
        .unwrap();
    log.apply(add).unwrap();
    assert_eq!(
        log.check_post("user5", &member(5).key, &ahead),
        PostCheck::Accept
    );
}

#[test]
fn bad_logs_are_refused() {
    let id = GroupId(uuid::Uuid::from_u128(3));
    assert!(Log::new(id, Vec::new()).is_err());
    let first = create(&member(0), "team", vec![member(1)], 1).unwrap();
    let log = Log::new(id, vec![first.clone()]).unwrap();
    let mut gap = log.propose("user0", GroupOp::Leave, 2).unwrap();
    gap.seq = 3;
    assert!(Log::new(id, vec![first.clone(), gap]).is_err());
    assert!(create(&member(0), "", vec![], 1).is_err());
    assert!(create(&member(0), "a\u{7}b", vec![], 1).is_err());
    assert!(create(&member(0), "team", vec![member(1), member(1)], 1).is_err());
    let too_many: Vec<Member> = (1..=50)
        .map(|n| Member {
            username: format!("m{n}"),
            key: [0; 32],
        })
        .collect();
    assert!(create(&member(0), "big", too_many, 1).is_err());
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_change_has_stable_bytes() {
    // Changes travel inside peer messages and sealed mail, and members keep them: their
    // postcard encoding is part of the protocol (append-only, like PeerMessage).
    let mut seen = Seen::default();
    seen.record("al", 2);
    let cases = [
        (
            GroupOp::Create {
                name: "t".into(),
                members: vec![Member {
                    username: "al".into(),
                    key: [1; 32],
                }],
            },
            "0001740102616c0101010101010101010101010101010101010101010101010101010101010101",
        ),
        (
            GroupOp::Add {
                member: Member {
                    username: "bo".into(),
                    key: [2; 32],
                },
            },
            "0102626f0202020202020202020202020202020202020202020202020202020202020202",
        ),
        (
            GroupOp::Remove {
                username: "bo".into(),
            },
            "0202626f",
        ),
        (GroupOp::Leave, "03"),
        (GroupOp::Rename { name: "u".into() }, "040175"),
        (
            GroupOp::MakeAdmin {
                username: "bo".into(),
            },
            "0502626f",
        ),
    ];
    for (op, op_hex) in cases {
        let change = Change {
            author: "al".into(),
            seq: 3,
            lamport: 300,
            seen: seen.clone(),
            at_ms: 5,
            op,
        };
        let bytes = postcard::to_stdvec(&change).unwrap();
        // author, seq, lamport (varint 300 = ac 02), seen [(al, 2)], at_ms, then the op.
        let expected = format!("02616c03ac020102616c0205{op_hex}");
        assert_eq!(hex(&bytes), expected, "{change:?}");
        assert_eq!(postcard::from_bytes::<Change>(&bytes).unwrap(), change);
    }
}

#[test]
fn a_change_with_a_forged_clock_is_refused_and_never_unseats_the_create() {
    let id = GroupId(uuid::Uuid::from_u128(4));
    let first = create(&member(0), "team", vec![member(1)], 1).unwrap();
    let mut log = Log::new(id, vec![first.clone()]).unwrap();
    // user1 claims to have seen the Create yet puts its change before it.
    let mut early = log.propose(&name(1), GroupOp::Leave, 2).unwrap();
    early.lamport = 0;
    assert!(log.apply(early.clone()).is_err());
    early.lamport = u64::MAX;
    assert!(log.apply(early.clone()).is_err(), "an absurd clock");
    // A log handed over with a change before its Create still starts at the Create.
    let mut before = early;
    before.lamport = 0;
    before.seen = Seen::default();
    let log = Log::new(id, vec![first, before]).unwrap();
    assert!(log.group().has(&name(1)), "the early leave does not count");
    // Names in a change must be usernames.
    let mut bad = log
        .propose(&name(0), GroupOp::Add { member: member(2) }, 3)
        .unwrap();
    bad.op = GroupOp::Add {
        member: Member {
            username: "\u{1b}[2Jevil".into(),
            key: [0; 32],
        },
    };
    let mut log = log;
    assert!(log.apply(bad).is_err());
}

/// user0 creates a group with user1, user2 and user3, then makes user2 and then user1
/// admins: user2 ranks above user1 (whose name sorts first at equal clocks).
fn ranked_group(id: GroupId) -> Log {
    let first = create(&member(0), "team", vec![member(1), member(2), member(3)], 1).unwrap();
    let mut log = Log::new(id, vec![first]).unwrap();
    for n in [2, 1] {
        let change = log
            .propose(&name(0), GroupOp::MakeAdmin { username: name(n) }, 2)
            .unwrap();
        log.apply(change).unwrap();
    }
    log
}

/// `log`'s changes in reverse order: the group must not depend on the order held.
fn folded_backwards(log: &Log) -> p2p_chat_protocol::group::rules::Group {
    let mut changes = log.changes().to_vec();
    changes.reverse();
    fold(log.group().id, &changes).unwrap()
}

#[test]
fn a_removed_member_cannot_backdate_a_change_before_its_removal() {
    let id = GroupId(uuid::Uuid::from_u128(5));
    let mut log = ranked_group(id);
    let before = log.clone();
    // user2 removes user1.
    let removal = log
        .propose(&name(2), GroupOp::Remove { username: name(1) }, 3)
        .unwrap();
    log.apply(removal.clone()).unwrap();
    // user1, told of it, answers as if it had not seen it, with the same clock: by name its
    // change goes first. It adds a friend (an admin may add).
    let backdated = before
        .propose(&name(1), GroupOp::Add { member: member(4) }, 4)
        .unwrap();
    assert_eq!(
        backdated.lamport, removal.lamport,
        "placed before the removal"
    );
    log.apply(backdated).unwrap();
    let group = log.group();
    assert!(!group.has(&name(4)), "the backdated add counts for nothing");
    assert!(!group.has(&name(1)), "the removal stands");
    assert_eq!(&folded_backwards(&log), group);
    // A change user1 made before the removal, which user2 had seen, still counts.
    let mut log = ranked_group(id);
    let rename = log
        .propose(
            &name(1),
            GroupOp::Rename {
                name: "crew".into(),
            },
            3,
        )
        .unwrap();
    log.apply(rename).unwrap();
    let removal = log
        .propose(&name(2), GroupOp::Remove { username: name(1) }, 4)
        .unwrap();
    log.apply(removal).unwrap();
    assert_eq!(log.group().name, "crew");
    assert!(!log.group().has(&name(1)));
}

#[test]
fn of_two_admins_who_remove_each_other_at_once_the_higher_ranked_stays() {
    for later_clock in [false, true] {
        let id = GroupId(uuid::Uuid::from_u128(6));
        let base = ranked_group(id);
        // Each on its own view: user2 (higher) removes user1, user1 removes user2.
        let by_higher = base
            .propose(&name(2), GroupOp::Remove { username: name(1) }, 3)
            .unwrap();
        let mut by_lower = base
            .propose(&name(1), GroupOp::Remove { username: name(2) }, 3)
            .unwrap();
        // At equal clocks user1's goes first by name; with a later clock, second: the
        // ranking decides either way.
        if later_clock {
            by_lower.lamport = by_higher.lamport + 1;
        }
        let mut log = base.clone();
        log.apply(by_higher).unwrap();
        log.apply(by_lower).unwrap();
        let group = log.group();
        assert!(group.has(&name(2)), "the higher-ranked admin stays");
        assert!(!group.has(&name(1)), "the lower-ranked one is removed");
        assert_eq!(&folded_backwards(&log), group);
    }
}

#[test]
fn a_full_log_still_lets_every_member_leave() {
    let id = GroupId(uuid::Uuid::from_u128(7));
    let first = create(&member(0), "team", vec![member(1), member(2)], 1).unwrap();
    let mut log = Log::new(id, vec![first]).unwrap();
    let mut n = 0;
    while log.changes().len() < p2p_chat_protocol::group::MAX_GROUP_CHANGES {
        n += 1;
        let rename = GroupOp::Rename {
            name: format!("team {n}"),
        };
        let change = log.propose(&name(0), rename, 2).unwrap();
        log.apply(change).unwrap();
    }
    let more = GroupOp::Rename {
        name: "one more".into(),
    };
    assert!(matches!(
        log.propose(&name(0), more, 3),
        Err(GroupError::Full)
    ));
    // Leaving still works, once per member; the log with those leaves reads back.
    for n in [1, 2] {
        let leave = log.propose(&name(n), GroupOp::Leave, 4).unwrap();
        log.apply(leave).unwrap();
        assert!(!log.group().has(&name(n)));
        assert!(matches!(
            log.propose(&name(n), GroupOp::Leave, 5),
            Err(GroupError::NotAllowed(_))
        ));
    }
    let back = Log::new(id, log.changes().to_vec()).unwrap();
    assert_eq!(back.group(), log.group());
}
