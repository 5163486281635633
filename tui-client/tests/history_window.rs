//! A conversation of 100,000 messages: it opens on its newest page, scrolls to its very first
//! message and back, and the chat never holds more than a bounded number of lines.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use p2p_chat::app::{Action, App, Effect, MAX_LOADED_LINES, Me};
use p2p_chat::store::{Conversation, LocalStore, PAGE_SIZE};
use p2p_chat_protocol::MessageId;

const MESSAGES: u32 = 100_000;

fn clock() -> u64 {
    1_700_000_000_000
}

/// Carries out the effects that touch the store, as the runner would, until none are left.
async fn settle(app: &mut App, store: &LocalStore, mut effects: Vec<Effect>) {
    while !effects.is_empty() {
        let mut next = Vec::new();
        for effect in effects {
            if let Effect::LoadHistory {
                chat,
                peer,
                request,
            } = effect
            {
                let page = store.read_page(&peer, request, PAGE_SIZE).await.unwrap();
                next.extend(app.update(Action::HistoryLoaded {
                    chat,
                    request,
                    page,
                }));
            }
        }
        effects = next;
    }
}

fn text_of(n: u32) -> String {
    format!("message {n:06}")
}

#[tokio::test]
async fn a_huge_conversation_scrolls_end_to_end_in_bounded_memory() {
    let store = LocalStore::in_memory().await.unwrap();
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|n| (MessageId::new(), u64::from(*n), text_of(*n)))
            .collect();
        store.import_incoming("bob", &batch).await.unwrap();
    }
    let me = Me {
        name: "alice".into(),
        listen: "x".into(),
        directory: None,
        key: [1; 32],
    };
    let mut app = App::new(me, clock);
    let conversations = store.conversations().await.unwrap();
    assert_eq!(
        conversations,
        vec![Conversation {
            peer: "bob".into(),
            unread: u64::from(MESSAGES)
        }]
    );
    let effects = app.update(Action::StoreLoaded {
        conversations,
        outbox: Vec::new(),
        pins: Default::default(),
        contacts: Vec::new(),
    });
    settle(&mut app, &store, effects).await;
    let chat = |app: &App| app.current_chat().unwrap().clone();
    assert_eq!(
        chat(&app).lines.len(),
        PAGE_SIZE as usize,
        "opens with one page"
    );
    assert_eq!(chat(&app).lines.last().unwrap().text, text_of(MESSAGES - 1));

    let page_up = KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE);
    let mut most = 0;
    let mut presses = 0;
    while !(chat(&app).history.complete && chat(&app).scroll + 1 == chat(&app).lines.len()) {
        let effects = app.update(Action::Key(page_up));
        settle(&mut app, &store, effects).await;
        most = most.max(chat(&app).lines.len());
        presses += 1;
        assert!(presses < 20 * MESSAGES, "never reached the first message");
    }
    assert_eq!(chat(&app).lines.first().unwrap().text, text_of(0));
    assert!(
        most <= MAX_LOADED_LINES + PAGE_SIZE as usize,
        "{most} lines held at once"
    );

    let page_down = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
    while chat(&app).scroll > 0 || chat(&app).history.newer_dropped {
        let effects = app.update(Action::Key(page_down));
        settle(&mut app, &store, effects).await;
        most = most.max(chat(&app).lines.len());
    }
    assert_eq!(chat(&app).lines.last().unwrap().text, text_of(MESSAGES - 1));
    assert!(
        most <= MAX_LOADED_LINES + PAGE_SIZE as usize,
        "{most} lines held at once"
    );
    // The lines held at the end are in order: scrolling back down left no gap or repeat.
    let lines = chat(&app).lines;
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert!(
        texts.windows(2).all(|w| w[0] < w[1]),
        "out of order after scrolling back"
    );
}
