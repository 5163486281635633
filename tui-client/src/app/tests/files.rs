//! `update` tests of file transfers in the window: offers listed and answered, transfers
//! left open by an earlier run restored, progress with rate and ETA in the chat's live line
//! and the status text, the relay's cap told to the sender.

use super::*;
use crate::app::files::{FileAction, FileEffect, FileState};
use crate::store::{Transfer, TransferState};
use crate::transfer::Report;

fn offer(n: u128, outgoing: bool, state: TransferState) -> Transfer {
    Transfer {
        id: MessageId(uuid::Uuid::from_u128(n)),
        peer: "bob".into(),
        outgoing,
        name: "notes.pdf".into(),
        size: 10 * 1024 * 1024,
        sha256: [0xab; 32],
        path: None,
        source_mtime_ms: None,
        state,
        detail: None,
        sent_at_ms: NOW,
    }
}

fn file_effects(effects: &[Effect]) -> Vec<FileEffect> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::File(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_offer_is_shown_in_its_chat_and_answered_there() {
    let mut app = app();
    connected_to_bob(&mut app);
    let t = offer(1, false, TransferState::Offered);
    app.update(Action::File(FileAction::Report(Report::Offered(t.clone()))));
    let chat = app.current_chat().unwrap();
    assert!(
        chat.lines.iter().any(|l| l
            .text
            .contains("bob offers notes.pdf (10.0 MiB, SHA-256 abab abab")),
        "{:?}",
        chat.lines
    );
    assert_eq!(
        file_effects(&type_line(&mut app, "/accept-file")),
        [FileEffect::Accept(t.id)]
    );
    // Nothing else waits: a second /decline says so.
    app.update(Action::File(FileAction::Report(Report::Started {
        transfer: t.clone(),
        from: 0,
    })));
    assert!(file_effects(&type_line(&mut app, "/decline")).is_empty());
    assert!(matches!(&app.notice, Some((Level::Error, m)) if m.contains("no file offer")));
    // The transfer in progress can be cancelled.
    assert_eq!(
        file_effects(&type_line(&mut app, "/cancel-file")),
        [FileEffect::Cancel(t.id)]
    );
}

#[test]
fn transfers_left_open_by_an_earlier_run_can_be_answered_and_cancelled() {
    let mut app = app();
    connected_to_bob(&mut app);
    let theirs = offer(1, false, TransferState::Offered);
    let ours = offer(2, true, TransferState::Accepted);
    app.update(Action::File(FileAction::Restored(vec![
        theirs.clone(),
        ours.clone(),
    ])));
    assert_eq!(app.files.len(), 2);
    assert_eq!(app.files[1].state, FileState::Paused);
    assert_eq!(
        file_effects(&type_line(&mut app, "/decline")),
        [FileEffect::Decline(theirs.id)]
    );
    // The newest transfer not over is ours, paused.
    assert_eq!(
        file_effects(&type_line(&mut app, "/cancel-file")),
        [FileEffect::Cancel(ours.id)]
    );
}

#[test]
fn progress_shows_rate_and_time_left_and_polls_while_bytes_move() {
    let mut app = app();
    connected_to_bob(&mut app);
    let t = offer(3, true, TransferState::Accepted);
    let effects = app.update(Action::File(FileAction::Report(Report::Started {
        transfer: t.clone(),
        from: 0,
    })));
    assert!(effects.iter().any(|e| matches!(e, Effect::Wake { .. })));
    assert_eq!(app.files[0].state, FileState::Moving);
    // Two samples a second apart: 1 MiB/s, 9 MiB left.
    let mut view = app.files[0].clone();
    view.sample_for_tests(NOW, 0);
    view.sample_for_tests(NOW + 1000, 1024 * 1024);
    let shown = view.progress_text();
    assert!(shown.starts_with("↑ notes.pdf 10%"), "{shown}");
    assert!(shown.contains("1.0 MiB/s"), "{shown}");
    assert!(shown.ends_with("0:09"), "{shown}");
}

fn live_lines(app: &App) -> Vec<String> {
    app.current_chat()
        .unwrap()
        .lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Transfer { .. }))
        .map(|l| l.text.clone())
        .collect()
}

