//! `update` tests of typing indicators: sent while writing a message at most every few
//! seconds, never for a /command or with `typing = false`; shown for a while when received.

use std::sync::atomic::{AtomicU64, Ordering};

use p2p_chat_protocol::peer::{TYPING_INTERVAL_MS, TYPING_SHOW_MS};

use super::*;

static MOVED_MS: AtomicU64 = AtomicU64::new(0);

fn moved() -> u64 {
    NOW + MOVED_MS.load(Ordering::Relaxed)
}

fn typing_sent(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::SendTyping { .. }))
        .count()
}

fn typed(app: &mut App, text: &str) -> usize {
    text.chars()
        .map(|c| {
            typing_sent(&app.update(Action::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            ))))
        })
        .sum()
}

#[test]
fn typing_goes_out_every_few_seconds_while_writing_and_is_shown_when_received() {
    let mut app = app();
    app.clock = moved;
    MOVED_MS.store(0, Ordering::Relaxed);
    connected_to_bob(&mut app);
    assert_eq!(typed(&mut app, "hello"), 1, "one for the first keys");
    MOVED_MS.store(TYPING_INTERVAL_MS - 1, Ordering::Relaxed);
    assert_eq!(
        typed(&mut app, " there"),
        0,
        "not again within the interval"
    );
    MOVED_MS.store(TYPING_INTERVAL_MS, Ordering::Relaxed);
    assert_eq!(typed(&mut app, "!"), 1);
    // Once the message is sent, the next keys announce typing again at once.
    key(&mut app, KeyCode::Enter);
    assert_eq!(typed(&mut app, "next"), 1);
    // A paste counts as typing; a /command never does.
    MOVED_MS.store(2 * TYPING_INTERVAL_MS, Ordering::Relaxed);
    assert_eq!(typing_sent(&app.update(Action::Paste("more".into()))), 1);
    ctrl(&mut app, 'u');
    MOVED_MS.store(3 * TYPING_INTERVAL_MS, Ordering::Relaxed);
    assert_eq!(typed(&mut app, "/receipts"), 0);

    // Received: shown until TYPING_SHOW_MS after the last one, gone when the message comes.
    let bob = app.current.unwrap();
    let effects = app.update(Action::Typing {
        session: SessionId(1),
    });
    assert!(effects.contains(&Effect::Wake {
        after_ms: TYPING_SHOW_MS
    }));
    let now = app.now_ms;
    assert!(app.chat(bob).unwrap().is_typing(now));
    assert!(!app.chat(bob).unwrap().is_typing(now + TYPING_SHOW_MS));
    app.update(Action::MessageReceived {
        session: SessionId(1),
        seq: 1,
        id: MessageId(uuid::Uuid::from_u128(1)),
        sent_at_ms: NOW,
        text: "done typing".into(),
    });
    assert!(!app.chat(bob).unwrap().is_typing(now));
}

#[test]
fn typing_off_in_the_config_sends_none() {
    let mut app = app();
    app.settings.typing = false;
    connected_to_bob(&mut app);
    assert_eq!(typed(&mut app, "quiet"), 0);
}
