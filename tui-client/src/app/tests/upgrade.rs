//! A session through the relay moving to a direct one: tries scheduled with backoff, the
//! direct session replacing the relayed one on both ends, never the other way round.

use super::*;
use crate::net::{Direction, SessionId, SessionPath};

/// bob's session `session` opens on `path`, dialled by us (`outgoing`) or by him.
fn opened_on(app: &mut App, session: u64, path: SessionPath, direction: Direction) -> Vec<Effect> {
    essential(app.update(Action::SessionOpened {
        session: SessionId(session),
        peer: RemotePeer {
            path,
            ..remote("bob", Some(4001))
        },
        direction,
    }))
}

/// A chat with bob whose first session (1) opened through the relay, dialled by us.
fn relayed_chat(app: &mut App) -> (ChatId, Vec<Effect>) {
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let effects = key(app, KeyCode::Enter);
    let Some(Effect::Dial { chat, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    let outgoing = Direction::Outgoing { request: chat.0 };
    let effects = opened_on(app, 1, SessionPath::Relayed { max_bytes: None }, outgoing);
    (chat, effects)
}

#[test]
fn a_relayed_session_we_opened_schedules_tries_to_go_direct() {
    let mut app = app();
    let (chat, effects) = relayed_chat(&mut app);
    assert!(
        effects.contains(&Effect::ScheduleUpgrade {
            chat,
            session: SessionId(1),
            attempt: 1
        }),
        "{effects:?}"
    );
    // When it is due: a direct-only try, and the next one scheduled.
    let due = |app: &mut App, session, attempt| {
        app.update(Action::UpgradeDue {
            chat,
            session: SessionId(session),
            attempt,
        })
    };
    let effects = due(&mut app, 1, 1);
    assert!(
        matches!(
            effects.as_slice(),
            [
                Effect::Upgrade { chat: c, target: DialTarget::Username(name), .. },
                Effect::ScheduleUpgrade { attempt: 2, .. },
            ] if *c == chat && name == "bob"
        ),
        "{effects:?}"
    );
    // A stale schedule (another session since) does nothing.
    assert!(due(&mut app, 7, 3).is_empty());
}

#[test]
fn a_direct_session_replaces_the_relayed_one_and_stops_the_tries() {
    let mut app = app();
    let (chat, _) = relayed_chat(&mut app);
    let outgoing = Direction::Outgoing { request: chat.0 };
    let effects = opened_on(&mut app, 2, SessionPath::Punched, outgoing);
    assert!(
        effects.contains(&Effect::CloseSession {
            session: SessionId(1)
        }),
        "{effects:?}"
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ScheduleUpgrade { .. }))
    );
    assert!(matches!(
        app.chat(chat).unwrap().link,
        Link::Connected {
            session: SessionId(2),
            path: SessionPath::Punched,
            ..
        }
    ));
    // The old schedule finds no relayed session any more.
    let effects = app.update(Action::UpgradeDue {
        chat,
        session: SessionId(1),
        attempt: 2,
    });
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn a_direct_session_wins_over_a_relayed_one_whoever_dialled_either() {
    // alice's relayed dial would win a tie (the smaller name dialled it); bob's direct dial
    // wins anyway, and a later relayed one never replaces a direct session.
    let mut app = app();
    let (chat, _) = relayed_chat(&mut app);
    let effects = opened_on(&mut app, 2, SessionPath::Direct, Direction::Incoming);
    assert!(
        effects.contains(&Effect::CloseSession {
            session: SessionId(1)
        }),
        "{effects:?}"
    );
    let outgoing = Direction::Outgoing { request: chat.0 };
    let effects = opened_on(
        &mut app,
        3,
        SessionPath::Relayed { max_bytes: None },
        outgoing,
    );
    assert_eq!(
        effects,
        [Effect::CloseSession {
            session: SessionId(3)
        }]
    );
    assert!(matches!(
        app.chat(chat).unwrap().link,
        Link::Connected {
            session: SessionId(2),
            ..
        }
    ));
}

#[test]
fn a_relayed_session_the_peer_opened_is_left_to_the_peer_to_upgrade() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let effects = opened_on(
        &mut app,
        1,
        SessionPath::Relayed { max_bytes: None },
        Direction::Incoming,
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::ScheduleUpgrade { .. }))
    );
}

#[test]
fn tries_back_off_from_ten_seconds_to_five_minutes() {
    use std::time::Duration;
    assert_eq!(crate::relay::upgrade_delay(1), Duration::from_secs(10));
    assert_eq!(crate::relay::upgrade_delay(2), Duration::from_secs(20));
    assert_eq!(crate::relay::upgrade_delay(6), Duration::from_secs(300));
    assert_eq!(crate::relay::upgrade_delay(1000), Duration::from_secs(300));
}

#[test]
fn new_addresses_of_the_peer_start_a_try_at_once() {
    let mut app = app();
    let (chat, _) = relayed_chat(&mut app);
    // The same record again: nothing new to try.
    let effects = app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Upgrade { .. })));
    // bob's router forwards a port now: he publishes it.
    let mut mapped = record("bob", true);
    mapped.candidates = vec!["203.0.113.2:55555".into()];
    let effects = app.update(Action::ContactsLoaded(vec![mapped]));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Upgrade { chat: c, .. } if *c == chat)),
        "{effects:?}"
    );
}

#[test]
fn a_repeat_dial_by_the_same_side_replaces_even_a_direct_session() {
    // bob's direct session went quiet (he changed networks, say) and he dials again, through
    // the relay this time: his new session replaces the old one.
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    opened_on(&mut app, 1, SessionPath::Direct, Direction::Incoming);
    let effects = opened_on(
        &mut app,
        2,
        SessionPath::Relayed { max_bytes: None },
        Direction::Incoming,
    );
    assert!(
        effects.contains(&Effect::CloseSession {
            session: SessionId(1)
        }),
        "{effects:?}"
    );
    let chat = app.chats.iter().find(|c| c.name == "bob").unwrap();
    assert!(chat.link.is_relayed(SessionId(2)));
}