#[test]
fn the_chat_holds_one_live_line_per_start_rewritten_as_bytes_move() {
    let mut app = app();
    connected_to_bob(&mut app);
    let t = offer(4, false, TransferState::Accepted);
    let started = |from| {
        Action::File(FileAction::Report(Report::Started {
            transfer: t.clone(),
            from,
        }))
    };
    app.update(started(0));
    assert_eq!(live_lines(&app), ["↓ notes.pdf from bob: 0% of 10.0 MiB"]);
    // Progress a second apart rewrites the same line with the rate and the time left.
    app.update(Action::File(FileAction::Progress(vec![(t.id, 0)])));
    fn a_second_later() -> u64 {
        NOW + 1000
    }
    app.clock = a_second_later;
    app.update(Action::File(FileAction::Progress(vec![(
        t.id,
        1024 * 1024,
    )])));
    assert_eq!(
        live_lines(&app),
        ["↓ notes.pdf from bob: 10% of 10.0 MiB, 1.0 MiB/s, 0:09 left"]
    );
    // The session breaks: the line says so and stays; the next start is a new line that
    // says where it resumed.
    app.update(Action::File(FileAction::Report(Report::Paused {
        id: t.id,
    })));
    app.update(started(2 * 1024 * 1024));
    assert_eq!(
        live_lines(&app),
        [
            "↓ notes.pdf from bob: 10% of 10.0 MiB — paused: goes on over the next session",
            "↓ notes.pdf from bob: 20% of 10.0 MiB (resumed at 2.0 MiB)",
        ]
    );
    let mut saved = t.clone();
    saved.path = Some("/downloads/notes.pdf".into());
    app.update(Action::File(FileAction::Report(Report::Finished {
        transfer: saved,
    })));
    let lines = live_lines(&app);
    assert_eq!(
        lines[1],
        "↓ notes.pdf from bob: 100% of 10.0 MiB (resumed at 2.0 MiB) — done"
    );
    let last = app.current_chat().unwrap().lines.last().unwrap();
    assert!(last.text.starts_with("saved notes.pdf"), "{last:?}");
}

#[test]
fn an_offer_over_the_relay_tells_the_sender_the_relays_cap() {
    let mut app = app();
    connected_to_bob(&mut app);
    let ours = offer(5, true, TransferState::Offered);
    app.update(Action::File(FileAction::Offered(ours.clone())));
    let last = app
        .current_chat()
        .unwrap()
        .lines
        .last()
        .unwrap()
        .text
        .clone();
    assert!(!last.contains("relay"), "a direct session: {last}");

    let Link::Connected { path, .. } = &mut app.chats[0].link else {
        panic!("not connected");
    };
    *path = crate::net::SessionPath::Relayed {
        max_bytes: Some(16 * 1024 * 1024),
    };
    let ours = offer(6, true, TransferState::Offered);
    app.update(Action::File(FileAction::Offered(ours)));
    let last = app
        .current_chat()
        .unwrap()
        .lines
        .last()
        .unwrap()
        .text
        .clone();
    assert!(
        last.contains("the directory's relay carries at most 16.0 MiB per session")
            && last.contains("goes on over a new one"),
        "{last}"
    );
}

#[test]
fn a_send_that_cannot_read_its_file_comes_back_into_the_input_to_be_corrected() {
    let mut app = app();
    connected_to_bob(&mut app);
    let effects = type_line(&mut app, "/send /tmp/nope.pdf");
    let Some(FileEffect::Offer { path, .. }) = file_effects(&effects).pop() else {
        panic!("{effects:?}")
    };
    assert_eq!(app.input.value(), "");
    app.update(Action::File(FileAction::NotOffered {
        path,
        error: "cannot read /tmp/nope.pdf: No such file or directory".into(),
    }));
    assert_eq!(app.input.value(), "/send /tmp/nope.pdf");
    assert!(app.input.at_line_end());
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.1.contains("cannot read"))
    );

    // Something typed meanwhile is never replaced.
    app.input.input = tui_input::Input::new("hello".into());
    app.update(Action::File(FileAction::NotOffered {
        path: "/tmp/nope.pdf".into(),
        error: "cannot read".into(),
    }));
    assert_eq!(app.input.value(), "hello");
}

fn dials(effects: &[Effect]) -> Vec<DialTarget> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dial { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_transfer_left_under_way_dials_its_peer_at_start_and_keeps_trying() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let effects = app.update(Action::File(FileAction::Restored(vec![offer(
        7,
        false,
        TransferState::Accepted,
    )])));
    assert_eq!(dials(&effects), [DialTarget::Username("bob".into())]);
    let chat = app.chats[0].id;
    assert!(
        app.chats[0]
            .lines
            .iter()
            .any(|l| l.text.contains("goes on once connected to bob again")),
        "{:?}",
        app.chats[0].lines
    );
    // bob cannot be reached: the chat keeps trying, past the attempts it makes for nothing.
    for attempt in 1..=MAX_RECONNECT_ATTEMPTS + 2 {
        let effects = app.update(Action::DialFailed {
            chat,
            error: "connection refused".into(),
        });
        assert!(
            effects
                .iter()
                .any(|e| matches!(e, Effect::ScheduleReconnect { .. })),
            "attempt {attempt}: {effects:?}"
        );
    }
    // bob comes online: the chat dials at once rather than at the end of its backoff.
    app.update(Action::Presence {
        username: "bob".into(),
        online: false,
    });
    let effects = app.update(Action::Presence {
        username: "bob".into(),
        online: true,
    });
    assert_eq!(dials(&effects), [DialTarget::Username("bob".into())]);
}

#[test]
fn without_a_transfer_or_message_waiting_a_failed_dial_stops() {
    let mut app = app();
    app.update(Action::ContactsLoaded(vec![record("bob", true)]));
    let done = offer(8, false, TransferState::Offered);
    let effects = app.update(Action::File(FileAction::Restored(vec![done])));
    // An offer to us waits for our answer, not for a session: nothing is dialled.
    assert!(dials(&effects).is_empty(), "{effects:?}");
}
