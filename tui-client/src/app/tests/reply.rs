//! `update` tests of replies: `/reply TEXT`, `/reply` then a message, Ctrl+R, the
//! highlighted message first, Esc cancels.

use super::*;

fn queued(effects: &[Effect]) -> Vec<(String, Option<MessageId>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Queue { text, reply_to, .. } => Some((text.clone(), *reply_to)),
            _ => None,
        })
        .collect()
}

fn nth(n: u128) -> MessageId {
    MessageId(uuid::Uuid::from_u128(n))
}

fn receive(app: &mut App, n: u128, text: &str) {
    app.update(Action::MessageReceived {
        session: SessionId(1),
        seq: n as i64,
        id: nth(n),
        sent_at_ms: NOW,
        text: text.into(),
    });
}

#[test]
fn a_reply_quotes_the_peers_newest_message_and_names_it() {
    let mut app = app();
    connected_to_bob(&mut app);
    assert!(queued(&type_line(&mut app, "/reply too early")).is_empty());
    assert!(matches!(&app.notice, Some((Level::Error, t)) if t.contains("nothing to reply to")));
    assert_eq!(app.input.value(), "", "a command is not kept");

    receive(&mut app, 1, "lunch at noon?");
    let second = "or at one, at the place with the very long name on the corner of the square";
    receive(&mut app, 2, second);
    let effects = type_line(&mut app, "/reply one it is");
    // Cut to QUOTE_MAX_CHARS.
    let long: String = second
        .chars()
        .take(crate::app::reply::QUOTE_MAX_CHARS)
        .collect();
    assert_eq!(
        queued(&effects),
        [(format!("> bob: {long}…\none it is"), Some(nth(2)))]
    );
    // /reply alone waits for the answer; Esc cancels it.
    type_line(&mut app, "/reply");
    assert!(app.replying.is_some());
    key(&mut app, KeyCode::Esc);
    assert!(app.replying.is_none());
    app.focus = Focus::Input;
    assert_eq!(
        queued(&type_line(&mut app, "plain")),
        [("plain".to_owned(), None)]
    );
    // Ctrl+R, then the answer.
    ctrl(&mut app, 'r');
    let effects = type_line(&mut app, "sure");
    assert_eq!(
        queued(&effects),
        [(format!("> bob: {long}…\nsure"), Some(nth(2)))]
    );
}

#[test]
fn the_highlighted_message_is_answered_first_and_quotes_skip_quotes() {
    let mut app = app();
    let bob = connected_to_bob(&mut app);
    receive(&mut app, 1, "first question");
    receive(&mut app, 2, "> alice: earlier\nsecond answer");
    app.chats
        .iter_mut()
        .find(|c| c.id == bob)
        .unwrap()
        .highlight = Some(nth(1));
    let effects = type_line(&mut app, "/reply about that");
    assert_eq!(
        queued(&effects),
        [("> bob: first question\nabout that".to_owned(), Some(nth(1)))]
    );
    app.chats
        .iter_mut()
        .find(|c| c.id == bob)
        .unwrap()
        .highlight = None;
    let effects = type_line(&mut app, "/reply ok");
    assert_eq!(
        queued(&effects),
        [("> bob: second answer\nok".to_owned(), Some(nth(2)))],
        "a quote of a reply quotes its answer"
    );
}
